"""Bad trainer flags, by family: every one is exit 2 with an `error` event of kind config, and nothing is
trained or overwritten. A new flag joins a family here (numbers out of range or not numbers, unusable
paths, unknown choices)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.imagegen import make_image_folder
from tests.trainer_helpers import FAST_FLAGS
from training.cli import main
from training.contract import ExitCode
from training.events import parse_event

NUMBERS = {  # flag -> values that are out of range, or not the kind of number the flag takes
    "--epochs": ["0", "-1", "1e9", "100000", "ten", "2.5"],
    "--batch-size": ["0", "-8", "1e400", "99999999"],
    "--lr": ["0", "-0.01", "nan", "inf", "-inf", "1e9", "fast"],
    "--image-size": ["7", "100000", "-224", "224px"],
    "--num-classes": ["-1", "0", "1", "many"],
    "--seed": ["-5", "4294967296", "1.5", "x"],
    "--workers": ["-2", "1025", "one"],
    "--threads": ["0", "-1", "1025", "2.5", "all"],
    "--cache-budget-mb": ["-1", "lots"],
    "--cache-max-mb": ["0", "-5", "1e9", "big"],
    "--early-stopping-patience": ["-1", "1001", "2.5", "five"],
    "--gpus": ["0", "-1", "65", "1.5", "two"],
    "--score-threshold": ["0", "1", "-0.5", "high"],
}
OTHER = {  # flag sets with paths or choices that cannot be used; {tmp} is the test's folder
    "out is a file": ["--out", "{tmp}/afile"],
    "out below a file": ["--out", "{tmp}/afile/run"],
    "config is a folder": ["--config", "{tmp}"],
    "config missing": ["--config", "{tmp}/missing.json"],
    "weights missing": ["--weights", "{tmp}/missing.pth"],
    "weights not a model": ["--weights", "{tmp}/afile"],
    "init-from missing": ["--init-from", "{tmp}/missing.pt"],
    "init-from not a checkpoint": ["--init-from", "{tmp}/afile"],
    "unknown device": ["--device", "gpu"],
    "unknown compile mode": ["--compile", "maybe"],
    "unknown task": ["--task", "segmentation"],
    "device index not a number": ["--device", "cuda:x"],
    "empty model": ["--model", ""],
    "unknown model": ["--model", "resnet_nope"],
    "flag without its value": ["--epochs"],
    "unknown flag": ["--turbo"],
    "more GPUs than this host has": ["--gpus", "2"],
    "several GPUs without torchrun": ["--gpus", "2", "--device", "cpu"],
}
CASES = [
    pytest.param([flag, value], id=f"{flag} {value}") for flag, values in NUMBERS.items() for value in values
]
CASES += [pytest.param(flags, id=name) for name, flags in OTHER.items()]


@pytest.fixture(scope="module")
def dataset(module_tmp: Path) -> Path:
    return make_image_folder(module_tmp / "data", per_class=3)


@pytest.mark.parametrize("flags", CASES)
def test_a_bad_flag_is_a_config_error_with_an_error_event(
    tmp_path: Path, dataset: Path, flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("keep me")
    flags = [flag.format(tmp=tmp_path) for flag in flags]
    argv = ["--data", str(dataset), "--epochs", "1", *FAST_FLAGS]
    if "--out" not in flags:
        argv += ["--out", str(tmp_path / "out")]
    code = main([*argv, *flags])
    events = [parse_event(line) for line in capsys.readouterr().out.splitlines()]
    assert code == ExitCode.CONFIG, events
    assert events[-1].type == "error" and events[-1].kind == "config", events
    assert "internal error" not in events[-1].message
    assert (tmp_path / "afile").read_text() == "keep me"
    assert not list(tmp_path.rglob("model.safetensors")) and not list(tmp_path.rglob("checkpoint_*.pt"))


def test_every_trainer_flag_is_in_a_family_here() -> None:
    from training.cli import build_parser

    flags = {option for action in build_parser()._actions for option in action.option_strings}
    covered = set(NUMBERS) | {flag for flags in OTHER.values() for flag in flags if flag.startswith("--")}
    # flags whose every value is valid or checked elsewhere: --data (dataset errors, exit 3), on/off switches
    assert flags - covered == {"-h", "--help", "--data", "--pretrained", "--no-pretrained", "--resume"} | {
        "--onnx",
        "--no-onnx",
        "--no-cache-dir",
        "--cache-dir",  # any folder: one that cannot be used falls back to memory (test_decoded_cache)
    }


def test_a_bad_flag_from_the_command_line_shows_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    argv = ["--data", str(tmp_path), "--seed", "-5", "--out", str(tmp_path / "afile")]
    result = subprocess.run(
        [sys.executable, "-m", "training", *argv], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    event = parse_event(result.stdout.splitlines()[-1])
    assert event.type == "error" and event.kind == "config" and "--seed" in event.message


def test_more_gpus_than_the_host_has_are_refused_with_what_it_has(
    tmp_path: Path, dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--data", str(dataset), "--out", str(tmp_path / "out"), *FAST_FLAGS, "--gpus", "2"])
    error = parse_event(capsys.readouterr().out.splitlines()[-1])
    assert code == ExitCode.CONFIG and error.type == "error"
    assert "gpus is 2, but this host has 0 GPU(s)" in error.message and "at most 1" in error.message
