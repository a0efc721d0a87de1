"""What the run manager hands out: request, read-only snapshots of runs, and updates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from bot.runs.advice import last_line
from bot.runs.stored import RunMetrics, stored_config
from bot.storage import RunStatus, TrainingRun
from training.config import TrainingConfig
from training.contract import CHECKPOINT_LAST_FILE
from training.events import Event, RunSummary

CONTINUABLE_STATUSES = (RunStatus.COMPLETED, RunStatus.STOPPED)


@dataclass
class StartRequest:
    config: TrainingConfig
    requested_by: str
    start_key: str
    session_id: int | None = None
    slack_channel: str | None = None
    slack_thread_ts: str | None = None
    continues_run_id: int | None = None  # a finished run whose last checkpoint this run starts from
    sweep_id: int | None = None  # the sweep this run is a trial of


@dataclass(frozen=True)
class RunView:
    id: int
    status: RunStatus
    config: TrainingConfig  # read with stored_config: an old row that no longer validates still reads
    progress: float
    current_epoch: int
    total_epochs: int
    metrics: dict[str, Any]  # as stored (bot/runs/record.py); read typed through `figures`
    error_message: str | None  # the failure's reason code (bot/runs/advice.py), not words
    output_dir: str | None
    queue_position: int | None
    requested_by: str | None
    slack_channel: str | None
    slack_thread_ts: str | None
    slack_ts: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    scheduled_for: datetime | None
    checkpoint_path: str | None
    stalled: bool = False
    session_id: int | None = None  # the conversation it was started from: its language words the messages
    error_line: str | None = None  # the trainer's own last error line (its words, English)
    job_id: str | None = None  # the scheduler's job id (Slurm backend)
    pending_reason: str | None = (
        None  # while queued by the scheduler: its reason code (Slurm: Resources, ...)
    )
    continues_run_id: int | None = None  # the run whose last checkpoint it started from
    sweep_id: int | None = None  # the sweep it is a trial of

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def task(self) -> str:
        """classification or detection (training/contract.py TASKS)."""
        return self.config.task

    @property
    def detects(self) -> bool:
        return self.task == "detection"

    @property
    def score_threshold(self) -> float:
        """A detection run's score threshold for predictions."""
        return self.config.score_threshold

    @cached_property
    def figures(self) -> RunMetrics:
        """The run's metrics, typed: the latest epoch, the results and bests, the live figures, files."""
        return RunMetrics.of(self.metrics)

    @property
    def summary(self) -> RunSummary:
        """The results the done event left in the run's metrics, with the bests tracked until then."""
        return self.figures.summary

    @property
    def is_scheduled(self) -> bool:
        return self.status == RunStatus.PENDING and self.scheduled_for is not None


@dataclass
class RunUpdate:
    run: RunView
    event: Event | None = None  # None for status-only changes (queued, started, failed by the watchdog)


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def continuable_checkpoint(run: RunView) -> Path | None:
    """The last checkpoint a finished or stopped run can be continued from (more epochs, a new run)."""
    if run.status not in CONTINUABLE_STATUSES or not run.output_dir:
        return None
    path = Path(run.output_dir) / CHECKPOINT_LAST_FILE
    return path if path.is_file() else None


def resumable_checkpoint(row: TrainingRun) -> str | None:
    """The checkpoint a stopped, interrupted or failed run can continue from, if the trainer left one."""
    if row.status not in (RunStatus.STOPPED, RunStatus.INTERRUPTED, RunStatus.FAILED) or not row.output_dir:
        return None
    path = Path(row.output_dir) / CHECKPOINT_LAST_FILE
    return str(path) if path.is_file() else None


def view_of(row: TrainingRun, queue_position: int | None = None) -> RunView:
    """`queue_position` is the run's place in the bot's own queue; a run the scheduler holds in its
    queue has the scheduler's position instead."""
    if row.job_id is not None:
        queue_position = row.backend_position
    return RunView(
        id=row.id,
        status=RunStatus(row.status),
        config=stored_config(row.config),
        progress=row.progress,
        current_epoch=row.current_epoch,
        total_epochs=row.total_epochs,
        metrics=dict(row.metrics or {}),
        error_message=row.error_message,
        output_dir=row.output_dir,
        queue_position=queue_position if row.status == RunStatus.QUEUED else None,
        requested_by=row.requested_by,
        slack_channel=row.slack_channel,
        slack_thread_ts=row.slack_thread_ts,
        slack_ts=row.slack_ts,
        created_at=as_utc(row.created_at) or datetime.now(UTC),
        started_at=as_utc(row.started_at),
        completed_at=as_utc(row.completed_at),
        scheduled_for=as_utc(row.scheduled_for),
        checkpoint_path=resumable_checkpoint(row),
        stalled=row.stalled,
        session_id=row.session_id,
        error_line=last_line(row.error_detail) if row.error_detail else None,
        job_id=row.job_id,
        pending_reason=row.backend_reason if row.status == RunStatus.QUEUED else None,
        continues_run_id=row.continues_run_id,
        sweep_id=row.sweep_id,
    )
