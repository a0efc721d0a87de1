"""WARM_TRAINER: the local backend keeps one `python -m training.warm` ready, with torch, torchvision and
timm imported, and hands it the next single-GPU run; the run is followed, stopped and re-attached to after
a bot restart exactly like a cold one. These tests run the real trainer (32 px, random init)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.runs import RunManager
from bot.runs.launcher import LaunchSpec
from bot.runs.process import LocalLauncher, TrainerProcess, is_our_trainer, proc_stat, start_time
from bot.storage import Database, RunStatus, TrainingRun
from tests.imagegen import make_image_folder
from tests.runs_support import make_request, make_settings, managers
from tests.waiting import process_gone, wait_until
from training.contract import (
    CHECKPOINT_LAST_FILE,
    EVENTS_FILE,
    STDERR_FILE,
    WARM_PID_FILE,
    trainer_flags,
    warm_command,
)

TRAINER = [sys.executable, "-m", "training", "--device", "cpu", "--workers", "1", "--no-onnx"]
IMPORTS_S = 120  # a spare's imports, on a loaded 2-core machine


def spares() -> list[int]:
    """Our child processes running `python -m training.warm`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or (fields := proc_stat(int(proc.name))) is None:
            continue
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            if int(fields[1]) == os.getpid() and b"training.warm" in cmdline:  # field 4: the parent
                found.append(int(proc.name))
    return found


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """SQLite only: these tests are about processes, and each trains for real."""
    database = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    database.create_all()
    yield database
    database.dispose()


def run_pid(db: Database, run_id: int) -> int | None:
    with db.session() as session:
        run = session.get(TrainingRun, run_id)
        return run.pid if run is not None else None


def tiny_request(tmp_path: Path, key: str, epochs: int):
    dataset = tmp_path / "data" / "shapes"
    if not dataset.exists():
        make_image_folder(dataset, per_class=6)
    request = make_request(key, epochs=epochs, dataset=str(dataset))
    request.config.image_size, request.config.batch_size = 32, 8
    return request


def test_warm_command_stands_in_only_for_this_packages_trainer() -> None:
    python = sys.executable
    assert warm_command([python, "-m", "training"]) == [python, "-m", "training.warm"]
    assert warm_command([python, "-m", "training", "--device", "cpu"]) == [python, "-m", "training.warm"]
    assert warm_command([python, "tests/fake_trainer.py"]) is None
    assert warm_command([python, "-m", "training.launch", "--standalone"]) is None
    assert warm_command(["trainbot-train"]) is None
    assert trainer_flags([python, "-m", "training", "--device", "cpu", "--out", "o"]) == [
        "--device",
        "cpu",
        "--out",
        "o",
    ]
    assert trainer_flags([python, "-m", "training.launch", "-m", "training"]) is None


def test_a_run_is_handed_to_the_warm_spare_and_a_new_spare_follows(tmp_path: Path, db: Database) -> None:
    settings = make_settings(tmp_path)
    with managers(db) as created:
        manager = RunManager(
            db, settings, trainer_command=TRAINER, launcher=LocalLauncher(replace_spare_after=0.5)
        )
        created.append(manager)
        manager.start()
        (spare,) = spares()
        run = manager.submit(tiny_request(tmp_path, "warm", epochs=2))
        done = wait_until(lambda: (view := manager.get(run.id)).status.is_terminal and view, IMPORTS_S)
        assert done.status == RunStatus.COMPLETED, done.error_message
        out = Path(done.output_dir)
        assert run_pid(db, run.id) == spare and (out / WARM_PID_FILE).read_text().split()[0] == str(spare)
        assert done.current_epoch == 2 and Path(done.figures.artifacts["model"]).is_file()
        assert "decoding 15 train images" in (out / STDERR_FILE).read_text()  # its logs reach stderr.log
        assert len(wait_until(lambda: [pid for pid in spares() if pid != spare], timeout=10)) == 1
    assert spares() == []  # shutting the manager down ends the idle spare


