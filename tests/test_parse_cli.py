"""`python -m bot parse`: messages played as one thread, one JSON object out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.conversation.cli import run_parse
from bot.settings import Settings


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["DATA_ROOT"] = str(tmp_path / "nowhere")
    return subprocess.run(
        [sys.executable, "-m", "bot", "parse", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_parse_plays_a_korean_thread_without_a_data_root(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "ResNet50으로 고양이 3종류 분류하는 모델 만들어줘", "./cat_dataset", "50번")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["config"] == {
        "model": "resnet50",
        "num_classes": 3,
        "dataset_path": "./cat_dataset",
        "epochs": 50,
    }
    assert output["missing"] == []
    assert "학습 준비가 끝났어요" in output["reply"]
    assert not (tmp_path / "nowhere").exists()  # nothing written: in-memory database


def test_parse_reports_what_is_missing(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--parser", "rules", "train efficientnet b0 with batch 16")
    output = json.loads(result.stdout)
    assert output["config"] == {"model": "efficientnet_b0", "batch_size": 16}
    assert output["missing"] == ["dataset_path", "epochs"]
    assert "Which dataset" in output["reply"]


def test_parse_refuses_an_escaping_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code = run_parse(["set dataset_path to ../../etc"], "auto", Settings(data_root=tmp_path, _env_file=None))
    output = json.loads(capsys.readouterr().out)
    assert code == 0 and "dataset_path" not in output["config"]
    assert "DATA_ROOT" in output["reply"]


def test_parse_with_claude_but_no_key_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_parse(["hi"], "claude", Settings(data_root=tmp_path, _env_file=None))
    assert code == 2 and "ANTHROPIC_API_KEY" in capsys.readouterr().err


def test_parse_reports_the_intent_and_a_question_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    settings = Settings(data_root=tmp_path, _env_file=None)
    assert run_parse(["2 epochs", "is 50 epochs too many?"], "rules", settings) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["intent"] == "question" and output["config"] == {"epochs": 2}
    assert run_parse(["status"], "rules", settings) == 0
    output = json.loads(capsys.readouterr().out)
    assert (output["intent"], output["command"]) == ("command", "status")
