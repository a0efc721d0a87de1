"""Apply one trainer event to its training_runs row (and run_epochs), inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.runs.advice import failure_code
from bot.runs.stored import RunMetrics
from bot.storage import RunEpoch, RunStatus, TrainingRun
from bot.storage.models import utcnow
from training.events import (
    DoneEvent,
    EpochEvent,
    ErrorEvent,
    Event,
    PreparingEvent,
    ProgressEvent,
    StartEvent,
    StoppedEvent,
    WarningEvent,
)

_NOT_METRICS = {"type", "time"}


def record_event(session: Session, row: TrainingRun, event: Event) -> None:
    row.last_event_at = utcnow()
    row.stalled = False
    metrics: dict[str, Any] = dict(row.metrics or {})  # a new dict, so SQLAlchemy sees the JSON change
    total = max(row.total_epochs, 1)
    match event:
        case PreparingEvent():  # before `start`: looking for weights, decoding images, the cache
            metrics["preparing"] = event.model_dump(include={"phase", "done", "total", "message"})
        case StartEvent():
            metrics.pop("preparing", None)  # the preparing phase is over
            metrics.update(
                event.model_dump(include={"device", "gpu_name", "classes", "counts", "num_params", "data"})
            )
            row.current_epoch = event.resumed_from_epoch
            row.progress = event.resumed_from_epoch / total
        case ProgressEvent():
            row.progress = min(1.0, (event.epoch - 1 + event.step / max(event.steps_per_epoch, 1)) / total)
            metrics.update(images_per_sec=event.images_per_sec, running_loss=event.loss)
        case EpochEvent():
            epoch_metrics = event.model_dump(exclude=_NOT_METRICS | {"epoch", "epochs"})
            row.current_epoch = event.epoch
            row.total_epochs = event.epochs
            row.progress = event.epoch / max(event.epochs, 1)
            metrics.update(epoch_metrics)
            if event.val_map50 is not None:  # the best mAP@.50 so far, shown beside the epoch's
                best = RunMetrics.of(metrics).summary.best_val_map50
                metrics["best_val_map50"] = max(event.val_map50, best or 0.0)
            _upsert_epoch(session, row.id, event.epoch, epoch_metrics)
        case WarningEvent():
            metrics["warnings"] = [
                warning.model_dump(include={"code", "message"})
                for warning in [*RunMetrics.of(metrics).warnings, event]
            ]
        case DoneEvent():
            metrics.update(event.model_dump(exclude=_NOT_METRICS | {"epochs_completed"}), eta_seconds=0.0)
            row.current_epoch = event.epochs_completed
            row.progress = 1.0
            _finish(row, RunStatus.COMPLETED)
        case StoppedEvent():
            metrics["checkpoint"] = event.checkpoint
            row.current_epoch = event.epoch
            _finish(row, RunStatus.STOPPED)
        case ErrorEvent():
            if _finish(row, RunStatus.FAILED):
                row.error_message = failure_code(event.kind, event.message)  # a code, worded by front ends
                row.error_detail = event.detail or event.message
    row.metrics = metrics


def _finish(row: TrainingRun, status: RunStatus) -> bool:
    """Move a running row to its final status; False if something else already finished it."""
    if row.status != RunStatus.RUNNING:
        return False
    row.status = status
    row.completed_at = utcnow()
    return True


def _upsert_epoch(session: Session, run_id: int, epoch: int, metrics: dict[str, Any]) -> None:
    existing = session.scalar(select(RunEpoch).where(RunEpoch.run_id == run_id, RunEpoch.epoch == epoch))
    if existing is None:
        session.add(RunEpoch(run_id=run_id, epoch=epoch, metrics=metrics))
    else:
        existing.metrics = metrics
