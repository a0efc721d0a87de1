"""What the sweep controller hands out: read-only snapshots of a sweep and its trials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.runs.views import RunView
from bot.storage import RunStatus, SweepStatus
from bot.sweeps.spec import SweepSpec, maximised


@dataclass(frozen=True)
class TrialView:
    number: int
    params: dict[str, Any]
    run: RunView | None
    pruned: bool
    value: float | None  # the objective: the run's result, or its last epoch's while it trains
    told: bool = False  # its end was recorded (and given to the study): it is over for the sweep

    @property
    def stopped(self) -> bool:
        """Stopped or cancelled by the sweep's Stop: the sweep's Resume takes it up again."""
        run = self.run
        return run is not None and run.status == RunStatus.STOPPED and not self.pruned and not self.told


@dataclass(frozen=True)
class SweepView:
    id: int
    status: SweepStatus
    spec: SweepSpec
    objective: str
    trials_budget: int
    parallel: int
    requested_by: str | None
    slack_channel: str | None
    slack_thread_ts: str | None
    slack_ts: str | None
    trials: list[TrialView]
    best_run_id: int | None
    chart: str | None = None  # the finished sweep's chart (bot/sweeps/chart.py), once drawn
    show_trials: bool = False  # each trial's own progress message in the thread (asked for)

    @property
    def training(self) -> bool:
        """A trial's run is still queued or running (also while a stopped sweep's trials stop)."""
        return any(trial.run is not None and not trial.run.status.is_terminal for trial in self.trials)

    @property
    def resumable(self) -> list[TrialView]:
        """The trials a Stop ended (stopped or cancelled, neither pruned nor told to the study yet)."""
        return [trial for trial in self.trials if trial.stopped]

    @property
    def best(self) -> TrialView | None:
        scored = [trial for trial in self.trials if trial.value is not None and not trial.pruned]
        finished = [t for t in scored if t.run is not None and t.run.status == RunStatus.COMPLETED]
        pick = max if maximised(self.objective) else min  # a loss is best when lowest
        return pick(finished or scored, key=lambda trial: trial.value or 0.0, default=None)


def objective_value(run: RunView, objective: str) -> float | None:
    """A trial's figure: the run's best of the objective when it tracks one (accuracy, mAP), else its
    latest epoch's (a loss)."""
    figures = run.figures
    for value in (
        getattr(figures.summary, f"best_{objective}", None),
        getattr(figures.latest, objective, None),
        getattr(figures.summary.final, objective, None),
    ):
        if value is not None:
            return float(value)
    return None
