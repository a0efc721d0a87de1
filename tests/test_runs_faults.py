"""The run manager under faults: a launch that fails at any step ends its run as failed with a worded
reason, frees the slot and lets the next queued run start; a bot that died between starting a trainer
and recording it re-attaches to it on restart (never a second trainer); Resume's checkpoint copy is
whole or absent."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.present.runs import reason
from bot.runs import InvalidRunState, RunManager
from bot.runs import files as run_files
from bot.runs.launcher import LaunchFailed
from bot.runs.process import LocalLauncher, started_trainer
from bot.runs.store import RunStore
from bot.storage import Database, RunEpoch, RunStatus, TrainingRun
from tests.runs_support import Recorder, fake_command, make_request, make_settings, managers
from tests.slack_harness import OWNER, click, harness, setup_thread
from tests.slurm_cluster import SlurmCluster, launcher_for, slurm  # noqa: F401  (the session's cluster)
from tests.waiting import wait_until
from training.config import TrainingConfig
from training.contract import CHECKPOINT_LAST_FILE


class Crash(BaseException):
    """The bot process dying at that point (nothing of it runs on)."""


def _queue(db: Database, settings, *keys: str) -> list[int]:  # type: ignore[no-untyped-def]
    """Runs queued by a bot that has not started its manager yet: the next start claims them in order."""
    store = RunStore(db, settings.output_root)
    return [store.create(make_request(key, epochs=2), RunStatus.QUEUED, None)[0] for key in keys]


def _db_error() -> OperationalError:
    return OperationalError("UPDATE training_runs", {}, Exception("server closed the connection"))


def _fault(step: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the first launch fail at `step`; later launches work."""

    def once(real, error):  # type: ignore[no-untyped-def]
        hits: list[Exception] = []

        def fail_first(*args, **kwargs):  # type: ignore[no-untyped-def]
            if not hits:
                hits.append(error)
                raise error
            return real(*args, **kwargs)

        return fail_first

    if step == "disk_full":
        full = OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(TrainingConfig, "to_json", once(TrainingConfig.to_json, full))
    elif step == "popen":
        no_fork = OSError(errno.EAGAIN, "Resource temporarily unavailable")
        monkeypatch.setattr(LocalLauncher, "submit", once(LocalLauncher.submit, no_fork))
    elif step == "backend_refused":
        refused = LaunchFailed("sbatch refused the job: invalid partition")
        monkeypatch.setattr(LocalLauncher, "submit", once(LocalLauncher.submit, refused))
    elif step in ("record", "record_and_fail"):
        monkeypatch.setattr(RunStore, "record_launched", once(RunStore.record_launched, _db_error()))
        if step == "record_and_fail":  # the database stays away: even the failure cannot be stored
            monkeypatch.setattr(
                RunStore, "record_launch_failed", once(RunStore.record_launch_failed, _db_error())
            )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # faults injected above the database
@pytest.mark.parametrize(
    ("step", "code"),
    [
        ("disk_full", "storage"),
        ("config", "config"),
        ("popen", "launch"),
        ("backend_refused", "launch"),
        ("record", "launch"),
        ("record_and_fail", "internal"),  # the watchdog finds it on its next pass
    ],
)
def test_a_launch_failing_at_any_step_fails_its_run_and_the_next_one_starts(
    tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch, step: str, code: str
) -> None:
    settings = make_settings(tmp_path)  # one slot
    first, second = _queue(db, settings, "first", "second")
    if step == "config":  # a run stored by an older bot, with a value this one refuses
        with db.session() as session:
            row = session.get_one(TrainingRun, first)
            row.config = {**row.config, "epochs": 0}
    _fault(step, monkeypatch)
    with managers(db) as created:
        manager = RunManager(
            db, settings, trainer_command=fake_command("--epoch-seconds", "0.02"), watchdog_interval=0.1
        )
        created.append(manager)
        recorder = Recorder()
        manager.subscribe(recorder)
        manager.start()
        done = wait_until(lambda: (run := manager.get(second)).status == RunStatus.COMPLETED and run)
        failed = manager.get(first)
        assert failed.status == RunStatus.FAILED and failed.error_message == code
        assert done.current_epoch == 2
        wait_until(lambda: any(u.run.status == RunStatus.FAILED for u in recorder.for_run(first)))
    assert failed.output_dir is not None and started_trainer(Path(failed.output_dir)) is None
    english, korean = reason(failed, "en"), reason(failed, "ko")
    assert english and korean and english != korean
    if code == "storage":
        assert "disk may be full" in english and "디스크" in korean
        assert failed.error_line == (
            "launch failed while preparing the run folder: OSError: [Errno 28] No space left on device"
        )
    if code == "config":
        assert failed.error_line is not None and "epochs: Input should be greater than" in failed.error_line
    if code == "launch":
        assert "could not be started" in english and "시작하지 못했어요" in korean


def _epochs(db: Database, run_id: int) -> list[int]:
    with db.session() as session:
        return list(session.scalars(select(RunEpoch.epoch).where(RunEpoch.run_id == run_id)))


