"""Sweeps in words, for every front end: the proposal with its trials and estimate, the live table
(one row per trial), the result and a list line (the refusals and the objective's words are the
conversation's: bot/conversation/sweeps.py). All texts come from bot/i18n/sweeps.py."""

from __future__ import annotations

from typing import Any

from bot.conversation import messages as msg
from bot.conversation.answers import duration_text
from bot.conversation.sweeps import objective_text
from bot.i18n import t
from bot.present.runs import percent, reason, status_label
from bot.storage import RunStatus, SweepStatus
from bot.sweeps.spec import OBJECTIVES, SweepSpec, maximised
from bot.sweeps.views import SweepView, TrialView
from training.config import TrainingConfig


def values_text(language: str, params: dict[str, Any]) -> str:
    return ", ".join(
        f"{msg.label(language, name)} {msg.format_value(language, name, v)}" for name, v in params.items()
    )


def metric_text(value: float | None, objective: str | None = None) -> str:
    """A trial's figure: a percentage for accuracy and mAP, a plain number for a loss."""
    if value is None:
        return "–"
    found = OBJECTIVES.get(objective or "")
    return percent(value) if found is None or found.fraction else f"{value:.4g}"


def proposal(
    language: str,
    spec: SweepSpec,
    base: TrainingConfig,
    dataset: str,
    parallel: int,
    total_seconds: float | None,
    *,
    buttons: bool,
) -> str:
    """The proposal: what varies, every grid trial, the objective and the total time estimate; `dataset`
    as the person named it."""
    fields = ", ".join(msg.label(language, name) for name in spec.grid)
    if spec.kind == "search":
        fields = ", ".join(
            t(
                language,
                "sweep_range",
                field=msg.label(language, name),
                low=f"{span.low:g}",
                high=f"{span.high:g}",
            )
            for name, span in spec.ranges.items()
        )
    head = "sweep_search_head" if spec.kind == "search" else "sweep_grid_head"
    lines = [
        t(
            language,
            head,
            count=spec.trial_count(),
            model=base.model,
            dataset=dataset,
            fields=fields,
        )
    ]
    for number, params in enumerate(spec.grid_points() if spec.kind == "grid" else []):
        lines.append(t(language, "sweep_trial_line", number=number + 1, values=values_text(language, params)))
    objective = spec.objective or ""
    line = "sweep_objective" if maximised(objective) else "sweep_objective_min"
    lines.append(t(language, line, objective=objective_text(language, objective), parallel=parallel))
    if total_seconds is None:
        lines.append(t(language, "sweep_no_estimate"))
    else:
        lines.append(t(language, "sweep_estimate", time=duration_text(language, total_seconds)))
    lines.append(t(language, "sweep_start_hint" if buttons else "sweep_start_hint_typed"))
    return "\n".join(lines)


def _row_status(language: str, trial: TrialView) -> str:
    if trial.pruned:
        return t(language, "sweep_row_pruned")
    if trial.run is None:
        return status_label(language, RunStatus.QUEUED)
    if trial.run.status == RunStatus.FAILED:
        # one row, also when the advice carries the trainer's own line below it
        advice = " ".join((reason(trial.run, language) or "").split())
        return t(language, "sweep_row_failed", reason=advice)
    return status_label(language, trial.run.status)


def table(language: str, sweep: SweepView) -> str:
    """The live table: a head line and one row per trial, the best so far marked."""
    best = sweep.best
    done = sum(1 for trial in sweep.trials if trial.run is not None and trial.run.status.is_terminal)
    lines = [
        t(
            language,
            "sweep_table_head",
            id=sweep.id,
            status=t(language, f"sweep_status_{sweep.status.value}"),
            done=done,
            count=sweep.trials_budget,
            objective=objective_text(language, sweep.objective),
        )
    ]
    for trial in sweep.trials:
        run = trial.run
        lines.append(
            t(
                language,
                "sweep_row",
                best="🏆 " if best is not None and trial.number == best.number else "",
                number=trial.number + 1,
                values=values_text(language, trial.params),
                status=_row_status(language, trial),
                epoch=run.current_epoch if run else 0,
                epochs=run.total_epochs if run else 0,
                metric=metric_text(trial.value, sweep.objective),
            )
        )
    return "\n".join(lines)


def result(language: str, sweep: SweepView) -> str:
    """The ended sweep's best trial; a stopped sweep's best so far."""
    stopped = sweep.status == SweepStatus.STOPPED
    best = sweep.best
    if best is None or best.run is None:
        return t(language, "sweep_stopped_none" if stopped else "sweep_done_none", id=sweep.id)
    return t(
        language,
        "sweep_stopped_best" if stopped else "sweep_done",
        id=sweep.id,
        number=best.number + 1,
        values=values_text(language, best.params),
        run_id=best.run.id,
        objective=objective_text(language, sweep.objective),
        value=metric_text(best.value, sweep.objective),
    )


def list_line(language: str, sweep: SweepView) -> str:
    best = sweep.best
    shown = metric_text(best.value if best else None, sweep.objective)
    return t(
        language,
        "sweep_list_line",
        id=sweep.id,
        status=t(language, f"sweep_status_{sweep.status.value}"),
        count=sweep.trials_budget,
        best=shown + (f" (#{best.run.id})" if best and best.run else ""),
    )


def list_lines(language: str, sweeps: list[SweepView]) -> list[str]:
    """The sweeps of a list (`/train list`, App Home, the console): a title, then one line each."""
    if not sweeps:
        return []
    return [t(language, "sweep_list_title"), *(f"• {list_line(language, sweep)}" for sweep in sweeps)]


def is_finished(sweep: SweepView) -> bool:
    return sweep.status in (SweepStatus.COMPLETED, SweepStatus.STOPPED)
