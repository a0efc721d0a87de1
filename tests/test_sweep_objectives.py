"""What "best" means in a sweep, run end to end with the fake trainer: a loss is best when lowest (the
winner, the table's mark, the result, Optuna's study and its pruner), and a detection sweep proposed in
the conversation picks its winner by mAP@.50."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from sqlalchemy import select

from bot.actions import Thread
from bot.actions.sweeps import SweepActions, SweepStarted
from bot.conversation import ConversationService
from bot.policy import Actor, Policy
from bot.runs import RunManager
from bot.storage import Database, RunStatus, SweepStatus, TrainingRun
from bot.sweeps import present
from bot.sweeps.controller import SweepController
from bot.sweeps.parse import parse_sweep
from bot.sweeps.spec import checked
from bot.sweeps.study import JOURNAL_FILE
from tests.detection_datasets import write_yolo
from tests.runs_support import fake_command, finished_sweep, make_settings, managers
from tests.waiting import wait_until
from training.config import TrainingConfig

BASE = TrainingConfig(dataset_path="/data/shapes", model="resnet18", epochs=2, pretrained=False)


def sweep_runs(db: Database, sweep_id: int) -> list[TrainingRun]:
    with db.session() as session:
        rows = session.scalars(select(TrainingRun).where(TrainingRun.sweep_id == sweep_id)).all()
        session.expunge_all()
        return list(rows)


def test_a_grid_by_the_lowest_val_loss_keeps_the_trial_whose_loss_is_lowest(
    tmp_path: Path, db: Database
) -> None:
    asked = parse_sweep("lr 1e-3, 3e-3 and 1e-2, keep the one with the lowest val loss")
    spec = checked(asked or pytest.fail("not read as a sweep"), 12)
    settings = make_settings(tmp_path, max_concurrent_runs=2)
    view = finished_sweep(db, settings, spec, BASE, fake_command("--acc-by-lr", "--epoch-seconds", "0.1"), 60)

    runs = sweep_runs(db, view.id)
    assert view.objective == "val_loss" and all(run.status == RunStatus.COMPLETED for run in runs)
    # checked against the runs' own figures: the lowest loss wins, though it is not the largest number
    lowest = min(runs, key=lambda run: run.metrics["val_loss"])
    assert view.best_run_id == lowest.id and lowest.config["learning_rate"] == 1e-2
    assert view.best is not None and view.best.value == lowest.metrics["val_loss"] == 0.5
    rows = present.table("en", view).splitlines()
    assert rows[0].endswith("by validation loss")
    assert rows[3] == "🏆 #3 learning rate 0.01 · ✅ Completed · epoch 2/2 · 0.5"  # a loss, not a percentage
    assert "🏆" not in rows[1] + rows[2] and rows[1].endswith("· 0.95")
    assert "validation loss *0.5*" in present.result("en", view)


def test_a_search_by_val_loss_minimises_it_in_optuna(tmp_path: Path, sqlite_db: Database) -> None:
    db = sqlite_db
    asked = parse_sweep("find a good learning rate between 1e-5 and 1e-2 in 4 trials, minimise the val loss")
    spec = checked(asked or pytest.fail("not read as a sweep"), 12)
    base = BASE.model_copy(update={"epochs": 4})
    settings = make_settings(tmp_path, sweep_parallel=1)
    view = finished_sweep(db, settings, spec, base, fake_command("--acc-by-lr", "--epoch-seconds", "0.1"), 90)

    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(
            str(tmp_path / "outputs" / "sweeps" / str(view.id) / JOURNAL_FILE)
        )
    )
    study = optuna.load_study(study_name=f"sweep-{view.id}", storage=storage)
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    completed = [trial for trial in view.trials if not trial.pruned and trial.value is not None]
    assert view.best is not None and view.best.value == min(trial.value or 0 for trial in completed)
    assert study.best_value == view.best.value
    # a pruned trial was clearly worse: a higher loss, from a lower learning rate
    for trial in (trial for trial in view.trials if trial.pruned):
        assert trial.params["learning_rate"] < view.best.params["learning_rate"]


def test_a_detection_sweep_from_the_conversation_picks_its_winner_by_map(
    tmp_path: Path, sqlite_db: Database
) -> None:
    db = sqlite_db
    write_yolo(tmp_path / "data" / "parts", n_images=8, size=48, negatives=1)
    settings = make_settings(tmp_path, max_concurrent_runs=2)
    conversation = ConversationService(db, settings, "rules")
    where, who = Thread("T1", "C1", "1.1"), Actor("U1", "C1")
    with managers(db) as created:
        manager = RunManager(
            db, settings, trainer_command=fake_command("--acc-by-lr", "--epoch-seconds", "0.1")
        )
        created.append(manager)
        actions = SweepActions(
            settings, Policy(settings), conversation, SweepController(db, manager, settings)
        )
        manager.start()
        conversation.handle_message(
            team_id="T1",
            channel_id="C1",
            thread_ts="1.1",
            user_id="U1",
            text="detect bolts, dataset parts, 2 epochs",
        )
        turn = conversation.handle_message(
            team_id="T1", channel_id="C1", thread_ts="1.1", user_id="U1", text="lr 1e-3 or 1e-2"
        )
        proposed = actions.propose(where, turn)
        assert proposed is not None and proposed.sweep.objective == "val_map50"
        assert "Best trial by *validation mAP@.50*" in proposed.text
        started = actions.handle_text(who, where, "start sweep")
        assert isinstance(started, SweepStarted)
        wait_until(
            lambda: actions.controller.view(started.sweep.id).status == SweepStatus.COMPLETED, timeout=60
        )
        view = actions.controller.view(started.sweep.id)
        actions.controller.close()

    runs = sweep_runs(db, view.id)
    assert [run.config["task"] for run in runs] == ["detection", "detection"]
    assert all(run.status == RunStatus.COMPLETED for run in runs)
    best = max(runs, key=lambda run: run.metrics["best_val_map50"])  # the runs' own mAP@.50
    assert view.best_run_id == best.id and best.config["learning_rate"] == 1e-2
    assert view.best is not None and view.best.value == best.metrics["best_val_map50"] == 1.0
    assert "validation mAP@.50 *100.0%*" in present.result("en", view)
