"""The run manager against a fake trainer: queue, duplicates, stop, resume, failures, watchdog,
restart recovery and scheduled starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.policy import Policy
from bot.runs import InvalidRunState, NotAllowed, RunManager, RunNotFound
from bot.runs.follower import EventTail, RunFollower
from bot.runs.process import TrainerProcess
from bot.settings import Settings
from bot.slack import render
from bot.storage import Database, RunEpoch, RunStatus, TrainingRun
from tests.runs_support import Recorder, fake_command, make_request, make_settings, managers
from tests.waiting import process_gone, wait_until
from training.contract import EVENTS_FILE
from training.events import StoppedEvent


@pytest.fixture
def started(db: Database):
    """started(settings, *trainer flags, **manager kwargs) -> a started RunManager, shut down afterwards."""
    with managers(db) as created:

        def start(settings: Settings, *flags: str, **kwargs: object) -> RunManager:
            manager = RunManager(db, settings, trainer_command=fake_command(*flags), **kwargs)  # type: ignore[arg-type]
            created.append(manager)
            manager.start()
            return manager

        yield start


def epochs_recorded(db: Database, run_id: int) -> list[int]:
    with db.session() as session:
        return list(
            session.scalars(select(RunEpoch.epoch).where(RunEpoch.run_id == run_id).order_by(RunEpoch.epoch))
        )


def seen_by_trainer(manager: RunManager, run_id: int) -> dict:
    return json.loads((Path(manager.get(run_id).output_dir or "") / "seen.json").read_text())


def status_is(manager: RunManager, run_id: int, status: RunStatus):
    return lambda: manager.get(run_id).status == status


def test_queue_respects_the_limit_order_and_gpus(
    tmp_path: Path, started, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    release = tmp_path / "release"  # the first runs train only once all four are submitted
    settings = make_settings(tmp_path, max_concurrent_runs=2)
    manager = started(settings, "--epoch-seconds", "0.3", "--hold-until", str(release))
    recorder = Recorder()
    manager.subscribe(recorder)

    # the second run is longer, so the two slots free up one after the other and run 4 is first in line
    # for a while (two slots freed at once would start runs 3 and 4 together)
    epochs = [2, 6, 2, 2]
    runs = [manager.submit(make_request(f"k{n}", epochs=e)) for n, e in enumerate(epochs)]

    assert [run.status for run in runs] == [
        RunStatus.RUNNING,
        RunStatus.RUNNING,
        RunStatus.QUEUED,
        RunStatus.QUEUED,
    ]
    assert [run.queue_position for run in runs] == [None, None, 1, 2]
    release.touch()
    for run in runs:
        wait_until(status_is(manager, run.id, RunStatus.COMPLETED))
    finished = [manager.get(run.id) for run in runs]
    # at most two at once, and the queued ones start in order, each when a slot frees up
    for later in finished[2:]:
        assert later.started_at is not None
        overlapping = [
            r for r in finished if r.id != later.id and r.started_at <= later.started_at < r.completed_at
        ]
        assert len(overlapping) <= 1
    assert finished[2].started_at <= finished[3].started_at
    gpus = [seen_by_trainer(manager, run.id)["cuda_visible_devices"] for run in runs]
    assert sorted(gpus[:2]) == ["0", "1"]
    assert set(gpus) == {"0", "1"}
    assert [epochs_recorded(db, run.id) for run in runs] == [list(range(1, e + 1)) for e in epochs]
    # the position of run 4 moved from 2 to 1 when run 3 started
    positions = [
        u.run.queue_position for u in recorder.for_run(runs[3].id) if u.run.status == RunStatus.QUEUED
    ]
    assert 1 in positions


def test_repeated_start_requests_create_one_run(tmp_path: Path, started, db: Database) -> None:
    manager = started(make_settings(tmp_path), "--epoch-seconds", "0.05")
    results: list[int] = []

    def click() -> None:
        results.append(manager.submit(make_request("same-key", epochs=1)).id)

    threads = [threading.Thread(target=click) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.append(manager.submit(make_request("same-key", epochs=1)).id)

    assert len(set(results)) == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(TrainingRun)) == 1
    wait_until(status_is(manager, results[0], RunStatus.COMPLETED))


def test_only_owner_or_admin_can_stop_and_a_stopped_run_resumes(
    tmp_path: Path, started, db: Database
) -> None:
    manager = started(make_settings(tmp_path), "--epoch-seconds", "0.1")
    running = manager.submit(make_request("long", epochs=40))
    queued = manager.submit(make_request("queued", epochs=2))
    wait_until(lambda: manager.get(running.id).current_epoch >= 2)

    with pytest.raises(NotAllowed):
        manager.stop(running.id, "USTRANGER")
    assert manager.stop(queued.id, "UADMIN").status == RunStatus.STOPPED  # queued: just marked stopped
    manager.stop(running.id, "UOWNER")
    stopped = wait_until(lambda: (run := manager.get(running.id)).status == RunStatus.STOPPED and run)

    assert 2 <= stopped.current_epoch < 40
    assert stopped.checkpoint_path is not None
    assert epochs_recorded(db, running.id) == list(range(1, stopped.current_epoch + 1))
    assert manager.get(queued.id).started_at is None  # the stopped queued run never launched
    with pytest.raises(InvalidRunState):
        manager.stop(running.id, "UOWNER")
    with pytest.raises(RunNotFound):
        manager.stop(9999, "UOWNER")

    resumed = manager.resume(running.id, "UOWNER")
    assert manager.resume(running.id, "UOWNER").id == resumed.id  # a double click resumes once
    done = wait_until(lambda: (run := manager.get(resumed.id)).status == RunStatus.COMPLETED and run)

    assert "--resume" in seen_by_trainer(manager, resumed.id)["argv"]
    assert epochs_recorded(db, resumed.id) == list(range(stopped.current_epoch + 1, 41))
    assert done.current_epoch == 40 and done.figures.artifacts["model"].endswith("model.safetensors")
    with db.session() as session:
        assert session.get_one(TrainingRun, resumed.id).resume_of == running.id
    with pytest.raises(InvalidRunState):
        manager.resume(resumed.id, "UOWNER")  # completed runs are not resumable


def test_a_killed_trainer_fails_with_its_stderr_tail(tmp_path: Path, started, db: Database) -> None:
    manager = started(make_settings(tmp_path), "--epoch-seconds", "0.1")
    recorder = Recorder()
    manager.subscribe(recorder)
    run = manager.submit(make_request("killed", epochs=50))
    wait_until(lambda: manager.get(run.id).current_epoch >= 1)

    os.killpg(_pid(db, run.id), signal.SIGKILL)
    failed = wait_until(lambda: (view := manager.get(run.id)).status == RunStatus.FAILED and view)

    with db.session() as session:
        detail = session.get_one(TrainingRun, run.id).error_detail or ""
    assert "exit code -9" in detail and "fake trainer: epoch 1 done" in detail
    assert failed.error_message == "killed"  # a reason code, worded by the front ends
    assert failed.checkpoint_path is not None  # it can be resumed
    wait_until(
        lambda: any(u.run.status == RunStatus.FAILED and u.event is None for u in recorder.for_run(run.id))
    )


def _pid(db: Database, run_id: int) -> int:
    with db.session() as session:
        pid = session.get_one(TrainingRun, run_id).pid
    assert pid is not None
    return pid


@pytest.mark.parametrize(
    ("flags", "advice", "detail"),
    [
        (("--mode", "crash"), "internal", "RuntimeError: fake trainer crashed"),
        (("--mode", "error", "--error-kind", "out_of_memory"), "out_of_memory", "raw detail"),
        (("--mode", "error", "--error-kind", "dataset"), "dataset", "raw detail"),
    ],
)
def test_failures_get_a_reason_code_and_keep_the_raw_detail(
    tmp_path: Path, started, db: Database, flags: tuple[str, ...], advice: str, detail: str
) -> None:
    manager = started(make_settings(tmp_path), *flags)
    run = manager.submit(make_request("fails", epochs=3))
    failed = wait_until(lambda: (view := manager.get(run.id)).status == RunStatus.FAILED and view)
    assert failed.error_message == advice
    assert failed.error_line == detail  # the trainer's own last line, shown to English threads
    with db.session() as session:
        assert detail in (session.get_one(TrainingRun, run.id).error_detail or "")


def test_malformed_lines_and_a_failing_subscriber_are_not_fatal(
    tmp_path: Path, started, db: Database
) -> None:
    manager = started(make_settings(tmp_path), "--mode", "malformed", "--epoch-seconds", "0.05")

    def broken_subscriber(_update: object) -> None:
        raise RuntimeError("subscriber bug")

    manager.subscribe(broken_subscriber)
    recorder = Recorder()
    manager.subscribe(recorder)
    run = manager.submit(make_request("messy", epochs=3))
    wait_until(status_is(manager, run.id, RunStatus.COMPLETED))

    assert epochs_recorded(db, run.id) == [1, 2, 3]
    with db.session() as session:
        row = session.get_one(TrainingRun, run.id)
        assert row.events_offset == (Path(row.output_dir or "") / "events.jsonl").stat().st_size
    event_types = [u.event.type for u in recorder.for_run(run.id) if u.event is not None]
    wait_until(lambda: "done" in [u.event.type for u in recorder.for_run(run.id) if u.event is not None])
    assert event_types.count("epoch") == 3


def test_watchdog_flags_a_stalled_run_and_fails_an_orphaned_dead_one(
    tmp_path: Path, started, db: Database
) -> None:
    settings = make_settings(tmp_path, stall_seconds=0.5, max_concurrent_runs=2)
    manager = started(settings, "--mode", "hang", watchdog_interval=0.2)
    recorder = Recorder()
    manager.subscribe(recorder)
    hung = manager.submit(make_request("hang", epochs=3))
    wait_until(lambda: any(u.run.stalled for u in recorder.for_run(hung.id)), timeout=10)
    assert manager.get(hung.id).stalled

    # a running row whose trainer is gone and that no follower watches (e.g. a follower crashed)
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan_dir = tmp_path / "orphan"
    orphan_dir.mkdir()
    (orphan_dir / "stderr.log").write_text("CUDA error: out of memory\n")
    with db.session() as session:
        orphan = TrainingRun(config={}, status=RunStatus.RUNNING, pid=dead.pid, output_dir=str(orphan_dir))
        session.add(orphan)
        session.flush()
        orphan_id = orphan.id
    failed = wait_until(
        lambda: (view := manager.get(orphan_id)).status == RunStatus.FAILED and view, timeout=10
    )
    assert failed.error_message == "out_of_memory"

    manager.stop(hung.id, "UOWNER")
    stopped = wait_until(lambda: (view := manager.get(hung.id)).status == RunStatus.STOPPED and view)
    assert stopped.current_epoch == 0 and stopped.checkpoint_path is None


def test_a_restarted_bot_reattaches_and_records_every_epoch(tmp_path: Path, db: Database) -> None:
    settings = make_settings(tmp_path)
    with managers(db) as created:
        first = RunManager(db, settings, trainer_command=fake_command("--epoch-seconds", "0.15"))
        created.append(first)
        first.start()
        run = first.submit(make_request("survivor", epochs=8))
        wait_until(lambda: first.get(run.id).current_epoch >= 1)
        first.shutdown()
        pid = _pid(db, run.id)
        seen = first.get(run.id).current_epoch
        events = Path(str(first.get(run.id).output_dir)) / EVENTS_FILE
        # epochs finish while no bot is watching
        wait_until(
            lambda: events.read_text().count('"type":"epoch"') >= seen + 2, what="two unwatched epochs"
        )

        second = RunManager(db, settings, trainer_command=fake_command("--epoch-seconds", "0.15"))
        created.append(second)
        second.start()
        assert second.get(run.id).status == RunStatus.RUNNING
        done = wait_until(lambda: (view := second.get(run.id)).status == RunStatus.COMPLETED and view)

    assert _pid(db, run.id) == pid  # the same trainer, not a relaunch
    assert done.current_epoch == 8
    assert epochs_recorded(db, run.id) == list(range(1, 9))


def test_a_trainer_that_died_while_the_bot_was_down_is_interrupted(tmp_path: Path, db: Database) -> None:
    settings = make_settings(tmp_path)
    with managers(db) as created:
        first = RunManager(db, settings, trainer_command=fake_command("--epoch-seconds", "0.1"))
        created.append(first)
        first.start()
        run = first.submit(make_request("lost", epochs=50))
        queued = first.submit(make_request("waiting", epochs=1))
        wait_until(lambda: first.get(run.id).current_epoch >= 2)
        first.shutdown()
        os.killpg(_pid(db, run.id), signal.SIGKILL)
        wait_until(lambda: process_gone(_pid(db, run.id)), what="the killed trainer gone")

        second = RunManager(db, settings, trainer_command=fake_command("--epoch-seconds", "0.05"))
        created.append(second)
        second.start()
        interrupted = second.get(run.id)
        assert interrupted.status == RunStatus.INTERRUPTED
        assert interrupted.checkpoint_path is not None
        assert epochs_recorded(db, run.id) == list(range(1, interrupted.current_epoch + 1))
        # the queued run is picked up again by the new manager
        wait_until(status_is(second, queued.id, RunStatus.COMPLETED))


def test_who_may_stop_or_cancel_a_run_is_the_policys_decision(tmp_path: Path, started) -> None:
    """The manager asks the policy it is given: the console's local user, an admin of the console's
    policy, may cancel anyone's run there; a manager with the settings' own policy refuses them."""
    settings = make_settings(tmp_path)
    console = started(settings, policy=Policy(settings, admins=frozenset({"ULOCAL"})))
    later = datetime.now(UTC) + timedelta(hours=5)
    theirs = console.schedule(make_request("theirs", epochs=1), later)
    with pytest.raises(NotAllowed) as refused:
        started(settings).cancel_scheduled(theirs.id, "ULOCAL")
    assert refused.value.code == "not_allowed" and refused.value.values == {"run_id": theirs.id}
    with pytest.raises(NotAllowed):
        console.stop(theirs.id, "USTRANGER")
    assert console.stop(theirs.id, "ULOCAL").status == RunStatus.STOPPED


def test_a_stored_row_that_no_longer_validates_still_lists_and_renders(
    tmp_path: Path, started, db: Database
) -> None:
    """Rows are validated when written; one written before (or by hand) is still read: its values of the
    right type as stored (a stray model name shown escaped), the rest defaults; never a crash."""
    odd = {"model": "<!channel>", "epochs": 0, "gpus": "two", "task": "detection"}
    with db.session() as session:
        session.add(TrainingRun(config={}, status=RunStatus.COMPLETED, start_key="old-empty"))
        session.add(TrainingRun(config=odd, status=RunStatus.STOPPED, start_key="old-odd", total_epochs=5))
    manager = started(make_settings(tmp_path))

    empty, stray = sorted(manager.recent_runs(), key=lambda run: run.id)
    assert empty.model == "resnet50" and empty.task == "classification"
    assert empty.config.model_fields_set == set()  # nothing was stored
    assert stray.detects and stray.config.gpus == 1 and stray.config.image_size == 640  # a detector's default
    kept = stray.config.model_dump(exclude_unset=True)
    assert kept == {"model": "<!channel>", "epochs": 0, "task": "detection"}
    for run in (empty, stray):
        messages = (render.progress_message(run, "en"), render.ending_message(run, "en"))
        blocks = [block.to_dict() for message in messages for block in message.blocks]
        shown = json.dumps([render.home_view("en", [run], [], "now"), *blocks])
        assert f"#{run.id}" in shown and "<!channel>" not in shown
    assert "&lt;!channel&gt;" in shown


def test_a_scheduled_run_survives_a_restart_and_fires(tmp_path: Path, db: Database) -> None:
    settings = make_settings(tmp_path)
    with managers(db) as created:
        first = RunManager(db, settings, trainer_command=fake_command("--epoch-seconds", "0.05"))
        created.append(first)
        first.start()
        at = datetime.now(UTC) + timedelta(seconds=1.5)
        scheduled = first.schedule(make_request("nightly", epochs=1), at)
        later = first.schedule(make_request("later", epochs=1), at + timedelta(hours=5))
        assert scheduled.status == RunStatus.PENDING and scheduled.scheduled_for == at
        assert {run.id for run in first.active_runs()} == {scheduled.id, later.id}
        with pytest.raises(NotAllowed):
            first.cancel_scheduled(later.id, "USTRANGER")
        assert first.cancel_scheduled(later.id, "UOWNER").status == RunStatus.STOPPED
        with pytest.raises(InvalidRunState):
            first.schedule(make_request("past", epochs=1), datetime.now(UTC) - timedelta(minutes=1))
        first.shutdown()

        wait_until(
            lambda: datetime.now(UTC) > at, timeout=10, what="the start time passing while the bot is down"
        )
        assert first.get(scheduled.id).status == RunStatus.PENDING
        second = RunManager(db, settings, trainer_command=fake_command("--epoch-seconds", "0.05"))
        created.append(second)
        second.start()
        wait_until(status_is(second, scheduled.id, RunStatus.COMPLETED))
        assert second.get(later.id).status == RunStatus.STOPPED


def test_a_trainer_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path, started) -> None:
    manager = started(
        make_settings(tmp_path, stop_grace_seconds=0.5), "--ignore-sigterm", "--epoch-seconds", "0.1"
    )
    run = manager.submit(make_request("stubborn", epochs=50))
    wait_until(lambda: manager.get(run.id).current_epoch >= 1)
    manager.set_progress_message(run.id, "C9", "99.9")

    asked = time.monotonic()
    assert manager.stop(run.id, "UADMIN").status == RunStatus.RUNNING  # stopping: the trainer decides when
    stopped = wait_until(lambda: (view := manager.get(run.id)).status == RunStatus.STOPPED and view)

    assert time.monotonic() - asked >= 0.5
    assert stopped.current_epoch >= 1 and stopped.checkpoint_path is not None
    assert (stopped.slack_channel, stopped.slack_ts) == ("C9", "99.9")
    assert [view.id for view in manager.recent_runs(limit=1)] == [run.id]
    assert manager.active_runs() == []


def test_a_failed_apply_after_the_trainer_exited_is_retried_before_the_exit_is_reported(
    tmp_path: Path,
) -> None:
    events = tmp_path / EVENTS_FILE
    events.write_text(StoppedEvent(epoch=2, checkpoint=None).to_json_line(), encoding="utf-8")
    exited = TrainerProcess(0, tmp_path)  # pid 0: not running
    applied: list[str] = []
    exits: list[bool] = []

    def apply_event(run_id: int, event: object, offset: int) -> None:
        if not applied:
            applied.append("failed")
            raise RuntimeError("database is locked")
        applied.append(type(event).__name__)

    follower = RunFollower(
        1,
        EventTail(events, 0),
        exited,
        apply_event=apply_event,
        on_exit=lambda run_id, code, saw_terminal: exits.append(saw_terminal),
        poll_interval=0.01,
        exit_grace_seconds=1,
    )
    follower.start()
    wait_until(lambda: exits, timeout=5)
    assert applied == ["failed", "StoppedEvent"]
    assert exits == [True]


@pytest.mark.parametrize("custom", [False, True])
def test_the_decoded_cache_folder_is_passed_to_the_trainer(tmp_path: Path, started, custom: bool) -> None:
    folder = tmp_path / "shared-cache"
    settings = make_settings(tmp_path, **({"decoded_cache_dir": folder} if custom else {}))
    manager = started(settings)
    run = manager.submit(make_request("cache", epochs=1))
    wait_until(status_is(manager, run.id, RunStatus.COMPLETED))
    argv = seen_by_trainer(manager, run.id)["argv"]
    expected = folder if custom else tmp_path / "outputs" / "decoded-cache"  # default: under OUTPUT_ROOT
    assert argv[argv.index("--cache-dir") + 1] == str(expected.resolve())
