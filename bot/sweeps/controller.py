"""Drives sweeps on the run manager: each trial is an ordinary queued run with the sweep's id, at most
`parallel` of them queued or running at once. A grid runs its combinations in order; a search asks
Optuna for each next trial, reports every epoch's metric and stops (prunes) clearly worse trials through
the manager's normal stop. The sweep's progress is read from the database each time, so a restarted bot
goes on where the last one was, with no trial run twice."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from bot.runs.errors import InvalidRunState
from bot.runs.views import RunUpdate, RunView, StartRequest
from bot.settings import Settings
from bot.storage import Database, RunEpoch, RunStatus, Sweep, SweepStatus, SweepTrial
from bot.sweeps import chart
from bot.sweeps.spec import OBJECTIVE_BY_TASK, SweepSpec
from bot.sweeps.views import SweepView, TrialView, objective_value
from training.config import TrainingConfig
from training.events import EpochEvent, EpochRecord, ProgressEvent

if TYPE_CHECKING:
    from bot.runs.manager import RunManager
    from bot.sweeps.study import SearchStudy

log = logging.getLogger(__name__)

SWEEPS_FOLDER = "sweeps"


class SweepController:
    def __init__(self, db: Database, manager: RunManager, settings: Settings) -> None:
        self._db = db
        self._manager = manager
        self._settings = settings
        self._lock = threading.RLock()
        self._studies: dict[int, SearchStudy] = {}
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweeps")
        self._subscribers: list[Callable[[SweepView], None]] = []
        self._unsubscribe = manager.subscribe(self._on_update)

    def start(self) -> None:
        """Go on with every sweep a previous bot left running (after the manager re-attached its runs)."""
        with self._db.session() as session:
            running = session.scalars(select(Sweep.id).where(Sweep.status == SweepStatus.RUNNING)).all()
        for sweep_id in running:
            self._worker.submit(self._advance, sweep_id)

    def close(self) -> None:
        self._unsubscribe()
        self._worker.shutdown(wait=True)

    def default_parallel(self) -> int:
        return (
            self._settings.sweep_parallel
            or self._settings.max_concurrent_runs
            or max(1, len(self._manager.gpus()))
        )

    # acting

    def create(
        self,
        spec: SweepSpec,
        base: TrainingConfig,
        requested_by: str,
        *,
        session_id: int | None = None,
        slack_channel: str | None = None,
        slack_thread_ts: str | None = None,
        draft: bool = False,
    ) -> SweepView:
        """Store the sweep and queue its first trials (a draft waits for `launch`). `spec` is checked
        (spec.checked) by the caller."""
        with self._db.session() as session:
            row = Sweep(
                status=SweepStatus.DRAFT if draft else SweepStatus.RUNNING,
                session_id=session_id,
                base_config=base.model_dump(mode="json"),
                space=spec.model_dump(mode="json"),
                objective=spec.objective or OBJECTIVE_BY_TASK[base.task],
                trials_budget=spec.trial_count(),
                parallel=self.default_parallel(),
                requested_by=requested_by,
                slack_channel=slack_channel,
                slack_thread_ts=slack_thread_ts,
            )
            session.add(row)
            session.flush()
            sweep_id = row.id
        if not draft:
            self._advance(sweep_id)
        return self.view(sweep_id)

    def launch(self, sweep_id: int) -> SweepView | None:
        """Start a drafted sweep; None when it is no draft any more (started already: a double click)."""
        with self._lock, self._db.session() as session:
            row = session.get(Sweep, sweep_id)
            if row is None or row.status != SweepStatus.DRAFT:
                return None
            row.status = SweepStatus.RUNNING
        self._advance(sweep_id)
        return self.view(sweep_id)

    def set_objective(self, sweep_id: int, objective: str) -> SweepView | None:
        """A drafted sweep picks its best trial by `objective` (checked by the caller); None when it is no
        draft any more (started meanwhile)."""
        with self._lock, self._db.session() as session:
            row = session.get(Sweep, sweep_id)
            if row is None or row.status != SweepStatus.DRAFT:
                return None
            row.objective = objective
            row.space = {**row.space, "objective": objective}
        return self.view(sweep_id)

    def subscribe(self, callback: Callable[[SweepView], None]) -> Callable[[], None]:
        """`callback(sweep)` after each change of one of its trials (on the controller's thread)."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def stop(self, sweep_id: int, user_id: str) -> SweepView:
        """Stop the running trials and cancel the queued ones; no new trial starts. They stay the
        sweep's, untold to the study, for `resume`."""
        with self._lock:
            with self._db.session() as session:
                row = session.get(Sweep, sweep_id)
                assert row is not None
                if row.status == SweepStatus.RUNNING:
                    row.status = SweepStatus.STOPPED
                    row.completed_at = datetime.now(UTC)
            sweep = self.view(sweep_id)  # with the trials queued until now
        for trial in sweep.trials:
            if trial.run is not None and not trial.run.status.is_terminal:
                with contextlib.suppress(InvalidRunState):  # it ended meanwhile
                    self._manager.stop(trial.run.id, user_id)
        self._worker.submit(self._notify, sweep_id)
        return self.view(sweep_id)

    def resume(self, sweep_id: int) -> SweepView | None:
        """Take a stopped sweep up again: each trial its Stop ended resumes from its checkpoint (the run
        manager's resume) or, cancelled while queued or stopped before its first checkpoint, is queued
        again; then the sweep goes on with the rest of its budget (a search asks Optuna for the next
        trials). None when the sweep is not stopped, or its trials are still stopping."""
        with self._lock:
            sweep = self.view(sweep_id)
            if sweep.status != SweepStatus.STOPPED or sweep.training:
                return None
            for trial in sweep.resumable:
                assert trial.run is not None
                if trial.run.checkpoint_path is None:
                    self._queue_trial(sweep, trial.number, trial.params, after=trial.run.id)
                else:  # the new run is the sweep's too (the store keeps sweep_id): link it to the trial
                    resumed = self._manager.resume(trial.run.id, sweep.requested_by or "")
                    self._link(sweep.id, trial.number, resumed.id)
            with self._db.session() as session:
                row = session.get(Sweep, sweep_id)
                assert row is not None
                row.status = SweepStatus.RUNNING
                row.completed_at = None
            self._advance_locked(sweep_id)
        log.info("sweep %s resumed", sweep_id)
        self._worker.submit(self._notify, sweep_id)
        return self.view(sweep_id)

    def show_trials(self, sweep_id: int, shown: bool) -> SweepView:
        """Give each trial its own progress message in the thread (True), or the table only."""
        with self._db.session() as session:
            row = session.get(Sweep, sweep_id)
            if row is None:
                raise KeyError(sweep_id)
            row.show_trials = shown
        self._worker.submit(self._notify, sweep_id)
        return self.view(sweep_id)

    def set_table_message(self, sweep_id: int, ts: str) -> None:
        with self._db.session() as session:
            row = session.get(Sweep, sweep_id)
            if row is not None:
                row.slack_ts = ts

    # reading

    def view(self, sweep_id: int) -> SweepView:
        with self._db.session() as session:
            row = session.get(Sweep, sweep_id)
            if row is None:
                raise KeyError(sweep_id)
            trials = [(t.number, dict(t.params), t.run_id, t.pruned, t.value, t.told) for t in row.trials]
            head = (row.status, dict(row.space), row.objective, row.trials_budget, row.parallel)
            show_trials = row.show_trials
            where = (row.requested_by, row.slack_channel, row.slack_thread_ts, row.slack_ts, row.best_run_id)
        status, space, objective, budget, parallel = head
        views = []
        for number, params, run_id, pruned, stored, told in trials:
            run = self._manager.get(run_id) if run_id is not None else None
            value = stored if stored is not None else (objective_value(run, objective) if run else None)
            views.append(TrialView(number, params, run, pruned, value, told))
        return SweepView(
            id=sweep_id,
            status=SweepStatus(status),
            spec=SweepSpec.model_validate(space),
            objective=objective,
            trials_budget=budget,
            parallel=parallel,
            requested_by=where[0],
            slack_channel=where[1],
            slack_thread_ts=where[2],
            slack_ts=where[3],
            trials=views,
            best_run_id=where[4],
            chart=str(drawn) if (drawn := self.chart_path(sweep_id)).is_file() else None,
            show_trials=show_trials,
        )

    def base_config(self, sweep_id: int) -> TrainingConfig:
        """The setup every trial of the sweep starts from."""
        with self._db.session() as session:
            row = session.get(Sweep, sweep_id)
            if row is None:
                raise KeyError(sweep_id)
            return TrainingConfig.model_validate(row.base_config)

    def find(self, sweep_id: int) -> SweepView | None:
        try:
            return self.view(sweep_id)
        except KeyError:
            return None

    def discard_drafts(self, session_id: int) -> None:
        """Set aside the proposals of a conversation that were never started (a new one replaces them)."""
        with self._lock, self._db.session() as session:
            session.execute(
                update(Sweep)
                .where(Sweep.session_id == session_id, Sweep.status == SweepStatus.DRAFT)
                .values(status=SweepStatus.DISCARDED)
            )

    def in_session(self, session_id: int) -> list[SweepView]:
        """The sweeps proposed in one conversation, newest first."""
        with self._db.session() as session:
            ids = session.scalars(
                select(Sweep.id).where(Sweep.session_id == session_id).order_by(Sweep.id.desc())
            ).all()
        return [self.view(sweep_id) for sweep_id in ids]

    def recent(self, limit: int = 10) -> list[SweepView]:
        """Started sweeps (running or ended), newest first; proposals are left out."""
        with self._db.session() as session:
            ids = session.scalars(
                select(Sweep.id)
                .where(Sweep.status.not_in([SweepStatus.DRAFT, SweepStatus.DISCARDED]))
                .order_by(Sweep.id.desc())
                .limit(limit)
            ).all()
        return [self.view(sweep_id) for sweep_id in ids]

    # following the runs

    def _on_update(self, update: RunUpdate) -> None:
        sweep_id = update.run.sweep_id
        if sweep_id is None:
            return
        if isinstance(update.event, EpochEvent):
            self._worker.submit(self._report, sweep_id, update.run, update.event)
        elif update.run.status.is_terminal:
            self._worker.submit(self._advance, sweep_id)
        if not isinstance(update.event, ProgressEvent):  # the table shows epochs, not steps
            self._worker.submit(self._notify, sweep_id)

    def _notify(self, sweep_id: int) -> None:
        sweep = self.view(sweep_id)
        for callback in list(self._subscribers):
            try:
                callback(sweep)
            except Exception:
                log.exception("sweep %s: a subscriber failed", sweep_id)

    def _report(self, sweep_id: int, run: RunView, event: EpochEvent) -> None:
        """Give a search trial its epoch's metric; stop it when the pruner says it is clearly worse."""
        with self._lock:
            sweep = self.view(sweep_id)
            study = self._study(sweep)
            trial = next((t for t in sweep.trials if t.run is not None and t.run.id == run.id), None)
            value = getattr(event, sweep.objective, None)
            if study is None or trial is None or not isinstance(value, int | float):
                return
            if not study.report(trial.number, event.epoch, float(value)) or event.epoch >= event.epochs:
                return
            with self._db.session() as session:
                row = session.scalars(
                    select(SweepTrial).where(
                        SweepTrial.sweep_id == sweep_id, SweepTrial.number == trial.number
                    )
                ).one()
                row.pruned = True
        log.info(
            "sweep %s: trial %s (run %s) pruned at epoch %s", sweep_id, trial.number, run.id, event.epoch
        )
        with contextlib.suppress(InvalidRunState):  # it ended meanwhile
            self._manager.stop(run.id, sweep.requested_by or "")

    def _advance(self, sweep_id: int) -> None:
        """Tell the study the trials that ended, queue new ones into free places, end a finished sweep."""
        try:
            with self._lock:
                self._advance_locked(sweep_id)
        except Exception:
            log.exception("sweep %s: could not go on; the next update tries again", sweep_id)

    def _advance_locked(self, sweep_id: int) -> None:
        sweep = self.view(sweep_id)
        study = self._study(sweep)
        for trial in sweep.trials:
            # a trial the sweep's Stop ended is not over: Resume takes it up again
            resumable = sweep.status == SweepStatus.STOPPED and trial.stopped
            if trial.run is not None and trial.run.status.is_terminal and not resumable:
                self._record_end(sweep, study, trial)
        sweep = self.view(sweep_id)
        if sweep.status != SweepStatus.RUNNING:
            return
        for trial in sweep.trials:  # asked for before a restart, never queued
            if trial.run is None:
                self._queue_trial(sweep, trial.number, trial.params)
        if study is not None:
            study.abandon_unknown({trial.number for trial in sweep.trials})
        active = sum(1 for t in sweep.trials if t.run is None or not t.run.status.is_terminal)
        asked = len(sweep.trials)
        points = sweep.spec.grid_points() if sweep.spec.kind == "grid" else []
        while active < sweep.parallel and asked < sweep.trials_budget:
            if study is not None:
                number, params = study.ask()
            else:
                number, params = asked, points[asked]
            self._queue_trial(sweep, number, params)
            active += 1
            asked += 1
        if active == 0 and asked >= sweep.trials_budget:
            self._finish(self.view(sweep_id))

    def _record_end(self, sweep: SweepView, study: SearchStudy | None, trial: TrialView) -> None:
        assert trial.run is not None
        with self._db.session() as session:
            row = session.scalars(
                select(SweepTrial).where(SweepTrial.sweep_id == sweep.id, SweepTrial.number == trial.number)
            ).one()
            if row.told:
                return
            value = objective_value(trial.run, sweep.objective)
            row.value = value
            row.told = True
            completed = trial.run.status == RunStatus.COMPLETED
            if study is not None:
                study.tell(trial.number, value if completed else None, pruned=row.pruned)

    def _queue_trial(
        self, sweep: SweepView, number: int, params: dict[str, Any], *, after: int | None = None
    ) -> None:
        """Store the trial, then its run (the start key makes a second try return the same run);
        `after`: the trial's run that a Stop cancelled, queued again."""
        with self._db.session() as session:
            row = session.scalars(
                select(SweepTrial).where(SweepTrial.sweep_id == sweep.id, SweepTrial.number == number)
            ).one_or_none()
            if row is None:
                session.add(SweepTrial(sweep_id=sweep.id, number=number, params=params))
            base = session.get(Sweep, sweep.id)
            assert base is not None
            config = TrainingConfig.model_validate({**base.base_config, **params})
            session_id = base.session_id
        run = self._manager.submit(
            StartRequest(
                config=config,
                requested_by=sweep.requested_by or "",
                start_key=f"sweep-{sweep.id}-trial-{number}" + (f"-after-{after}" if after else ""),
                session_id=session_id,
                slack_channel=sweep.slack_channel,
                slack_thread_ts=sweep.slack_thread_ts,
                sweep_id=sweep.id,
            )
        )
        self._link(sweep.id, number, run.id)

    def _link(self, sweep_id: int, number: int, run_id: int) -> None:
        """The run that trains a trial from now on."""
        with self._db.session() as session:
            row = session.scalars(
                select(SweepTrial).where(SweepTrial.sweep_id == sweep_id, SweepTrial.number == number)
            ).one()
            row.run_id = run_id

    def _finish(self, sweep: SweepView) -> None:
        """Draw the chart, then mark the sweep completed with its best run (so a finished sweep has it)."""
        try:
            chart.draw(sweep, self._epoch_metrics(sweep), self.chart_path(sweep.id))
        except Exception:  # the chart is a bonus: the result is told without it
            log.exception("sweep %s: the chart could not be drawn", sweep.id)
        best = sweep.best
        best_run_id = best.run.id if best is not None and best.run is not None else None
        with self._db.session() as session:
            row = session.get(Sweep, sweep.id)
            assert row is not None
            row.status = SweepStatus.COMPLETED
            row.completed_at = datetime.now(UTC)
            row.best_run_id = best_run_id
        log.info("sweep %s finished; best run %s", sweep.id, best_run_id)

    def chart_path(self, sweep_id: int) -> Path:
        return self._settings.output_root / SWEEPS_FOLDER / str(sweep_id) / chart.CHART_FILE

    def _epoch_metrics(self, sweep: SweepView) -> dict[int, list[float]]:
        """Each trial's objective at every epoch it finished, by trial number."""
        runs = {trial.run.id: trial.number for trial in sweep.trials if trial.run is not None}
        found: dict[int, list[float]] = {number: [] for number in runs.values()}
        with self._db.session() as session:
            rows = session.scalars(
                select(RunEpoch).where(RunEpoch.run_id.in_(runs)).order_by(RunEpoch.run_id, RunEpoch.epoch)
            ).all()
            for row in rows:
                value = getattr(EpochRecord.model_validate(row.metrics or {}), sweep.objective, None)
                if value is not None:
                    found[runs[row.run_id]].append(float(value))
        return found

    def _study(self, sweep: SweepView) -> SearchStudy | None:
        if sweep.spec.kind != "search":
            return None
        if sweep.id not in self._studies:
            from bot.sweeps.study import SearchStudy  # Optuna loads only when a search runs

            folder = self._settings.output_root / SWEEPS_FOLDER / str(sweep.id)
            startup = max(1, min(sweep.parallel, sweep.trials_budget // 2))
            self._studies[sweep.id] = SearchStudy(folder, sweep.id, sweep.spec, startup)
        return self._studies[sweep.id]
