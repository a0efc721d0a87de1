"""One chart of a finished sweep: the objective of every trial (bars; pruned and failed ones hatched)
and of every epoch (one line per trial). matplotlib is imported only here, when a sweep ends."""

from __future__ import annotations

from pathlib import Path

from bot.storage import RunStatus
from bot.sweeps.views import SweepView

CHART_FILE = "sweep.png"


def draw(sweep: SweepView, epochs: dict[int, list[float]], path: Path) -> Path:
    """`epochs`: each trial's objective per epoch, by trial number. Written to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    labels = [
        ", ".join(f"{value:g}" if isinstance(value, float) else str(value) for value in t.params.values())
        for t in sweep.trials
    ]
    figure, (bars, lines) = pyplot.subplots(1, 2, figsize=(10, 4))
    best = sweep.best
    for index, trial in enumerate(sweep.trials):
        ended_early = trial.pruned or (trial.run is not None and trial.run.status != RunStatus.COMPLETED)
        bars.bar(
            index,
            trial.value or 0.0,
            color="tab:orange" if best is not None and trial.number == best.number else "tab:blue",
            hatch="//" if ended_early else None,
        )
        series = epochs.get(trial.number, [])
        lines.plot(
            range(1, len(series) + 1), series, marker="o", label=f"#{trial.number + 1} {labels[index]}"
        )
    bars.set_xticks(range(len(labels)), [f"#{i + 1}\n{label}" for i, label in enumerate(labels)], fontsize=7)
    bars.set_ylabel(sweep.objective)
    bars.set_title(f"Sweep #{sweep.id}: {sweep.objective} per trial")
    lines.set_xlabel("epoch")
    lines.set_ylabel(sweep.objective)
    lines.set_title("per epoch")
    lines.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
