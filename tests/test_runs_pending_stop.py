"""What must hold when the bot restarts or runs twice on one database (SQLite and PostgreSQL): a stop that
was sent but not finished is stored with the run, so a restarted bot finishes it and reports the run as
stopped; two bot processes never start one queued run twice."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from sqlalchemy import select

from bot.runs import RunManager
from bot.runs.store import RunStore
from bot.storage import Database, RunStatus, TrainingRun
from tests.runs_support import Recorder, fake_command, make_request, make_settings, managers
from tests.waiting import process_gone, wait_until

STUBBORN = ("--ignore-sigterm", "--epoch-seconds", "0.1")  # a trainer slow to honour SIGTERM


def _row(db: Database, run_id: int) -> TrainingRun:
    with db.session() as session:
        row = session.scalars(select(TrainingRun).where(TrainingRun.id == run_id)).one()
        session.expunge(row)
        return row


def _stop_then_lose_the_bot(tmp_path: Path, db: Database, created: list[RunManager]) -> int:
    """Start a run, ask for a stop, and shut the bot down before the trainer is stopped (the grace period
    is far away, so only a restarted bot can finish the stop)."""
    settings = make_settings(tmp_path, stop_grace_seconds=600)
    first = RunManager(db, settings, trainer_command=fake_command(*STUBBORN))
    created.append(first)
    first.start()
    run = first.submit(make_request("stop-me", epochs=500))
    wait_until(lambda: first.get(run.id).current_epoch >= 1)
    assert first.stop(run.id, "UADMIN").status == RunStatus.RUNNING
    first.shutdown()
    assert _row(db, run.id).stop_requested_at is not None  # stored, not only in the old bot's memory
    return run.id


def test_a_restarted_bot_finishes_a_pending_stop_and_reports_it(tmp_path: Path, db: Database) -> None:
    with managers(db) as created:
        run_id = _stop_then_lose_the_bot(tmp_path, db, created)
        pid = _row(db, run_id).pid
        assert pid is not None

        settings = make_settings(tmp_path, stop_grace_seconds=0.5)
        second = RunManager(db, settings, trainer_command=fake_command())
        created.append(second)
        updates = Recorder()
        second.subscribe(updates)
        second.start()
        stopped = wait_until(lambda: (view := second.get(run_id)).status == RunStatus.STOPPED and view)
        # the update is published just after the row changes: wait for it before shutting down
        wait_until(lambda: any(u.run.status == RunStatus.STOPPED for u in updates.for_run(run_id)))

    assert stopped.current_epoch >= 1
    assert second.active_runs() == []
    wait_until(lambda: process_gone(pid), timeout=5, what=f"trainer {pid} gone")


def test_a_stopping_trainer_that_died_while_the_bot_was_down_is_stopped_not_interrupted(
    tmp_path: Path, db: Database
) -> None:
    with managers(db) as created:
        run_id = _stop_then_lose_the_bot(tmp_path, db, created)
        pid = _row(db, run_id).pid
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)
        wait_until(lambda: process_gone(pid), timeout=5, what=f"trainer {pid} gone")

        second = RunManager(db, make_settings(tmp_path), trainer_command=fake_command())
        created.append(second)
        second.start()
        run = second.get(run_id)

    assert run.status == RunStatus.STOPPED
    assert run.error_message is None


def test_two_bot_processes_claiming_at_once_start_each_queued_run_once(
    tmp_path: Path, database_url: str
) -> None:
    """Two stores on their own engines, as two bot processes on one database would be, race to claim."""
    databases = [Database(database_url) for _ in range(2)]
    databases[0].create_all()
    stores = [RunStore(database, tmp_path / "outputs") for database in databases]
    for index in range(3):
        stores[0].create(make_request(f"race-{index}"), RunStatus.QUEUED, scheduled_for=None)
    start = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]

    def claim(which: int) -> None:
        start.wait()
        for _ in range(20):
            claims = stores[which].claim_queued(slots=3, holding=[], pick_gpu=lambda in_use, count: None)
            claimed[which].extend(claim.run_id for claim in claims)

    threads = [threading.Thread(target=claim, args=(which,)) for which in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for database in databases:
        database.dispose()
    every = claimed[0] + claimed[1]
    assert sorted(every) == sorted(set(every)) and len(every) == 3  # each run once, none left queued
