"""`python -m training` as the bot runs it: a subprocess whose stdout is only events, stopped by SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.imagegen import make_image_folder
from tests.trainer_helpers import FAST_FLAGS, after_preparing
from training.contract import ExitCode
from training.events import parse_event

REPO = Path(__file__).resolve().parents[1]


def _trainer(data: Path, out: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "training", "--data", str(data), "--out", str(out), *FAST_FLAGS, *extra]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_stdout_is_only_json_events_and_logs_go_to_stderr(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", per_class=6)
    process = _trainer(data, tmp_path / "out", "--epochs", "1")
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == ExitCode.DONE, stderr
    events = after_preparing([parse_event(line) for line in stdout.splitlines()])
    assert events[0].type == "start" and events[-1].type == "done"
    assert (tmp_path / "out" / "events.jsonl").read_text() == stdout
    assert "decoding" in stderr


def test_help_documents_every_flag_and_the_exit_codes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "training", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    flags = "--data --epochs --model --batch-size --lr --image-size --no-pretrained --weights --out --device"
    for flag in [*flags.split(), "--workers", "--seed", "--resume", "--config"]:
        assert flag in result.stdout
    assert "5 stopped" in result.stdout


def test_sigterm_stops_with_a_checkpoint_and_resume_finishes(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", per_class=24, size=48)
    out = tmp_path / "out"
    slow = ("--epochs", "4", "--batch-size", "4", "--image-size", "48")  # ~15 steps per epoch
    process = _trainer(data, out, *slow)
    lines = []
    for line in process.stdout:  # stop as soon as training is under way
        lines.append(line)
        if parse_event(line).type == "progress":
            process.send_signal(signal.SIGTERM)
            break
    rest, stderr = process.communicate(timeout=300)
    events = [parse_event(line) for line in lines + rest.splitlines()]
    assert process.returncode == ExitCode.STOPPED, stderr
    stopped = events[-1]
    assert stopped.type == "stopped" and stopped.epoch < 4
    assert Path(stopped.checkpoint) == out / "checkpoint_last.pt" and Path(stopped.checkpoint).is_file()

    resumed = _trainer(data, out, *slow, "--resume")
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == ExitCode.DONE, stderr
    events = after_preparing([parse_event(line) for line in stdout.splitlines()])
    assert events[0].type == "start" and events[0].resumed_from_epoch == stopped.epoch
    assert [e.epoch for e in events if e.type == "epoch"] == list(range(stopped.epoch + 1, 5))
    assert events[-1].type == "done" and events[-1].epochs_completed == 4


def test_plotting_loads_only_when_a_run_ends() -> None:
    # matplotlib costs about half a second of every run's start; the trainer needs it only for the plots
    check = "import sys, training.cli, training.loop; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_the_trainer_exits_without_teardown_but_runs_atexit_and_flushes() -> None:
    """exit_now (python -m training's last step) skips the interpreter's slow teardown, not what a normal
    exit promises: atexit handlers run, buffered output is written, and the code is the run's."""
    script = (
        "import atexit, logging, sys; from training.cli import exit_now\n"
        "logging.basicConfig(stream=sys.stderr); atexit.register(lambda: print('handler ran'))\n"
        "print('buffered', end=' '); logging.getLogger('t').warning('logged'); exit_now(3)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 3
    assert result.stdout == "buffered handler ran\n" and "logged" in result.stderr