def _start_dying_before_the_record(manager: RunManager, monkeypatch: pytest.MonkeyPatch) -> int:
    """Submit a run on `manager`, which dies once the trainer started, before recording it."""

    def die(*args: object, **kwargs: object) -> None:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(RunStore, "record_launched", die)
        with pytest.raises(Crash):
            manager.submit(make_request("orphan", epochs=6))
    manager.shutdown()
    (run,) = manager.active_runs()
    assert run.status == RunStatus.RUNNING and run.job_id is None
    return run.id


def _recorded(db: Database, run_id: int) -> tuple[int | None, str | None]:
    with db.session() as session:
        row = session.get_one(TrainingRun, run_id)
        return row.pid, row.job_id


def test_a_bot_that_died_between_start_and_record_reattaches_on_restart(
    tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    command = fake_command("--epoch-seconds", "0.15")
    with managers(db) as created:
        first = RunManager(db, settings, trainer_command=command)
        created.append(first)
        first.start()
        run_id = _start_dying_before_the_record(first, monkeypatch)
        out_dir = Path(first.get(run_id).output_dir or "")
        trainer = started_trainer(out_dir)
        assert trainer is not None and _recorded(db, run_id) == (None, None)

        second = RunManager(db, settings, trainer_command=command)
        created.append(second)
        second.start()
        assert second.get(run_id).status == RunStatus.RUNNING
        assert _recorded(db, run_id) == (trainer, None)
        with pytest.raises(InvalidRunState):  # running: Resume cannot start a second trainer
            second.resume(run_id, "UOWNER")
        done = wait_until(lambda: (run := second.get(run_id)).status == RunStatus.COMPLETED and run)
    assert done.current_epoch == 6 and sorted(_epochs(db, run_id)) == list(range(1, 7))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_bot_that_died_between_sbatch_and_record_finds_its_job_by_name(
    tmp_path: Path,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    slurm: SlurmCluster,  # noqa: F811
) -> None:
    settings = make_settings(tmp_path, run_backend="slurm", max_concurrent_runs=None)
    command = fake_command("--epoch-seconds", "0.1")
    with managers(db) as created:
        try:
            first = RunManager(db, settings, trainer_command=command, launcher=launcher_for(slurm))
            created.append(first)
            first.start()
            run_id = _start_dying_before_the_record(first, monkeypatch)
            (job_id,) = slurm.run("squeue", "-h", "-o", "%i").split()

            second = RunManager(db, settings, trainer_command=command, launcher=launcher_for(slurm))
            created.append(second)
            second.start()
            assert _recorded(db, run_id) == (None, job_id)
            done = wait_until(
                lambda: (run := second.get(run_id)).status == RunStatus.COMPLETED and run, timeout=60
            )
            assert done.job_id == job_id and sorted(_epochs(db, run_id)) == list(range(1, 7))
        finally:
            slurm.cancel_all()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_resumes_checkpoint_copy_is_whole_or_absent(
    tmp_path: Path, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    source_dir = tmp_path / "stopped"
    source_dir.mkdir()
    checkpoint = source_dir / CHECKPOINT_LAST_FILE
    checkpoint.write_text(json.dumps({"epoch": 2, "padding": "x" * 3_000_000}))
    with db.session() as session:
        config = make_request("stopped", epochs=3).config.model_dump(mode="json")
        row = TrainingRun(
            config=config, status=RunStatus.STOPPED, output_dir=str(source_dir), requested_by="UOWNER"
        )
        row.current_epoch, row.total_epochs = 2, 3
        session.add(row)
        session.flush()
        source = row.id
    command = fake_command("--epoch-seconds", "0.02")
    with managers(db) as created:
        first = RunManager(db, settings, trainer_command=command)
        created.append(first)
        first.start()
        copy = run_files.shutil.copyfileobj

        def crash_midway(reader, writer, length=0):  # type: ignore[no-untyped-def]
            writer.write(reader.read(1_000_000))
            raise Crash

        with monkeypatch.context() as patch:
            patch.setattr(run_files.shutil, "copyfileobj", crash_midway)
            with pytest.raises(Crash):
                first.resume(source, "UOWNER")
        first.shutdown()
        with db.session() as session:
            resumed = session.scalars(select(TrainingRun).where(TrainingRun.resume_of == source)).one()
            assert resumed.status == RunStatus.PENDING  # not queued
            target = Path(resumed.output_dir or "") / CHECKPOINT_LAST_FILE
        assert not target.exists()  # only the temporary file, never a partial checkpoint
        assert copy is run_files.shutil.copyfileobj

        second = RunManager(db, settings, trainer_command=command)  # the restarted bot copies it again
        created.append(second)
        second.start()
        done = wait_until(lambda: (run := second.get(resumed.id)).status == RunStatus.COMPLETED and run)
    assert done.current_epoch == 3 and _epochs(db, resumed.id) == [3]  # resumed after epoch 2
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".partial")] == []


def test_a_failed_launch_is_explained_in_the_thread_in_its_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fault("disk_full", monkeypatch)
    slack = harness(tmp_path, epoch_seconds=0.05)
    try:
        thread = setup_thread(slack, epochs=2, request="resnet18로 분류 모델 {epochs} 에폭", asks="데이터")
        click(slack, slack.summary(thread).ts, OWNER, "train_start")
        ending = slack.wait_reply(thread, "실패했어요")
        assert "디스크가 가득 찼거나" in ending.text
        (run,) = slack.runs.recent_runs()
        assert run.status == RunStatus.FAILED and run.error_message == "storage"
    finally:
        slack.close()
