"""The run manager: starts, queues, follows, stops, resumes, schedules and recovers trainer runs.

The database is the source of truth: every state change is committed before it is published, so a
new manager on the same database (after a restart) picks up exactly where the old one stopped.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.runs.advice import explain_failure
from bot.runs.errors import InvalidRunState, NotAllowed, RunNotFound
from bot.runs.follower import EventTail, RunFollower
from bot.runs.process import TrainerProcess, is_our_trainer, stderr_tail
from bot.runs.publisher import Publisher, Subscriber
from bot.runs.record import record_event
from bot.runs.views import RunUpdate, RunView, StartRequest, as_utc, view_of
from bot.settings import Settings, visible_gpu_indices
from bot.storage import Database, RunStatus, TrainingRun
from bot.storage.models import utcnow
from training.config import TrainingConfig
from training.contract import CHECKPOINT_LAST_FILE, EVENTS_FILE, RUN_CONFIG_FILE, failure_kind
from training.events import Event

log = logging.getLogger(__name__)

ACTIVE_STATUSES = (RunStatus.RUNNING, RunStatus.QUEUED, RunStatus.PENDING)
RESUMABLE_STATUSES = (RunStatus.STOPPED, RunStatus.INTERRUPTED, RunStatus.FAILED)
INTERRUPTED_MESSAGE = (
    "The bot restarted and this run's trainer was no longer running. Resume it to continue from its last "
    "checkpoint."
)

# database url -> the live manager. Persisted scheduler jobs are pickled as a reference to
# fire_scheduled_run plus (url, run id), so they find whichever manager runs after a restart.
_MANAGERS: dict[str, RunManager] = {}


def fire_scheduled_run(database_url: str, run_id: int) -> None:
    manager = _MANAGERS.get(database_url)
    if manager is None:
        log.warning("scheduled run %s fired but no run manager is running for its database", run_id)
        return
    manager.enqueue_scheduled(run_id)


def schedule_job_id(run_id: int) -> str:
    return f"run-{run_id}"


class RunManager:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        trainer_command: Sequence[str] | None = None,
        poll_interval: float = 0.02,
        watchdog_interval: float | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._command = list(trainer_command or [sys.executable, "-m", "training"])
        self._poll_interval = poll_interval
        self._watchdog_interval = watchdog_interval or min(30.0, settings.stall_seconds / 3)
        self._lock = threading.RLock()
        self._followers: dict[int, RunFollower] = {}
        self._stop_requested: set[int] = set()
        self._publisher = Publisher()
        self._scheduler: BackgroundScheduler | None = None
        self._closed = False

    # lifecycle

    def start(self) -> None:
        """Recover runs left by a previous bot, then start the scheduler (persisted jobs) and the watchdog."""
        self._db.create_all()
        _MANAGERS[self._db.url] = self
        with self._lock:
            self._recover()
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self._db.engine), "memory": MemoryJobStore()},
            timezone=ZoneInfo(self._settings.timezone),
        )
        scheduler.add_job(
            self.check_runs,
            "interval",
            seconds=self._watchdog_interval,
            id="watchdog",
            jobstore="memory",
            coalesce=True,
            max_instances=1,
        )
        scheduler.start()
        self._scheduler = scheduler
        self._restore_schedule_jobs()
        self._fill_slots()

    def shutdown(self, wait: bool = True) -> None:
        """Stop following and scheduling; trainers keep running and a new manager re-attaches to them."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            followers = list(self._followers.values())
            self._followers.clear()
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=wait)
        for follower in followers:
            follower.stop(wait=wait)
        self._publisher.close(wait=wait)
        if _MANAGERS.get(self._db.url) is self:
            del _MANAGERS[self._db.url]

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        return self._publisher.subscribe(callback)

    # reading

    def get(self, run_id: int) -> RunView:
        with self._db.session() as session:
            return self._view(session, self._row(session, run_id))

    def active_runs(self) -> list[RunView]:
        """Running, queued and scheduled runs, oldest first."""
        with self._db.session() as session:
            rows = session.scalars(
                select(TrainingRun).where(TrainingRun.status.in_(ACTIVE_STATUSES)).order_by(TrainingRun.id)
            ).all()
            positions = self._queue_positions(session)
            return [view_of(row, positions.get(row.id)) for row in rows]

    def recent_runs(self, limit: int = 10) -> list[RunView]:
        with self._db.session() as session:
            rows = session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit)).all()
            positions = self._queue_positions(session)
            return [view_of(row, positions.get(row.id)) for row in rows]

    def can_manage(self, run: RunView, user_id: str) -> bool:
        return user_id == run.requested_by or user_id in self._settings.admin_user_ids

    # starting

    def submit(self, request: StartRequest) -> RunView:
        """Queue a run (it starts at once when a slot is free). The same start_key gives the same run."""
        run_id, created = self._create_run(request, RunStatus.QUEUED, scheduled_for=None)
        if created:
            self._publish_status(run_id)
            self._fill_slots()
        return self.get(run_id)

    def schedule(self, request: StartRequest, at: datetime) -> RunView:
        """Store a run that the scheduler queues at `at` (a naive time is in settings.timezone)."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=ZoneInfo(self._settings.timezone))
        if at <= datetime.now(UTC):
            raise InvalidRunState("That start time has already passed; pick a time in the future.")
        run_id, created = self._create_run(request, RunStatus.PENDING, scheduled_for=at.astimezone(UTC))
        if created:
            self._add_schedule_job(run_id, at)
            self._publish_status(run_id)
        return self.get(run_id)

    def enqueue_scheduled(self, run_id: int) -> None:
        """The scheduler's callback: a scheduled run joins the queue."""
        with self._lock, self._db.session() as session:
            row = session.get(TrainingRun, run_id)
            if row is None or row.status != RunStatus.PENDING:
                return  # cancelled or already handled
            row.status = RunStatus.QUEUED
        log.info("scheduled run %s is due; queued", run_id)
        self._publish_status(run_id)
        self._fill_slots()

    def cancel_scheduled(self, run_id: int, user_id: str) -> RunView:
        with self._lock:
            run = self._managed_view(run_id, user_id)
            if not run.is_scheduled:
                raise InvalidRunState(f"Run #{run_id} is not scheduled (it is {run.status}).")
            self._remove_schedule_job(run_id)
            self._set_status(run_id, RunStatus.STOPPED)
        self._publish_status(run_id)
        return self.get(run_id)

    def resume(self, run_id: int, user_id: str) -> RunView:
        """A new run continuing from the checkpoint of a stopped, interrupted or failed run."""
        with self._lock:
            source = self._managed_view(run_id, user_id)
            if source.status not in RESUMABLE_STATUSES:
                raise InvalidRunState(f"Run #{run_id} is {source.status}; only a stopped run can be resumed.")
            if source.checkpoint_path is None:
                raise InvalidRunState(f"Run #{run_id} left no checkpoint to resume from.")
            with self._db.session() as session:
                already = session.scalar(
                    select(TrainingRun).where(
                        TrainingRun.resume_of == run_id, TrainingRun.status.in_(ACTIVE_STATUSES)
                    )
                )
                if already is not None:
                    return self._view(session, already)
                row = TrainingRun(
                    config=source.config,
                    total_epochs=source.total_epochs,
                    current_epoch=source.current_epoch,
                    status=RunStatus.QUEUED,
                    resume_of=run_id,
                    requested_by=user_id,
                    slack_channel=source.slack_channel,
                    slack_thread_ts=source.slack_thread_ts,
                )
                session.add(row)
                session.flush()
                out_dir = self._out_dir(row.id)
                out_dir.mkdir(parents=True, exist_ok=True)
                # a copy, not a link: the new trainer rewrites checkpoint_last.pt in place
                shutil.copy2(source.checkpoint_path, out_dir / CHECKPOINT_LAST_FILE)
                row.output_dir = str(out_dir)
                new_id = row.id
        self._publish_status(new_id)
        self._fill_slots()
        return self.get(new_id)

    # stopping

    def stop(self, run_id: int, user_id: str) -> RunView:
        """A queued or scheduled run is just marked stopped; a running one gets SIGTERM (SIGKILL after the
        grace period) and becomes `stopped` when the trainer reports it."""
        with self._lock:
            run = self._managed_view(run_id, user_id)
            if run.status.is_terminal:
                raise InvalidRunState(f"Run #{run_id} has already finished ({run.status}).")
            if run.status == RunStatus.RUNNING:
                self._stop_requested.add(run_id)
                follower = self._followers.get(run_id)
                if follower is not None:
                    follower.process.terminate(self._settings.stop_grace_seconds)
                return self.get(run_id)
            if run.is_scheduled:
                self._remove_schedule_job(run_id)
            self._set_status(run_id, RunStatus.STOPPED)
        self._publish_status(run_id)
        self._publish_queue_positions()
        return self.get(run_id)

    def set_progress_message(self, run_id: int, channel: str, ts: str) -> None:
        with self._db.session() as session:
            row = self._row(session, run_id)
            row.slack_channel = channel
            row.slack_ts = ts

    # watchdog

    def check_runs(self) -> None:
        """Re-attach running runs that lost their follower (the process may be gone: then the run fails
        with its stderr tail) and flag runs that sent no event for settings.stall_seconds."""
        now = datetime.now(UTC)
        stalled: list[int] = []
        with self._lock:
            if self._closed:
                return
            with self._db.session() as session:
                rows = session.scalars(
                    select(TrainingRun).where(TrainingRun.status == RunStatus.RUNNING)
                ).all()
                orphans = []
                for row in rows:
                    follower = self._followers.get(row.id)
                    if follower is None or not follower.is_alive():
                        orphans.append((row.id, row.pid, row.output_dir, row.events_offset))
                        continue
                    last = as_utc(row.last_event_at or row.started_at) or now
                    if not row.stalled and (now - last).total_seconds() > self._settings.stall_seconds:
                        row.stalled = True
                        stalled.append(row.id)
            for run_id, pid, out_dir, offset in orphans:
                self._attach(run_id, pid, out_dir, offset, RunStatus.FAILED)
        for run_id in stalled:
            log.warning(
                "run %s sent no event for %ss; flagged as stalled", run_id, self._settings.stall_seconds
            )
            self._publish_status(run_id)
        if orphans:
            self._fill_slots()

    # internals: creating and launching

    def _create_run(
        self, request: StartRequest, status: RunStatus, scheduled_for: datetime | None
    ) -> tuple[int, bool]:
        """(run id, created?) — an existing run with the same start_key is returned instead."""
        with self._lock:
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
                    )
                    session.add(row)
                    session.flush()
                    row.output_dir = str(self._out_dir(row.id))
                    return row.id, True
            except IntegrityError:
                # another bot process inserted the same start_key first
                existing = self._run_id_for_key(request.start_key)
                if existing is None:
                    raise
                return existing, False

    def _run_id_for_key(self, start_key: str) -> int | None:
        with self._db.session() as session:
            return session.scalar(select(TrainingRun.id).where(TrainingRun.start_key == start_key))

    def _out_dir(self, run_id: int) -> Path:
        return (self._settings.output_root / f"run-{run_id:04d}").resolve()

    def _fill_slots(self) -> None:
        """Start queued runs, oldest first, while fewer than settings.concurrent_runs are running."""
        launched: list[int] = []
        with self._lock:
            if self._closed:
                return
            followers: list[RunFollower] = []
            with self._db.session() as session:
                # a trainer holds its slot until its process exits, even after its final event
                running_gpus = list(
                    session.scalars(
                        select(TrainingRun.gpu).where(
                            (TrainingRun.status == RunStatus.RUNNING)
                            | TrainingRun.id.in_(list(self._followers))
                        )
                    )
                )
                free = self._settings.concurrent_runs - len(running_gpus)
                for run_id in self._queue_order(session)[: max(free, 0)]:
                    gpu = _pick_gpu(visible_gpu_indices(), running_gpus)
                    running_gpus.append(gpu)
                    follower = self._launch(self._row(session, run_id), gpu)
                    if follower is not None:
                        followers.append(follower)
                    launched.append(run_id)
            for follower in followers:  # after the commit: their events update a `running` row
                follower.start()
        for run_id in launched:
            self._publish_status(run_id)
        if launched:
            self._publish_queue_positions()

    def _launch(self, row: TrainingRun, gpu: str | None) -> RunFollower | None:
        out_dir = Path(row.output_dir or self._out_dir(row.id))
        out_dir.mkdir(parents=True, exist_ok=True)
        config_path = out_dir / RUN_CONFIG_FILE
        config_path.write_text(TrainingConfig.model_validate(row.config).to_json(), encoding="utf-8")
        row.started_at = utcnow()
        try:
            process = TrainerProcess.launch(
                self._command, config_path, out_dir, gpu=gpu, resume=row.resume_of is not None
            )
        except OSError as exc:
            log.exception("run %s: could not start the trainer", row.id)
            row.status = RunStatus.FAILED
            row.completed_at = utcnow()
            row.error_detail = f"could not start {self._command}: {exc}"
            row.error_message = explain_failure("internal", str(exc))
            return None
        row.status = RunStatus.RUNNING
        row.pid = process.pid
        row.gpu = gpu
        row.events_offset = 0
        row.stalled = False
        return self._follow(row.id, process, out_dir, offset=0)

    def _follow(self, run_id: int, process: TrainerProcess, out_dir: Path, offset: int) -> RunFollower:
        follower = RunFollower(
            run_id,
            EventTail(out_dir / EVENTS_FILE, offset),
            process,
            apply_event=self._apply_event,
            on_exit=self._on_exit,
            poll_interval=self._poll_interval,
            exit_grace_seconds=self._settings.stop_grace_seconds,
        )
        self._followers[run_id] = follower
        return follower

    # internals: following

    def _apply_event(self, run_id: int, event: Event | None, offset: int) -> None:
        with self._db.session() as session:
            row = self._row(session, run_id)
            row.events_offset = offset
            if event is None:
                return
            record_event(session, row, event)
            view = view_of(row)
        self._publisher.publish(RunUpdate(view, event))

    def _on_exit(self, run_id: int, returncode: int | None, saw_terminal: bool) -> None:
        with self._lock:
            self._followers.pop(run_id, None)
            self._finish_unreported(run_id, returncode, RunStatus.FAILED)
        self._fill_slots()

    def _finish_unreported(self, run_id: int, returncode: int | None, status: RunStatus) -> None:
        """The trainer is gone. Without a final event, the run failed (or was stopped / interrupted)."""
        stop_requested = run_id in self._stop_requested
        self._stop_requested.discard(run_id)
        with self._db.session() as session:
            row = self._row(session, run_id)
            if row.status != RunStatus.RUNNING:
                return
            row.completed_at = utcnow()
            if stop_requested:
                row.status = RunStatus.STOPPED  # killed after the grace period
            elif status == RunStatus.INTERRUPTED:
                row.status = RunStatus.INTERRUPTED
                row.error_message = INTERRUPTED_MESSAGE
            else:
                tail = stderr_tail(row.output_dir or "")
                exit_text = "unknown exit code" if returncode is None else f"exit code {returncode}"
                row.status = RunStatus.FAILED
                row.error_detail = f"trainer ended ({exit_text}) without a final event\n{tail}".strip()
                row.error_message = explain_failure(failure_kind(returncode), tail or exit_text)
        log.info("run %s ended without a final event: %s", run_id, status)
        self._publish_status(run_id)

    # internals: recovery and scheduling

    def _recover(self) -> None:
        with self._db.session() as session:
            running = session.scalars(
                select(TrainingRun).where(TrainingRun.status == RunStatus.RUNNING)
            ).all()
            targets = [(row.id, row.pid, row.output_dir, row.events_offset) for row in running]
            unscheduled = session.scalars(
                select(TrainingRun).where(
                    TrainingRun.status == RunStatus.PENDING, TrainingRun.scheduled_for.is_(None)
                )
            ).all()
            for row in unscheduled:
                row.status = RunStatus.QUEUED
        for run_id, pid, out_dir, offset in targets:
            self._attach(run_id, pid, out_dir, offset, RunStatus.INTERRUPTED)

    def _attach(
        self, run_id: int, pid: int | None, out_dir: str | None, offset: int, dead: RunStatus
    ) -> None:
        """Follow a trainer this manager did not launch, from the stored offset. If it is gone, apply
        what it wrote and, without a final event, mark the run `dead`."""
        folder = Path(out_dir or self._out_dir(run_id))
        process = TrainerProcess(pid or 0, folder)
        alive = pid is not None and is_our_trainer(pid, folder)
        follower = self._follow(run_id, process, folder, offset)
        if alive:
            log.info("run %s: re-attached to trainer pid %s from offset %s", run_id, pid, offset)
            follower.start()
            return
        del self._followers[run_id]
        if not follower.drain():
            self._finish_unreported(run_id, None, dead)
        follower.tail.close()

    def _add_schedule_job(self, run_id: int, at: datetime) -> None:
        assert self._scheduler is not None, "start() the manager before scheduling runs"
        self._scheduler.add_job(
            fire_scheduled_run,
            "date",
            run_date=at,
            args=[self._db.url, run_id],
            id=schedule_job_id(run_id),
            replace_existing=True,
            misfire_grace_time=None,  # a start missed while the bot was down still happens on the next start
            coalesce=True,
        )

    def _remove_schedule_job(self, run_id: int) -> None:
        if self._scheduler is None:
            return
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(schedule_job_id(run_id))

    def _restore_schedule_jobs(self) -> None:
        """Scheduled rows whose job is missing (e.g. the database was restored) get their job back."""
        assert self._scheduler is not None
        with self._db.session() as session:
            rows = session.scalars(
                select(TrainingRun).where(
                    TrainingRun.status == RunStatus.PENDING, TrainingRun.scheduled_for.is_not(None)
                )
            ).all()
            missing = [(row.id, as_utc(row.scheduled_for)) for row in rows]
        for run_id, at in missing:
            if at is not None and self._scheduler.get_job(schedule_job_id(run_id)) is None:
                self._add_schedule_job(run_id, at)

    # internals: small helpers

    def _row(self, session: Session, run_id: int) -> TrainingRun:
        row = session.get(TrainingRun, run_id)
        if row is None:
            raise RunNotFound(f"There is no run #{run_id}.")
        return row

    def _view(self, session: Session, row: TrainingRun) -> RunView:
        position = self._queue_positions(session).get(row.id) if row.status == RunStatus.QUEUED else None
        return view_of(row, position)

    def _managed_view(self, run_id: int, user_id: str) -> RunView:
        run = self.get(run_id)
        if not self.can_manage(run, user_id):
            raise NotAllowed(f"Only <@{run.requested_by}> or an admin can manage run #{run_id}.")
        return run

    def _set_status(self, run_id: int, status: RunStatus) -> None:
        with self._db.session() as session:
            row = self._row(session, run_id)
            row.status = status
            if status.is_terminal:
                row.completed_at = utcnow()

    def _queue_order(self, session: Session) -> list[int]:
        """Queued run ids, first in first out: a scheduled run joins the queue at its scheduled time."""
        rows = session.execute(
            select(TrainingRun.id, TrainingRun.created_at, TrainingRun.scheduled_for).where(
                TrainingRun.status == RunStatus.QUEUED
            )
        ).all()
        rows = sorted(rows, key=lambda row: (as_utc(row.scheduled_for or row.created_at), row.id))
        return [row.id for row in rows]

    def _queue_positions(self, session: Session) -> dict[int, int]:
        return {run_id: index + 1 for index, run_id in enumerate(self._queue_order(session))}

    def _publish_status(self, run_id: int) -> None:
        self._publisher.publish(RunUpdate(self.get(run_id)))

    def _publish_queue_positions(self) -> None:
        for run in self.active_runs():
            if run.status == RunStatus.QUEUED:
                self._publisher.publish(RunUpdate(run))


def _pick_gpu(visible: list[str], in_use: list[str | None]) -> str | None:
    """The visible GPU with the fewest runs on it (None without GPUs)."""
    if not visible:
        return None
    return min(visible, key=in_use.count)
