"""The run manager: starts, queues, follows, stops, resumes, schedules and recovers trainer runs.

The database is the source of truth: every state change is committed before it is published, so a
new manager on the same database (after a restart) picks up exactly where the old one stopped.
Queries live in RunStore, timed work in RunScheduler, the GPU list in GpuInventory, and where trainers
run behind a Launcher (local subprocesses or Slurm jobs). The lock guards only the manager's own
bookkeeping (followers, launches in flight, stop requests) and the choice of which queued runs start;
starting or signalling a trainer, copying a checkpoint or reading GPUs happen outside it.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from bot.policy import Policy
from bot.runs.advice import failure_code, launch_failure_code, launch_failure_detail
from bot.runs.backends import make_launcher
from bot.runs.cpus import CpuInventory, Share, affinity_of
from bot.runs.errors import InvalidRunState, NotAllowed
from bot.runs.files import copy_atomically
from bot.runs.follower import EventTail, RunFollower
from bot.runs.gpus import GpuInventory, TakeBack
from bot.runs.launcher import EndedJob, Job, JobState, Launcher, LaunchSpec, trainer_args
from bot.runs.process import stderr_tail
from bot.runs.publisher import Publisher, Subscriber
from bot.runs.schedule import RunScheduler
from bot.runs.store import Attached, Claim, RunStore
from bot.runs.views import RunUpdate, RunView, StartRequest
from bot.settings import Settings
from bot.storage import Database, RunStatus
from training.config import TrainingConfig
from training.contract import (
    CHECKPOINT_LAST_FILE,
    DECODED_CACHE_FOLDER,
    EVENTS_FILE,
    RUN_CONFIG_FILE,
    TRAINER_MODULE,
    failure_kind,
)
from training.events import Event

log = logging.getLogger(__name__)

RESUMABLE_STATUSES = (RunStatus.STOPPED, RunStatus.INTERRUPTED, RunStatus.FAILED)


class RunManager:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        trainer_command: Sequence[str] | None = None,
        poll_interval: float = 0.02,
        watchdog_interval: float | None = None,
        gpus: GpuInventory | None = None,
        launcher: Launcher | None = None,
        cpus: CpuInventory | None = None,
        policy: Policy | None = None,
    ) -> None:
        """`policy` decides who may stop, resume or cancel a run (its owner or an admin); the front ends
        share theirs (Actions.compose), else one from `settings`."""
        self._store = RunStore(db, settings.output_root)
        self._settings = settings
        self._policy = policy or Policy(settings)
        self._command = list(trainer_command or [sys.executable, "-m", TRAINER_MODULE])
        self._cache_dir = (
            settings.decoded_cache_dir or settings.output_root / DECODED_CACHE_FOLDER
        ).resolve()
        self._poll_interval = poll_interval
        self._watchdog_interval = watchdog_interval or min(30.0, settings.stall_seconds / 3)
        self._gpus = gpus or GpuInventory()
        self._cpus = cpus or CpuInventory(reserved=settings.cpu_cores_reserved)
        self._cpu_shares: dict[int, Share] = {}  # run id -> the cores its trainer runs on (this host's runs)
        self._launcher = launcher or make_launcher(settings)
        self._lock = threading.RLock()
        self._followers: dict[int, RunFollower] = {}
        self._unfollowed: set[int] = set()  # running rows being launched or re-attached: no follower yet
        self._publisher = Publisher()
        self._scheduler: RunScheduler | None = None
        self._closed = False

    # lifecycle

    def start(self) -> None:
        """Check the backend, recover runs left by a previous bot, then start the scheduler (scheduled
        runs) and the watchdog. Raises BackendUnavailable when the backend cannot take runs."""
        self._launcher.check()
        self._store.create_schema()
        if not self._launcher.schedules_itself:
            self._gpus.refresh()
        self._recover()
        scheduler = RunScheduler(
            self._settings.timezone,
            on_due=self.enqueue_scheduled,
            watchdog=self.check_runs,
            watchdog_interval=self._watchdog_interval,
        )
        for run_id, at in self._store.scheduled():
            scheduler.add(run_id, at)
        scheduler.start()
        self._scheduler = scheduler
        if self._settings.warm_trainer:
            self._launcher.prepare(self._command)
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
            follower.process.forget()
        self._publisher.close(wait=wait)
        self._launcher.close()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        return self._publisher.subscribe(callback)

    # reading

    def get(self, run_id: int) -> RunView:
        return self._store.view(run_id)

    def active_runs(self) -> list[RunView]:
        """Running, queued and scheduled runs, oldest first."""
        return self._store.active()

    def recent_runs(self, limit: int = 10) -> list[RunView]:
        return self._store.recent(limit)

    def thread_runs(self, channel: str, thread_ts: str) -> list[RunView]:
        """The runs started from one Slack thread, newest first."""
        return self._store.in_thread(channel, thread_ts)

    def gpus(self) -> tuple[str, ...]:
        return self._gpus.indices

    def busy_gpus(self) -> set[str]:
        """The GPUs that training runs are using now (until their trainer has exited)."""
        with self._lock:
            holding = set(self._followers) | self._unfollowed
        return self._store.busy_gpus(holding)

    def lend_gpu(self, take_back: TakeBack) -> str | None:
        """A GPU for a prediction worker: one no training run holds. A run that needs it later takes it
        back first (`take_back(gpu)` returns once the worker has stopped); None when there is none."""
        if not self._gpus.indices:  # read (maybe nvidia-smi, slow) outside the lock
            return None
        with self._lock:  # a claim cannot give a run this GPU between the read and the loan
            return self._gpus.lend(self.busy_gpus(), take_back)

    def give_back_gpu(self, gpu: str) -> None:
        self._gpus.give_back(gpu)

    def helper_cpus(self) -> Share:
        """The cores a prediction or export worker starting now may use: none a run holds, when it can."""
        with self._lock:
            held = list(self._cpu_shares.values())
        return self._cpus.for_helper(held)

    # starting

    def submit(self, request: StartRequest) -> RunView:
        """Queue a run (it starts at once when a slot is free). The same start_key gives the same run."""
        with self._lock:
            run_id, created = self._store.create(request, RunStatus.QUEUED, scheduled_for=None)
        if created:
            self._publish_status(run_id)
            self._fill_slots()
        return self.get(run_id)

    def schedule(self, request: StartRequest, at: datetime) -> RunView:
        """Store a run that the scheduler queues at `at` (a naive time is in settings.timezone)."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=ZoneInfo(self._settings.timezone))
        if at <= datetime.now(UTC):
            raise InvalidRunState("time_passed")
        assert self._scheduler is not None, "start() the manager before scheduling runs"
        with self._lock:
            run_id, created = self._store.create(request, RunStatus.PENDING, scheduled_for=at.astimezone(UTC))
        if created:
            self._scheduler.add(run_id, at)
            self._publish_status(run_id)
        return self.get(run_id)

    def enqueue_scheduled(self, run_id: int) -> None:
        """The scheduler's callback: a scheduled run joins the queue."""
        with self._lock:
            queued = self._store.queue_if_pending(run_id)
        if not queued:
            return  # cancelled or already handled
        log.info("scheduled run %s is due; queued", run_id)
        self._publish_status(run_id)
        self._fill_slots()

    def cancel_scheduled(self, run_id: int, user_id: str) -> RunView:
        with self._lock:
            run = self._managed_view(run_id, user_id)
            if not run.is_scheduled:
                raise InvalidRunState("not_scheduled", run_id=run_id, status=run.status)
            self._store.set_status(run_id, RunStatus.STOPPED)
        self._unschedule(run_id)
        self._publish_status(run_id)
        return self.get(run_id)

    def resume(self, run_id: int, user_id: str) -> RunView:
        """A new run continuing from the checkpoint of a stopped, interrupted or failed run."""
        with self._lock:
            source = self._managed_view(run_id, user_id)
            if source.status not in RESUMABLE_STATUSES:
                raise InvalidRunState("not_resumable", run_id=run_id, status=source.status)
            if source.checkpoint_path is None:
                raise InvalidRunState("no_checkpoint", run_id=run_id)
            already = self._store.active_resume_of(run_id)
            if already is not None:
                return self.get(already.id)
            new_id = self._store.create_resume(source, user_id)  # pending: not started before the copy
        self._place_checkpoint(new_id, Path(source.checkpoint_path))
        self._store.queue_if_pending(new_id)
        self._publish_status(new_id)
        self._fill_slots()
        return self.get(new_id)

    # stopping

    def stop(self, run_id: int, user_id: str) -> RunView:
        """A run in the bot's queue or scheduled is just marked stopped; a handed-off one is asked to stop
        (SIGTERM, forced after the grace period) and becomes `stopped` when its job ends."""
        with self._lock:
            run = self._managed_view(run_id, user_id)
            if run.status.is_terminal:
                raise InvalidRunState("already_finished", run_id=run_id, status=run.status)
            handed_off = run.status == RunStatus.RUNNING or run.job_id is not None
            if handed_off:
                # stored: a bot restarted before the trainer stops finishes it
                self._store.request_stop(run_id)
                follower = self._followers.get(run_id)
            else:
                self._store.set_status(run_id, RunStatus.STOPPED)
        if handed_off:
            # without a follower the trainer is being started or re-attached: that step stops it
            if follower is not None:
                follower.process.terminate(self._settings.stop_grace_seconds)
            return self.get(run_id)
        if run.is_scheduled:
            self._unschedule(run_id)
        self._publish_status(run_id)
        self._publish_queue_positions()
        return self.get(run_id)

    def set_progress_message(self, run_id: int, channel: str, ts: str) -> None:
        self._store.set_progress_message(run_id, channel, ts)

    # watchdog

    def check_runs(self) -> None:
        """Re-attach running runs that lost their follower (the process may be gone: then the run fails
        with its stderr tail), flag runs that sent no event for settings.stall_seconds, and start queued
        runs into free slots."""
        with self._lock:
            if self._closed:
                return
            followed = [run_id for run_id, follower in self._followers.items() if follower.is_alive()]
            busy = set(followed) | self._unfollowed
            orphans = [run for run in self._store.handed_off() if run.run_id not in busy]
            self._unfollowed.update(run.run_id for run in orphans)
        for run in orphans:
            self._attach(run, RunStatus.FAILED)
        for run_id in self._store.flag_stalled(followed, self._settings.stall_seconds):
            log.warning(
                "run %s sent no event for %ss; flagged as stalled", run_id, self._settings.stall_seconds
            )
            self._publish_status(run_id)
        self._fill_slots()  # every pass: a run whose launch was cut short has freed its slot

    # internals: launching

    def _slots(self) -> int | None:
        """How many runs may be handed off at once; None: all (the backend queues them itself)."""
        if self._launcher.schedules_itself:
            return self._settings.max_concurrent_runs
        return self._settings.max_concurrent_runs or max(1, len(self._gpus.indices))

    def _pick_gpu(self, in_use: list[str | None], count: int) -> str | None:
        return None if self._launcher.schedules_itself else self._gpus.pick(in_use, count)

    def _weight(self, config: TrainingConfig) -> int:
        """The slots a run holds: with one run per GPU (no MAX_CONCURRENT_RUNS), one per GPU it uses."""
        if self._launcher.schedules_itself or self._settings.max_concurrent_runs:
            return 1
        return max(1, min(config.gpus, len(self._gpus.indices)))

    def _fill_slots(self) -> None:
        """Start queued runs, oldest first, while fewer than the allowed number are running. A run whose
        launch failed has failed and freed its slot: the runs behind it are claimed again."""
        while True:
            with self._lock:
                if self._closed:
                    return
                claims = self._store.claim_queued(
                    self._slots(), list(self._followers), self._pick_gpu, self._weight
                )
                self._unfollowed.update(claim.run_id for claim in claims)
                self._share_cpus(claims)
                if claims:
                    # the runs behind moved up; published before another fill can start one of them
                    self._publish_queue_positions()
            launched = [self._launch(claim) for claim in claims]
            if all(launched):
                return

    def _share_cpus(self, claims: list[Claim]) -> None:
        """Each claimed run's cores, as its GPU was chosen (the backend places its jobs itself)."""
        if self._launcher.schedules_itself:
            return
        slots = self._slots() or 1
        with self._lock:
            for claim in claims:
                held = list(self._cpu_shares.values())
                self._cpu_shares[claim.run_id] = self._cpus.for_run(
                    claim.gpu, self._gpus.indices, held, slots
                )

    def _launch(self, claim: Claim) -> bool:
        """Start the claimed run's trainer and follow it. False when that failed at any step: the run is
        then failed with the reason, and no trainer of it is left running."""
        try:
            spec = self._launch_spec(claim)
        except (OSError, ValidationError) as exc:  # the run folder cannot be written; settings refused
            self._launch_failed(claim.run_id, "preparing the run folder", exc, writing_folder=True)
            return False
        try:
            self._gpus.take_back(claim.gpu)  # from a prediction worker: a GPU is never shared
            job = self._launcher.submit(spec)
        except Exception as exc:  # the process or the job could not be started
            self._launch_failed(claim.run_id, "starting the trainer", exc)
            return False
        try:
            self._store.record_launched(claim.run_id, job.pid, job.job_id, job.state())
        except Exception as exc:  # the database: nothing may train that the run's row does not show
            job.kill()
            self._launch_failed(claim.run_id, "recording the started trainer", exc)
            return False
        try:
            self._follow(Attached(claim.run_id, job.pid, job.job_id, claim.output_dir, 0), job)
        except Exception:  # recorded and running: the watchdog's next pass re-attaches to it
            log.exception("run %s: following the started trainer failed", claim.run_id)
            with self._lock:
                self._unfollowed.discard(claim.run_id)
        self._publish_launched(claim.run_id)
        return True

    def _launch_spec(self, claim: Claim) -> LaunchSpec:
        """The run folder with the run's config in it, and the trainer's command line."""
        config = TrainingConfig.model_validate(claim.config)
        claim.output_dir.mkdir(parents=True, exist_ok=True)
        config_path = claim.output_dir / RUN_CONFIG_FILE
        config_path.write_text(config.to_json(), encoding="utf-8")
        args = trainer_args(
            self._command,
            config_path,
            claim.output_dir,
            resume=claim.resume,
            cache_dir=self._cache_dir,
            init_from=claim.init_from,
            gpus=config.gpus,
        )
        with self._lock:
            cpus = self._cpu_shares.get(claim.run_id)
        return LaunchSpec(claim.run_id, args, claim.output_dir, claim.gpu, config.gpus, cpus)

    def _launch_failed(self, run_id: int, step: str, exc: Exception, *, writing_folder: bool = False) -> None:
        """End a claimed run whose launch failed at `step`: failed, with the reason code the person reads
        and the error as the detail. When even that cannot be stored (the database is down), the row stays
        running with no trainer and no follower: the watchdog fails it on a later pass."""
        log.error("run %s: launch failed while %s", run_id, step, exc_info=exc)
        try:
            code = launch_failure_code(exc, writing_folder=writing_folder)
            self._store.record_launch_failed(run_id, launch_failure_detail(step, exc), code)
        except Exception:
            log.exception("run %s: recording the failed launch failed too; the watchdog ends it", run_id)
        finally:
            with self._lock:
                self._unfollowed.discard(run_id)
                self._cpu_shares.pop(run_id, None)
        self._publish_launched(run_id)

    def _publish_launched(self, run_id: int) -> None:
        """Publish a run that just started or failed to; the next fill goes on if the database cannot
        say what it is now."""
        try:
            self._publish_status(run_id)
        except Exception:
            log.exception("run %s: could not publish its start", run_id)

    def _follow(self, run: Attached, process: Job) -> None:
        """Start following a trainer, and stop it at once when a stop came in meanwhile."""
        follower = self._new_follower(run, process)
        with self._lock:
            self._unfollowed.discard(run.run_id)
            if self._closed:
                return  # a new manager re-attaches to it
            self._followers[run.run_id] = follower
            stop_now = self._store.stop_requested(run.run_id)
        follower.start()
        if stop_now:
            process.terminate(self._settings.stop_grace_seconds)

    # internals: following

    def _new_follower(self, run: Attached, process: Job) -> RunFollower:
        return RunFollower(
            run.run_id,
            EventTail(run.output_dir / EVENTS_FILE, run.events_offset),
            process,
            apply_event=self._apply_event,
            on_exit=self._on_exit,
            on_state=self._on_job_state,
            poll_interval=self._poll_interval,
            exit_grace_seconds=self._settings.stop_grace_seconds,
        )

    def _on_job_state(self, run_id: int, state: JobState) -> None:
        if self._store.record_job_state(run_id, state):
            self._publish_status(run_id)

    def _apply_event(self, run_id: int, event: Event | None, offset: int) -> None:
        view = self._store.apply_event(run_id, event, offset)
        if view is not None and event is not None:
            self._publisher.publish(RunUpdate(view, event))

    def _on_exit(self, run_id: int, returncode: int | None, saw_terminal: bool) -> None:
        with self._lock:
            follower = self._followers.pop(run_id, None)
            self._cpu_shares.pop(run_id, None)
        if follower is not None:
            follower.process.forget()
            self._finish_unreported(run_id, follower.process.out_dir, returncode, RunStatus.FAILED)
        self._fill_slots()

    def _finish_unreported(self, run_id: int, out_dir: Path, returncode: int | None, dead: RunStatus) -> None:
        """The trainer is gone. Without a final event, the run failed (or was stopped / interrupted)."""
        if self._store.stop_requested(run_id):
            finished = self._store.finish_running(run_id, RunStatus.STOPPED)  # killed after the grace period
        elif dead == RunStatus.INTERRUPTED:
            finished = self._store.finish_running(run_id, dead, error_message="interrupted")
        else:
            tail = stderr_tail(out_dir)
            exit_text = "unknown exit code" if returncode is None else f"exit code {returncode}"
            finished = self._store.finish_running(
                run_id,
                RunStatus.FAILED,
                error_detail=f"trainer ended ({exit_text}) without a final event\n{tail}".strip(),
                error_message=failure_code(failure_kind(returncode), tail or exit_text),
            )
        if finished:
            log.info("run %s ended without a final event: %s", run_id, dead)
            self._publish_status(run_id)

    # internals: recovery

    def _place_checkpoint(self, run_id: int, checkpoint: Path) -> None:
        """Copy the checkpoint a resumed run continues from into its folder (a copy, not a link: the new
        trainer rewrites it in place); the run is deleted when that fails."""
        target = self._store.out_dir(run_id) / CHECKPOINT_LAST_FILE
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            copy_atomically(checkpoint, target)
        except OSError:
            self._store.delete(run_id)
            raise

    def _recover(self) -> None:
        for run_id, checkpoint in self._store.pending_resumes():  # the bot stopped during the copy
            try:
                self._place_checkpoint(run_id, checkpoint)
            except OSError:
                log.exception("run %s: the checkpoint it resumes from cannot be copied; dropped", run_id)
        self._store.queue_unscheduled_pending()
        handed_off = self._store.handed_off()
        with self._lock:
            self._unfollowed.update(run.run_id for run in handed_off)
        for run in handed_off:
            self._attach(run, RunStatus.INTERRUPTED)

    def _attach(self, run: Attached, dead: RunStatus) -> None:
        """Follow a trainer this manager did not launch, from the stored offset. If it is gone, apply
        what it wrote and, without a final event, mark the run `dead`."""
        job = self._launcher.attach(run.run_id, run.pid, run.job_id, run.output_dir)
        state = job.state() if job is not None else JobState(alive=False)
        if job is not None and state.alive:
            log.info(
                "run %s: re-attached to %s from offset %s", run.run_id, _job_name(job), run.events_offset
            )
            if (job.pid, job.job_id) != (run.pid, run.job_id):  # started, but never recorded
                self._store.record_launched(run.run_id, job.pid, job.job_id, state)
                run = Attached(run.run_id, job.pid, job.job_id, run.output_dir, run.events_offset)
            share = affinity_of(job.pid) if job.pid is not None else None  # a local trainer's
            if share is not None:  # it keeps the cores it was started with
                with self._lock:
                    self._cpu_shares[run.run_id] = share
            self._follow(run, job)
            return
        follower = self._new_follower(run, job or EndedJob(run.output_dir))
        try:
            if not follower.drain():
                self._finish_unreported(run.run_id, run.output_dir, state.returncode, dead)
        finally:
            follower.tail.close()
            with self._lock:
                self._unfollowed.discard(run.run_id)

    # internals: small helpers

    def _managed_view(self, run_id: int, user_id: str) -> RunView:
        run = self.get(run_id)
        if not self._policy.is_owner_or_admin(user_id, run):
            raise NotAllowed("not_allowed", run_id=run_id)
        return run

    def _unschedule(self, run_id: int) -> None:
        if self._scheduler is not None:
            self._scheduler.remove(run_id)

    def _publish_status(self, run_id: int) -> None:
        self._publisher.publish(RunUpdate(self.get(run_id)))

    def _publish_queue_positions(self) -> None:
        for run in self.active_runs():
            if run.status == RunStatus.QUEUED:
                self._publisher.publish(RunUpdate(run))


def _job_name(job: Job) -> str:
    return f"job {job.job_id}" if job.job_id is not None else f"trainer pid {job.pid}"
