"""What every task's run writes about itself, whatever its model: results.csv (one row per finished epoch),
metrics.json, curves.png and the model card (README.md). No timm here: a detection run never loads it.
A plot that fails is left out with a line on stderr: it never fails a run."""

from __future__ import annotations

import csv
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.contract import CURVES_FILE, METRICS_FILE, MODEL_CARD_FILE, MODEL_FILE, RESULTS_FILE
from training.events import EpochRecord
from training.export_report import ClassifierOnnxCheck, DetectorOnnxCheck, OnnxReport


def save_results_csv(out_dir: Path, history: Sequence[EpochRecord], columns: Sequence[str]) -> Path:
    """One row per finished epoch, rewritten after each epoch (so it is current while the run goes on);
    a figure an epoch does not have is left empty."""
    path = out_dir / RESULTS_FILE
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(record.model_dump(exclude_none=True) for record in history)
    temporary.replace(path)
    return path


def save_metrics(out_dir: Path, metrics: dict[str, Any]) -> Path:
    path = out_dir / METRICS_FILE
    path.write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return path


def pyplot() -> Any:
    """matplotlib, loaded when a run ends (it costs about half a second), never before its first step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def plotted(plot: Callable[[], Path]) -> Path | None:
    """`plot()`'s file, or None when plotting fails (a finished run stays finished)."""
    try:
        return plot()
    except Exception:  # matplotlib's limits (canvas size, memory), a full disk: the run is done anyway
        print("a plot was left out:\n" + traceback.format_exc(), file=sys.stderr, flush=True)
        pyplot().close("all")
        return None


def save_figure(plt: Any, figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


@dataclass(frozen=True)
class Panel:
    """One plot of curves.png: its title, a line per (label, EpochRecord field), the y range if fixed."""

    title: str
    lines: tuple[tuple[str, str], ...]
    ylim: tuple[float, float] | None = None


def curves_figure(history: Sequence[EpochRecord], panels: Sequence[Panel]) -> Any:
    """The panels side by side over the epochs; epochs are whole numbers, so are the ticks."""
    from matplotlib.ticker import MaxNLocator

    epochs = [record.epoch for record in history]
    plt = pyplot()
    figure, axes_row = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for axes, panel in zip(axes_row[0], panels, strict=True):
        for label, name in panel.lines:
            axes.plot(epochs, [getattr(record, name) for record in history], "o-", label=label)
        axes.set(title=panel.title, xlabel="epoch")
        if panel.ylim is not None:
            axes.set_ylim(*panel.ylim)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend()
        axes.grid(alpha=0.3)
    return figure


def plot_curves(out_dir: Path, history: Sequence[EpochRecord], panels: Sequence[Panel]) -> Path:
    return save_figure(pyplot(), curves_figure(history, panels), out_dir / CURVES_FILE)


@dataclass(frozen=True)
class ModelCard:
    """What a task says in its model card; write_model_card lays it out with what every card has."""

    title: str  # "resnet18 image classifier (3 classes)"
    command: str  # how it was trained: "python -m training"
    data: list[str]  # the lines under "Data"
    best: str  # "Best validation accuracy: 93.0%": the results' first line, before the epoch
    results: list[str]  # the task's further result lines (ONNX, test split, per class)
    files: str  # the run's files beyond results.csv and metrics.json: "curves: `curves.png`"
    python: list[str]  # the lines of the "Load and predict" Python example
    predict: str  # what the command-line example does
    predict_flags: str = ""  # after `python -m training.predict OUT IMAGE...`


def onnx_result(report: OnnxReport | None) -> list[str]:
    """The model card's line on the ONNX export when it was kept: its file, what it takes and how it agrees
    with PyTorch, in the words of the report's task."""
    if isinstance(report, ClassifierOnnxCheck) and report.status == "ok" and report.file:
        agreement = report.top1_agreement if report.top1_agreement is not None else 1.0
        inputs, agrees = (
            "dynamic batch",
            f"the top-1 class of {agreement:.1%} of {report.images} validation images; largest "
            f"logit difference {report.max_abs_logit_diff:.2g}",
        )
    elif isinstance(report, DetectorOnnxCheck) and report.status == "ok" and report.file:
        inputs, agrees = (
            report.input,
            f"{report.images} validation images: matched boxes' mean IoU {report.mean_iou:.4f}, class "
            f"agreement {report.class_agreement:.1%}, largest score difference {report.max_score_diff:.2g}",
        )
    else:
        return []
    return [
        f"- ONNX: `{Path(report.file).name}` ({inputs}; class names and preprocessing in its metadata). "
        f"onnxruntime agrees with PyTorch on {agrees}."
    ]


def write_model_card(
    out_dir: Path, config: dict[str, Any], metrics: dict[str, Any], card: ModelCard, patience_note: str
) -> Path:
    """README.md in the run folder: data, settings, results, how to load and predict. `metrics` is what
    metrics.json holds; `patience_note` says what early stopping waited for ("no improvement")."""
    lines = [
        f"# {card.title}",
        "",
        f"Trained with `{card.command}`. Everything below comes from this run.",
        "",
        "## Data",
        "",
        *card.data,
        "",
        "## Settings",
        "",
        *(f"- {key}: `{value}`" for key, value in config.items() if value is not None),
        "",
        "## Results",
        "",
        f"- {card.best} (epoch {metrics['best_epoch']} of {len(metrics['history'])}); `{MODEL_FILE}` holds "
        "that epoch's weights.",
    ]
    if metrics.get("early_stopped_at"):
        lines.append(
            f"- Stopped early after epoch {metrics['early_stopped_at']}: {patience_note} for "
            f"{config.get('early_stopping_patience')} epochs."
        )
    lines += [
        *card.results,
        f"- Per-epoch figures: `{RESULTS_FILE}`; all metrics: `{METRICS_FILE}`; {card.files}.",
        "",
        "## Load and predict",
        "",
        "```python",
        *card.python,
        "```",
        "",
        f"{card.predict}:",
        "",
        "```",
        f"python -m training.predict {out_dir.resolve()} IMAGE...{card.predict_flags}",
        "```",
        "",
    ]
    path = out_dir / MODEL_CARD_FILE
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