def test_a_warm_run_survives_a_bot_restart_and_stops_with_a_checkpoint(tmp_path: Path, db: Database) -> None:
    settings = make_settings(tmp_path)
    with managers(db) as created:
        first = RunManager(db, settings, trainer_command=TRAINER)
        created.append(first)
        first.start()
        (spare,) = spares()
        run = first.submit(tiny_request(tmp_path, "long", epochs=200))
        wait_until(lambda: first.get(run.id).current_epoch >= 1, timeout=IMPORTS_S)
        first.shutdown()  # the trainer keeps running; its command line names no run folder

        second = RunManager(db, settings, trainer_command=TRAINER)
        created.append(second)
        second.start()
        attached = second.get(run.id)
        assert attached.status == RunStatus.RUNNING
        assert run_pid(db, run.id) == spare  # re-attached to, not started again
        second.stop(run.id, "UOWNER")
        stopped = wait_until(lambda: (view := second.get(run.id)).status == RunStatus.STOPPED and view, 60)
    assert stopped.checkpoint_path is not None
    assert Path(stopped.output_dir, CHECKPOINT_LAST_FILE).is_file()


def test_a_recycled_pid_is_not_taken_for_the_warm_trainer(tmp_path: Path) -> None:
    other = subprocess.Popen(["sleep", "60"])
    try:
        started = start_time(other.pid)
        (tmp_path / WARM_PID_FILE).write_text(f"{other.pid} {started}\n")
        # Popen returns as the child's exec begins (vfork): its command line is empty until exec has set it up
        wait_until(lambda: is_our_trainer(other.pid, tmp_path), timeout=10, what="the noted process taken")
        (tmp_path / WARM_PID_FILE).write_text(f"{other.pid} {(started or 0) + 1}\n")  # a later process
        assert not is_our_trainer(other.pid, tmp_path)
        (tmp_path / WARM_PID_FILE).write_text(f"{other.pid} {started}\n")
    finally:
        other.kill()
        other.wait()
    assert not is_our_trainer(other.pid, tmp_path)


def exit_code(job: TrainerProcess) -> int | None:
    wait_until(lambda: job.returncode is not None, timeout=IMPORTS_S)
    return job.returncode


def launch_failing_run(launcher: LocalLauncher, out: Path, gpus: int = 1) -> TrainerProcess:
    """A run whose dataset is missing: the trainer exits with its dataset code after its imports."""
    out.mkdir(parents=True)
    args = [*TRAINER, "--data", str(out / "missing"), "--out", str(out), "--epochs", "1"]
    return launcher.submit(LaunchSpec(run_id=1, args=args, output_dir=out, gpus=gpus))


def test_a_dead_spare_or_a_multi_gpu_run_starts_cold(tmp_path: Path) -> None:
    launcher = LocalLauncher()
    launcher.prepare(TRAINER)
    try:
        (spare,) = spares()
        several = launch_failing_run(launcher, tmp_path / "two-gpus", gpus=2)
        assert several.pid != spare and spares() == [spare]  # a run on several GPUs never takes it
        several_code = exit_code(several)
        subprocess.run(["kill", "-9", str(spare)], check=True)
        wait_until(lambda: process_gone(spare), timeout=5, what="the killed spare gone")
        cold = launch_failing_run(launcher, tmp_path / "cold")
        assert cold.pid != spare and not (tmp_path / "cold" / WARM_PID_FILE).exists()
        code = exit_code(cold)
    finally:
        launcher.close()
    assert code == several_code == 3  # ExitCode.DATASET, reported the same way with or without a spare
    assert '"dataset"' in (tmp_path / "cold" / EVENTS_FILE).read_text()


@pytest.mark.timeout(IMPORTS_S + 30)
def test_an_idle_spare_ends_quietly_when_the_bot_goes_away() -> None:
    spare = subprocess.Popen(
        [sys.executable, "-m", "training.warm"], stdin=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, stderr = spare.communicate(b"", timeout=IMPORTS_S)  # stdin ends with no request
    assert spare.returncode == 0 and stderr == b""
