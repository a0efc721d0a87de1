"""Every database query of the run manager. Each method is one short transaction: nothing slow (a
process start, a file copy, a scheduler call) runs inside one."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import case, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.runs.errors import RunNotFound
from bot.runs.launcher import JobState
from bot.runs.record import record_event
from bot.runs.stored import stored_config
from bot.runs.views import RunView, StartRequest, as_utc, view_of
from bot.storage import Database, RunStatus, Sweep, TrainingRun
from bot.storage.models import utcnow
from training.config import TrainingConfig
from training.contract import CHECKPOINT_LAST_FILE
from training.events import Event

ACTIVE_STATUSES = (RunStatus.RUNNING, RunStatus.QUEUED, RunStatus.PENDING)
CLAIM_LOCK = 0x7472_6963  # pg_advisory_xact_lock key held while queued runs are claimed
# rows whose trainer was handed to a backend: running, or waiting in the scheduler's own queue
HANDED_OFF = (TrainingRun.status == RunStatus.RUNNING) | (
    (TrainingRun.status == RunStatus.QUEUED) & TrainingRun.job_id.is_not(None)
)


@dataclass(frozen=True)
class Claim:
    """A queued run moved to `running` and given a GPU; the manager starts its trainer next."""

    run_id: int
    config: dict[str, Any]
    output_dir: Path
    gpu: str | None
    resume: bool
    init_from: Path | None = None  # the continued run's last checkpoint (--init-from)


@dataclass(frozen=True)
class Attached:
    """What following a handed-off trainer needs after the follower that watched it is gone."""

    run_id: int
    pid: int | None
    job_id: str | None
    output_dir: Path
    events_offset: int


class RunStore:
    def __init__(self, db: Database, output_root: Path) -> None:
        self._db = db
        self._output_root = output_root

    def create_schema(self) -> None:
        self._db.create_all()

    def out_dir(self, run_id: int) -> Path:
        return (self._output_root / f"run-{run_id:04d}").resolve()

    # reading

    def view(self, run_id: int) -> RunView:
        with self._db.session() as session:
            row = _row(session, run_id)
            position = _queue_positions(session).get(row.id) if row.status == RunStatus.QUEUED else None
            return view_of(row, position)

    def active(self) -> list[RunView]:
        """Running, queued and scheduled runs, oldest first."""
        return self._views(
            select(TrainingRun).where(TrainingRun.status.in_(ACTIVE_STATUSES)).order_by(TrainingRun.id)
        )

    def recent(self, limit: int) -> list[RunView]:
        return self._views(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit))

    def in_thread(self, channel: str, thread_ts: str) -> list[RunView]:
        """The runs started from one Slack thread, newest first; the trials a finished sweep's winner beat
        come last, so the winner is the thread's run (predict, export, "N more epochs")."""
        beaten = case((Sweep.best_run_id.is_not(None) & (Sweep.best_run_id != TrainingRun.id), 1), else_=0)
        return self._views(
            select(TrainingRun)
            .outerjoin(Sweep, Sweep.id == TrainingRun.sweep_id)
            .where(TrainingRun.slack_channel == channel, TrainingRun.slack_thread_ts == thread_ts)
            .order_by(beaten, TrainingRun.id.desc())
        )

    def busy_gpus(self, holding: Collection[int] = ()) -> set[str]:
        """The GPUs running trainers hold (a run on several holds each of them), and those of the runs in
        `holding` (their trainer has not exited yet, even after its final event)."""
        with self._db.session() as session:
            query = select(TrainingRun.gpu).where(
                (TrainingRun.status == RunStatus.RUNNING) | TrainingRun.id.in_(list(holding))
            )
            return {index for given in session.scalars(query) if given for index in given.split(",")}

    def handed_off(self) -> list[Attached]:
        """Runs handed to the backend: running, or waiting in the scheduler's own queue."""
        with self._db.session() as session:
            rows = session.scalars(select(TrainingRun).where(HANDED_OFF)).all()
            return [self._attached(row) for row in rows]

    def scheduled(self) -> list[tuple[int, datetime]]:
        """Scheduled runs and their start times."""
        with self._db.session() as session:
            rows = session.execute(
                select(TrainingRun.id, TrainingRun.scheduled_for).where(
                    TrainingRun.status == RunStatus.PENDING, TrainingRun.scheduled_for.is_not(None)
                )
            ).all()
        return [(run_id, at) for run_id, at in ((r.id, as_utc(r.scheduled_for)) for r in rows) if at]

    def active_resume_of(self, run_id: int) -> RunView | None:
        with self._db.session() as session:
            row = session.scalar(
                select(TrainingRun).where(
                    TrainingRun.resume_of == run_id, TrainingRun.status.in_(ACTIVE_STATUSES)
                )
            )
            return None if row is None else view_of(row)

    # creating

    def create(
        self, request: StartRequest, status: RunStatus, scheduled_for: datetime | None
    ) -> tuple[int, bool]:
        """(run id, created?): an existing run with the same start_key is returned instead."""
        existing = self._run_id_for_key(request.start_key)
        if existing is not None:
            return existing, False
        try:
            with self._db.session() as session:
                row = TrainingRun(
                    session_id=request.session_id,
                    status=status,
                    config=request.config.model_dump(mode="json"),
                    total_epochs=request.config.epochs,
                    start_key=request.start_key,
                    scheduled_for=scheduled_for,
                    requested_by=request.requested_by,
                    slack_channel=request.slack_channel,
                    slack_thread_ts=request.slack_thread_ts,
                    continues_run_id=request.continues_run_id,
                    sweep_id=request.sweep_id,
                )
                session.add(row)
                session.flush()
                row.output_dir = str(self.out_dir(row.id))
                return row.id, True
        except IntegrityError:
            # another bot process inserted the same start_key first
            existing = self._run_id_for_key(request.start_key)
            if existing is None:
                raise
            return existing, False

    def create_resume(self, source: RunView, user_id: str) -> int:
        """A pending run continuing `source`; it joins the queue once its checkpoint is in place."""
        with self._db.session() as session:
            row = TrainingRun(
                config=source.config.model_dump(mode="json", exclude_unset=True),
                total_epochs=source.total_epochs,
                current_epoch=source.current_epoch,
                status=RunStatus.PENDING,
                resume_of=source.id,
                session_id=source.session_id,  # the conversation (and its language) it came from
                requested_by=user_id,
                slack_channel=source.slack_channel,
                slack_thread_ts=source.slack_thread_ts,
                sweep_id=source.sweep_id,  # a resumed trial is still its sweep's
            )
            session.add(row)
            session.flush()
            row.output_dir = str(self.out_dir(row.id))
            return row.id

    def delete(self, run_id: int) -> None:
        with self._db.session() as session:
            session.delete(_row(session, run_id))

    # changing state

    def set_status(self, run_id: int, status: RunStatus) -> None:
        with self._db.session() as session:
            row = _row(session, run_id, lock=True)
            row.status = status
            if status.is_terminal:
                row.completed_at = utcnow()

    def queue_if_pending(self, run_id: int) -> bool:
        """A pending (scheduled or resuming) run joins the queue; False if it was cancelled or handled."""
        with self._db.session() as session:
            row = session.get(TrainingRun, run_id, with_for_update=True)
            if row is None or row.status != RunStatus.PENDING:
                return False
            row.status = RunStatus.QUEUED
            return True

    def pending_resumes(self) -> list[tuple[int, Path]]:
        """Resumed runs not yet queued (their checkpoint was being copied when the bot stopped), with the
        checkpoint each continues from."""
        with self._db.session() as session:
            rows = session.scalars(
                select(TrainingRun).where(
                    TrainingRun.status == RunStatus.PENDING,
                    TrainingRun.scheduled_for.is_(None),
                    TrainingRun.resume_of.is_not(None),
                )
            ).all()
            sources = {row.id: session.get(TrainingRun, row.resume_of) for row in rows}
            return [
                (run_id, Path(source.output_dir or self.out_dir(source.id)) / CHECKPOINT_LAST_FILE)
                for run_id, source in sources.items()
                if source is not None
            ]

    def queue_unscheduled_pending(self) -> None:
        """Pending runs without a start time were being created when the bot stopped: queue them."""
        with self._db.session() as session:
            rows = session.scalars(
                select(TrainingRun).where(
                    TrainingRun.status == RunStatus.PENDING, TrainingRun.scheduled_for.is_(None)
                )
            ).all()
            for row in rows:
                row.status = RunStatus.QUEUED

    def request_stop(self, run_id: int) -> None:
        """Remember that a stop was sent to a running run, until its trainer is gone."""
        with self._db.session() as session:
            row = _row(session, run_id, lock=True)
            if row.stop_requested_at is None:
                row.stop_requested_at = utcnow()

    def stop_requested(self, run_id: int) -> bool:
        with self._db.session() as session:
            return (
                session.scalar(select(TrainingRun.stop_requested_at).where(TrainingRun.id == run_id))
                is not None
            )

    def set_progress_message(self, run_id: int, channel: str, ts: str) -> None:
        with self._db.session() as session:
            row = _row(session, run_id, lock=True)
            row.slack_channel = channel
            row.slack_ts = ts

    def claim_queued(
        self,
        slots: int | None,
        holding: Collection[int],
        pick_gpu: Callable[[list[str | None], int], str | None],
        weight: Callable[[TrainingConfig], int] = lambda config: 1,
    ) -> list[Claim]:
        """Move queued runs, oldest first, to `running` while the slots they hold stay within `slots`
        (None: no limit). A run holds `weight(config)` slots (a run on N GPUs may hold N) from its claim
        until its process exits, even after its final event: handed-off rows and the runs in `holding`.
        The oldest run that does not fit waits, and the runs behind it wait with it (none overtakes)."""
        claims: list[Claim] = []
        with self._db.session() as session:
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                # two bot processes on one database claim one after the other, so neither overfills
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK})
            held = session.execute(
                select(TrainingRun.gpu, TrainingRun.config).where(
                    HANDED_OFF | TrainingRun.id.in_(list(holding))
                )
            ).all()
            in_use: list[str | None] = [gpu for gpu, _ in held]
            used = sum(weight(stored_config(config)) for _, config in held)
            for run_id in _queue_order(session):
                row = _row(session, run_id)
                config = stored_config(row.config)
                needs = weight(config)
                if not _fits(used, needs, slots):
                    break
                # compare and set: a run another process claimed since the read above is left to it
                taken = session.execute(
                    update(TrainingRun)
                    .where(TrainingRun.id == run_id, TrainingRun.status == RunStatus.QUEUED)
                    .values(status=RunStatus.RUNNING)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                session.refresh(row)
                used += needs
                gpu = pick_gpu(in_use, config.gpus)
                in_use.append(gpu)
                row.started_at = utcnow()
                row.gpu = gpu
                row.pid = None
                row.job_id = None
                row.events_offset = 0
                row.stalled = False
                output_dir = Path(row.output_dir or self.out_dir(run_id))
                row.output_dir = str(output_dir)
                resume = row.resume_of is not None
                init_from = None if resume else _continued_checkpoint(session, row.continues_run_id)
                claims.append(Claim(run_id, dict(row.config), output_dir, gpu, resume, init_from))
        return claims

    def record_launched(self, run_id: int, pid: int | None, job_id: str | None, state: JobState) -> None:
        with self._db.session() as session:
            row = _row(session, run_id, lock=True)
            row.pid = pid
            row.job_id = job_id
            _apply_job_state(row, state)

    def record_job_state(self, run_id: int, state: JobState) -> bool:
        """Keep what the backend says of a live job (waiting with a reason and position, or started);
        True when that changed what the run shows."""
        with self._db.session() as session:
            return _apply_job_state(_row(session, run_id, lock=True), state)

    def record_launch_failed(self, run_id: int, detail: str, message: str) -> None:
        with self._db.session() as session:
            row = _row(session, run_id, lock=True)
            row.status = RunStatus.FAILED
            row.completed_at = utcnow()
            row.error_detail = detail
            row.error_message = message

    def apply_event(self, run_id: int, event: Event | None, offset: int) -> RunView | None:
        """Store the events.jsonl offset reached and apply `event` (None: a line that was skipped)."""
        with self._db.session() as session:
            row = _row(session, run_id, lock=True)
            row.events_offset = offset
            if event is None:
                return None
            _apply_job_state(row, JobState(alive=True))  # an event proves the trainer runs
            record_event(session, row, event)
            return view_of(row)

    def finish_running(
        self,
        run_id: int,
        status: RunStatus,
        *,
        error_message: str | None = None,
        error_detail: str | None = None,
    ) -> bool:
        """End a handed-off run (its trainer is gone without a final event)."""
        with self._db.session() as session:
            row = _row(session, run_id, lock=True)
            if not _is_handed_off(row):
                return False
            row.status = status
            row.completed_at = utcnow()
            if error_message is not None:
                row.error_message = error_message
            if error_detail is not None:
                row.error_detail = error_detail
            return True

    def flag_stalled(self, run_ids: Collection[int], stall_seconds: float) -> list[int]:
        """Flag the running runs among `run_ids` that sent no event for stall_seconds; the newly flagged."""
        now = datetime.now(UTC)
        flagged: list[int] = []
        with self._db.session() as session:
            rows = session.scalars(
                select(TrainingRun).where(
                    TrainingRun.status == RunStatus.RUNNING, TrainingRun.id.in_(list(run_ids))
                )
            ).all()
            for row in rows:
                last = as_utc(row.last_event_at or row.started_at) or now
                if not row.stalled and (now - last).total_seconds() > stall_seconds:
                    row.stalled = True
                    flagged.append(row.id)
        return flagged

    # internals

    def _views(self, query: Any) -> list[RunView]:
        with self._db.session() as session:
            rows = session.scalars(query).all()
            positions = _queue_positions(session)
            return [view_of(row, positions.get(row.id)) for row in rows]

    def _run_id_for_key(self, start_key: str) -> int | None:
        with self._db.session() as session:
            return session.scalar(select(TrainingRun.id).where(TrainingRun.start_key == start_key))

    def _attached(self, row: TrainingRun) -> Attached:
        return Attached(
            row.id, row.pid, row.job_id, Path(row.output_dir or self.out_dir(row.id)), row.events_offset
        )


def _row(session: Session, run_id: int, *, lock: bool = False) -> TrainingRun:
    """The run's row; `lock` holds it (SELECT ... FOR UPDATE on PostgreSQL) until the transaction ends, so
    another bot process on the same database changing the same run waits for this change."""
    row = session.get(TrainingRun, run_id, with_for_update=lock)
    if row is None:
        raise RunNotFound("not_found", run_id=run_id)
    return row


def _is_handed_off(row: TrainingRun) -> bool:
    return row.status == RunStatus.RUNNING or (row.status == RunStatus.QUEUED and row.job_id is not None)


def _apply_job_state(row: TrainingRun, state: JobState) -> bool:
    """A handed-off run is `queued` while the backend holds its job in the backend's queue, else
    `running`; True when the row changed."""
    if not _is_handed_off(row) or not state.alive:
        return False
    before = (row.status, row.backend_reason, row.backend_position)
    if state.pending:
        row.status = RunStatus.QUEUED
        row.backend_reason, row.backend_position = state.pending_reason, state.queue_position
    else:
        if row.status == RunStatus.QUEUED:
            row.started_at = utcnow()  # started by the backend now, not when it was handed over
        row.status = RunStatus.RUNNING
        row.backend_reason = row.backend_position = None
    return (row.status, row.backend_reason, row.backend_position) != before


def _fits(used: int, needs: int, slots: int | None) -> bool:
    """A run needing `needs` slots can start beside runs holding `used`. One needing more than there are
    starts alone (its trainer then says what it lacks) rather than wait forever."""
    return slots is None or used + needs <= slots or (used == 0 and slots > 0)


def _queue_order(session: Session) -> list[int]:
    """Run ids in the bot's own queue, first in first out: a scheduled run joins the queue at its
    scheduled time. Runs waiting in a scheduler's queue are not in it."""
    rows = session.execute(
        select(TrainingRun.id, TrainingRun.created_at, TrainingRun.scheduled_for).where(
            TrainingRun.status == RunStatus.QUEUED, TrainingRun.job_id.is_(None)
        )
    ).all()
    rows = sorted(rows, key=lambda row: (as_utc(row.scheduled_for or row.created_at), row.id))
    return [row.id for row in rows]


def _queue_positions(session: Session) -> dict[int, int]:
    return {run_id: index + 1 for index, run_id in enumerate(_queue_order(session))}


def _continued_checkpoint(session: Session, run_id: int | None) -> Path | None:
    source = session.get(TrainingRun, run_id) if run_id is not None else None
    if source is None or not source.output_dir:
        return None
    return Path(source.output_dir) / CHECKPOINT_LAST_FILE
