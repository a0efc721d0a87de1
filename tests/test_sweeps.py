"""Sweeps on the run manager with the fake trainer: a grid two at a time, a search whose pruner stops a
clearly worse trial (Optuna, real), and a bot restart mid-sweep with no trial run twice."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import optuna
import pytest
from sqlalchemy import select

from bot.runs import RunManager
from bot.runs.views import view_of
from bot.storage import Database, RunStatus, SweepStatus, TrainingRun
from bot.sweeps import present
from bot.sweeps.controller import SweepController
from bot.sweeps.parse import parse_sweep
from bot.sweeps.spec import checked
from bot.sweeps.study import JOURNAL_FILE
from bot.sweeps.views import SweepView
from tests.imagegen import make_image_folder
from tests.runs_support import fake_command, finished_sweep, make_settings, managers
from tests.waiting import wait_until
from training.config import TrainingConfig

BASE = TrainingConfig(dataset_path="/data/shapes", model="resnet18", epochs=3, pretrained=False)


class Bot:
    """A run manager with the fake trainer and a sweep controller, as the bot composes them."""

    def __init__(
        self, db: Database, tmp_path: Path, created: list[RunManager], *flags: str, **settings: object
    ) -> None:
        self.settings = make_settings(tmp_path, **settings)
        command = fake_command("--acc-by-lr", "--epoch-seconds", "0.15", *flags)
        self.manager = RunManager(db, self.settings, trainer_command=command)
        created.append(self.manager)
        self.sweeps = SweepController(db, self.manager, self.settings)
        self.manager.start()
        self.sweeps.start()

    def close(self) -> None:
        self.sweeps.close()
        self.manager.shutdown(wait=True)


def sweep_runs(db: Database, sweep_id: int) -> list[TrainingRun]:
    with db.session() as session:
        rows = session.scalars(select(TrainingRun).where(TrainingRun.sweep_id == sweep_id)).all()
        session.expunge_all()
        return list(rows)


def finished(bot: Bot, sweep_id: int) -> bool:
    return bot.sweeps.view(sweep_id).status == SweepStatus.COMPLETED


def stop_after_epoch(bot: Bot, db: Database, sweep_id: int, epoch: int) -> None:
    """Stop the sweep once its first trial has trained `epoch` epochs; wait until its trials have ended."""
    wait_until(lambda: bot.manager.get(sweep_runs(db, sweep_id)[0].id).current_epoch >= epoch)
    bot.sweeps.stop(sweep_id, "UOWNER")
    wait_until(lambda: all(run.status.is_terminal for run in map(view_of, sweep_runs(db, sweep_id))))


def most_at_once(runs: list[TrainingRun]) -> int:
    moments = sorted(
        [(run.started_at, 1) for run in runs if run.started_at]
        + [(run.completed_at, -1) for run in runs if run.completed_at]
    )
    running = most = 0
    for _, change in moments:
        running += change
        most = max(most, running)
    return most


def test_a_grid_of_three_learning_rates_runs_two_at_a_time_and_names_the_best(
    tmp_path: Path, db: Database
) -> None:
    spec = checked(parse_sweep("lr 1e-3, 3e-3 and 1e-2") or pytest.fail("not read as a sweep"), 12)
    with managers(db) as created:
        bot = Bot(db, tmp_path, created, max_concurrent_runs=2)
        sweep = bot.sweeps.create(spec, BASE, "UOWNER", slack_channel="C1", slack_thread_ts="1.1")
        assert sweep.parallel == 2
        wait_until(lambda: finished(bot, sweep.id), timeout=60)
        view: SweepView = bot.sweeps.view(sweep.id)
        bot.close()

    runs = sweep_runs(db, sweep.id)
    assert sorted(run.config["learning_rate"] for run in runs) == [1e-3, 3e-3, 1e-2]
    assert all(run.status == RunStatus.COMPLETED for run in runs)
    assert most_at_once(runs) == 2
    # the best is the run whose own accuracy is highest
    best_run = max(runs, key=lambda run: run.metrics["best_val_acc"])
    assert view.best_run_id == best_run.id and best_run.config["learning_rate"] == 1e-2
    assert view.best is not None and view.best.value == best_run.metrics["best_val_acc"]
    assert [trial.params for trial in view.trials] == [
        {"learning_rate": 1e-3},
        {"learning_rate": 3e-3},
        {"learning_rate": 1e-2},
    ]
    folder = tmp_path / "outputs" / "sweeps" / str(sweep.id)
    assert not (folder / JOURNAL_FILE).exists()  # a grid needs no study
    assert view.chart == str(folder / "sweep.png") and (folder / "sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_a_search_prunes_a_clearly_worse_trial(tmp_path: Path, sqlite_db: Database) -> None:
    spec = checked(
        parse_sweep("find a good learning rate between 1e-5 and 1e-2 in 4 trials") or pytest.fail(), 12
    )
    base = BASE.model_copy(update={"epochs": 4})
    with managers(sqlite_db) as created:
        bot = Bot(sqlite_db, tmp_path, created, sweep_parallel=1)
        sweep = bot.sweeps.create(spec, base, "UOWNER")
        wait_until(lambda: finished(bot, sweep.id), timeout=60)
        view = bot.sweeps.view(sweep.id)
        bot.close()

    assert len(view.trials) == 4
    pruned = [trial for trial in view.trials if trial.pruned]
    assert pruned, [(t.params, t.value) for t in view.trials]
    assert view.best is not None and view.best.run is not None
    for trial in pruned:
        assert trial.run is not None and trial.run.status == RunStatus.STOPPED
        assert trial.run.current_epoch < base.epochs  # stopped at an epoch boundary before the end
        assert trial.params["learning_rate"] < view.best.params["learning_rate"]
    # the study in Optuna's own journal file says the same
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(
            str(tmp_path / "outputs" / "sweeps" / str(sweep.id) / JOURNAL_FILE)
        )
    )
    study = optuna.load_study(study_name=f"sweep-{sweep.id}", storage=storage)
    states = {trial.number: trial.state for trial in study.trials}
    assert {n for n, s in states.items() if s == optuna.trial.TrialState.PRUNED} == {t.number for t in pruned}
    assert study.best_value == view.best.value


def test_a_restart_mid_sweep_finishes_it_with_no_trial_run_twice(tmp_path: Path, sqlite_db: Database) -> None:
    spec = checked(parse_sweep("learning rates 0.001, 0.003 and 0.01") or pytest.fail(), 12)
    with managers(sqlite_db) as created:
        first = Bot(sqlite_db, tmp_path, created, sweep_parallel=1)
        sweep = first.sweeps.create(spec, BASE, "UOWNER")
        wait_until(lambda: any(run.status == RunStatus.RUNNING for run in sweep_runs(sqlite_db, sweep.id)))
        first.close()  # the trainer goes on; the next bot re-attaches to it
        second = Bot(sqlite_db, tmp_path, created, sweep_parallel=1)
        wait_until(lambda: finished(second, sweep.id), timeout=60)
        view = second.sweeps.view(sweep.id)
        second.close()

    runs = sweep_runs(sqlite_db, sweep.id)
    assert len(runs) == 3
    assert sorted(run.config["learning_rate"] for run in runs) == [1e-3, 3e-3, 1e-2]
    assert all(run.status == RunStatus.COMPLETED for run in runs)
    assert view.best is not None and view.best.params == {"learning_rate": 1e-2}


def test_a_crashed_trial_is_a_failed_row_and_the_sweep_goes_on(tmp_path: Path, sqlite_db: Database) -> None:
    spec = checked(parse_sweep("lr 1e-2 or 1e-3") or pytest.fail("not read as a sweep"), 12)
    with managers(sqlite_db) as created:
        bot = Bot(sqlite_db, tmp_path, created, "--crash-at-lr", "0.01", sweep_parallel=1)
        sweep = bot.sweeps.create(spec, BASE, "UOWNER")
        wait_until(lambda: finished(bot, sweep.id), timeout=60)
        view = bot.sweeps.view(sweep.id)
        bot.close()

    crashed, survived = view.trials
    assert crashed.run is not None and crashed.run.status == RunStatus.FAILED
    assert survived.run is not None and survived.run.status == RunStatus.COMPLETED
    # the crash's one epoch scored higher than the survivor's result: a completed trial wins all the same
    assert (crashed.value or 0) > (survived.value or 0)
    assert view.best is not None and view.best.number == survived.number
    assert view.best_run_id == survived.run.id
    rows = present.table("en", view).splitlines()[1:]
    assert "❌ failed:" in rows[0] and "🏆" in rows[1] and "10.0%" in rows[1]


def test_a_real_trainer_sweep_reuses_the_decoded_cache_and_names_its_best(tmp_path: Path) -> None:
    dataset = make_image_folder(tmp_path / "data" / "shapes", per_class=8)
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    db.create_all()
    base = TrainingConfig(
        dataset_path=str(dataset), model="resnet18", epochs=1, image_size=32, batch_size=8, pretrained=False
    )
    spec = checked(parse_sweep("lr 1e-3 or 1e-2") or pytest.fail("not read as a sweep"), 12)
    command = [sys.executable, "-m", "training", "--device", "cpu", "--workers", "1"]
    view = finished_sweep(db, make_settings(tmp_path, sweep_parallel=1), spec, base, command, 180)

    runs = [trial.run for trial in view.trials if trial.run is not None]
    assert [run.status for run in runs] == [RunStatus.COMPLETED, RunStatus.COMPLETED]
    # the second trial read the images the first one decoded
    assert [run.metrics["data"]["images_from"] for run in runs] == ["cache_built", "cache_hit"]
    best = max(runs, key=lambda run: run.metrics["best_val_acc"])
    assert view.best is not None and view.best.value == best.metrics["best_val_acc"]
    winner = next(run for run in runs if run.id == view.best_run_id)
    assert Path(winner.figures.artifacts["model"]).is_file()


def test_stop_stops_the_running_trial_and_cancels_the_queued_and_resume_finishes_the_sweep(
    tmp_path: Path, sqlite_db: Database
) -> None:
    spec = checked(parse_sweep("batch 8, 16 and 32") or pytest.fail("not read as a sweep"), 12)
    base = BASE.model_copy(update={"epochs": 8})
    with managers(sqlite_db) as created:
        bot = Bot(sqlite_db, tmp_path, created, max_concurrent_runs=1, sweep_parallel=2)
        sweep = bot.sweeps.create(spec, base, "UOWNER")
        stop_after_epoch(bot, sqlite_db, sweep.id, 2)
        stopped = bot.sweeps.view(sweep.id)
        resumed = bot.sweeps.resume(sweep.id)
        assert bot.sweeps.resume(sweep.id) is None  # a second click resumes nothing more
        wait_until(lambda: finished(bot, sweep.id), timeout=60)
        view = bot.sweeps.view(sweep.id)
        bot.close()

    assert stopped.status == SweepStatus.STOPPED and len(stopped.trials) == 2  # the third never queued
    first, cancelled = stopped.trials
    assert [t.run.status for t in stopped.trials if t.run] == [RunStatus.STOPPED, RunStatus.STOPPED]
    assert first.run is not None and first.run.checkpoint_path is not None  # it trained: a checkpoint
    assert 2 <= first.run.current_epoch < base.epochs  # stopped at an epoch boundary before the end
    assert cancelled.run is not None and cancelled.run.checkpoint_path is None  # never started
    assert resumed is not None and resumed.status == SweepStatus.RUNNING
    assert [trial.number for trial in view.trials] == [0, 1, 2]  # no trial twice, the third queued after
    assert all(t.run is not None and t.run.status == RunStatus.COMPLETED for t in view.trials)
    runs = {run.id: run for run in sweep_runs(sqlite_db, sweep.id)}
    assert len(runs) == 5  # the two the Stop ended, then the three that finished
    went_on = runs[view.trials[0].run.id]  # type: ignore[union-attr]
    assert went_on.resume_of == first.run.id  # from the stopped trial's checkpoint
    seen = json.loads((Path(went_on.output_dir or "") / "seen.json").read_text())
    assert "--resume" in seen["argv"]
    again = runs[view.trials[1].run.id]  # type: ignore[union-attr]
    assert again.resume_of is None and again.id != cancelled.run.id  # queued again, from the start
    assert view.best is not None and view.best_run_id == view.best.run.id  # type: ignore[union-attr]


def test_a_stopped_search_resumes_with_no_trial_number_twice(tmp_path: Path, sqlite_db: Database) -> None:
    spec = checked(
        parse_sweep("find a good learning rate between 1e-5 and 1e-2 in 4 trials") or pytest.fail(), 12
    )
    base = BASE.model_copy(update={"epochs": 6})
    with managers(sqlite_db) as created:
        bot = Bot(sqlite_db, tmp_path, created, max_concurrent_runs=1, sweep_parallel=2)
        sweep = bot.sweeps.create(spec, base, "UOWNER")
        stop_after_epoch(bot, sqlite_db, sweep.id, 1)
        asked_before = [trial.params for trial in bot.sweeps.view(sweep.id).trials]
        assert bot.sweeps.resume(sweep.id) is not None
        wait_until(lambda: finished(bot, sweep.id), timeout=60)
        view = bot.sweeps.view(sweep.id)
        bot.close()

    assert len(asked_before) == 2
    assert [trial.number for trial in view.trials] == [0, 1, 2, 3]
    assert [trial.params for trial in view.trials[:2]] == asked_before  # the same trials went on
    assert all(trial.run is not None and trial.run.status.is_terminal for trial in view.trials)
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(
            str(tmp_path / "outputs" / "sweeps" / str(sweep.id) / JOURNAL_FILE)
        )
    )
    study = optuna.load_study(study_name=f"sweep-{sweep.id}", storage=storage)
    assert sorted(trial.number for trial in study.trials) == [0, 1, 2, 3]  # Optuna asked 4 times in all
    # the study was told each trial's real end: the resumed ones' too, not the Stop's
    states = {trial.number: (trial.state, trial.value) for trial in study.trials}
    for trial in view.trials:
        assert trial.run is not None
        if trial.pruned:
            assert states[trial.number][0] == optuna.trial.TrialState.PRUNED
        else:
            assert trial.run.status == RunStatus.COMPLETED
            assert states[trial.number] == (optuna.trial.TrialState.COMPLETE, trial.value)
    assert study.best_value == view.best.value  # type: ignore[union-attr]
