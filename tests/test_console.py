"""Console mode: the same conversation and run manager in a terminal, with a progress bar."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.actions import Actions
from bot.console import Console
from bot.conversation import ConversationService
from bot.policy import Policy
from bot.runs import RunManager
from bot.settings import Settings
from bot.storage import Database, RunStatus
from bot.terminal import quiet_stream_handlers
from tests.conversation_support import typed_lines
from tests.english import english_sentences
from tests.imagegen import make_image_folder

LOCAL_USER = "alice"  # the console's user: owner and admin of what it does
FAKE_TRAINER = str(Path(__file__).with_name("fake_trainer.py"))


@pytest.fixture
def parts(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Settings, ConversationService, RunManager]]:
    make_image_folder(tmp_path / "data" / "pets", classes=("cat", "dog"), per_class=4)
    settings = Settings(
        _env_file=None,
        data_root=tmp_path / "data",
        output_root=tmp_path / "outputs",
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        max_concurrent_runs=1,
    )
    db = Database(settings.database_url_or_default)
    db.create_all()
    runs = RunManager(
        db,
        settings,
        trainer_command=[
            sys.executable,
            FAKE_TRAINER,
            "--epoch-seconds",
            "0.05",
            *getattr(request, "param", []),
        ],
    )
    runs.start()
    yield settings, ConversationService(db, settings, "rules"), runs
    runs.shutdown()


def play(
    parts: tuple[Settings, ConversationService, RunManager], lines: list[str], language: str = "en"
) -> str:
    settings, conversation, runs = parts
    out = io.StringIO()
    read_line = typed_lines(lines)

    actions = Actions(settings, Policy(settings, admins=frozenset({LOCAL_USER})), conversation, runs)
    try:
        status = Console(actions, user=LOCAL_USER, read_line=read_line, out=out, language=language).run()
    finally:
        actions.close()
    assert status == 0
    return out.getvalue()


def test_conversation_then_start_trains_with_a_progress_bar(parts) -> None:  # type: ignore[no-untyped-def]
    output = play(parts, ["resnet18 classifier, 3 epochs", "pets", "start", "quit"])
    assert "Which dataset" in output and "Ready to train" in output and "Type `start` to begin" in output
    assert "Press" not in output and "button" not in output.lower()  # the console has no buttons
    assert "*" not in output  # the catalogue's markup is rendered as plain text
    assert "█" * 20 + " 100%" in output and "Epoch 3/3" in output
    assert "Final validation accuracy: 100.0%" in output and "a 100%, b 100%" in output
    [run] = parts[2].recent_runs()
    assert run.status == RunStatus.COMPLETED and run.config.epochs == 3


def test_the_progress_line_carries_the_slack_messages_figures(parts) -> None:  # type: ignore[no-untyped-def]
    output = play(parts, ["resnet18 classifier, 3 epochs", "pets", "start", "quit"])
    drawn = [line for line in output.splitlines() if line.startswith("Run #")]
    running = next(line for line in drawn if "🏃 Running" in line and "val acc" in line)
    for figure in ("Epoch ", "loss ", "val acc ", "(best ", " img/s", "elapsed ", "ETA "):
        assert figure in running, (figure, running)


def test_a_korean_session_is_korean_to_the_end(parts) -> None:  # type: ignore[no-untyped-def]
    output = play(parts, ["resnet18로 고양이 분류 모델, 3 에폭", "pets", "시작", "종료"], language="ko")
    assert "학습 준비가 끝났어요" in output and "`시작`을 입력하면 시작하고" in output
    assert "에폭 3/3" in output and "✅ 학습 #1 완료" in output and "최종 검증 정확도: 100.0%" in output
    assert "파일:" in output and "누르면" not in output  # nothing to press in a terminal
    assert english_sentences(output) == []


@pytest.mark.parametrize("parts", [["--warn", "pretrained weights are not available"]], indirect=True)
def test_trainer_warnings_are_printed_above_the_progress_bar(parts) -> None:  # type: ignore[no-untyped-def]
    output = play(parts, ["resnet18, 2 epochs", "pets", "start", "quit"])
    assert re.search(r"^⚠️ pretrained weights are not available$", output, re.MULTILINE)
    assert output.count("pretrained weights are not available") == 1


def test_start_at_a_time_schedules_the_run(parts) -> None:  # type: ignore[no-untyped-def]
    output = play(parts, ["resnet18 classifier, 2 epochs", "pets", "start in 30 minutes"])  # then EOF
    [run] = parts[2].active_runs()
    assert run.status == RunStatus.PENDING and run.scheduled_for is not None
    assert f"Run #{run.id} is scheduled for" in output


def test_start_before_the_setup_is_complete_is_just_a_message(parts) -> None:  # type: ignore[no-untyped-def]
    output = play(parts, ["start", "quit"])
    assert parts[2].recent_runs() == [] and "Which dataset" in output


def test_python_m_bot_console_runs_and_quits(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_ROOT": str(tmp_path), "SLACK_BOT_TOKEN": "", "SLACK_APP_TOKEN": ""}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--console", "--parser", "rules"],
        input="quit\n", capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Describe the model to train" in result.stdout


def test_python_m_bot_without_tokens_explains_the_setup(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_ROOT": str(tmp_path), "SLACK_BOT_TOKEN": "", "SLACK_APP_TOKEN": ""}
    result = subprocess.run(
        [sys.executable, "-m", "bot"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 2  # bot.cli.EXIT_MISCONFIGURED: systemd does not restart it
    assert (
        "manifest.yml" in result.stderr and "xoxb-" in result.stderr and "connections:write" in result.stderr
    )


def test_logs_on_stderr_are_cut_to_warnings_in_the_console(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        quiet_stream_handlers()
        logging.getLogger("bot.runs.process").info("launched trainer pid 1: ['python', '-m', 'training']")
        logging.getLogger("bot.runs").warning("run 1 sent no event for 900s")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    err = capsys.readouterr().err
    assert "launched trainer" not in err and "no event for 900s" in err


@pytest.mark.parametrize("parts", [["--decode", "4000"]], indirect=True)
def test_the_preparing_phase_is_shown_before_the_first_epoch(parts) -> None:  # type: ignore[no-untyped-def]
    output = play(parts, ["resnet18 classifier, 1 epochs", "pets", "start", "quit"])
    assert "Decoding images 1,000/4,000" in output and "Decoding images 4,000/4,000" in output
    assert output.index("Decoding images") < output.index("Epoch 1/1")


def test_commands_act_in_the_console(parts) -> None:  # type: ignore[no-untyped-def]
    lines = ["help", "status", "stop", "resume", "stop 99", "resnet18 classifier, 2 epochs", "pets"]
    lines += ["start in 30 minutes", "status", "stop 1", "list", "resume 1", "quit"]
    output = play(parts, lines)
    assert "`status`: running and queued runs" in output  # the console's own help, not Slack's
    assert "No runs are running or queued." in output
    assert "Usage: `stop <run id>`" in output and "Usage: `resume <run id>`" in output
    assert "/train" not in output  # nothing points to Slack commands
    [run] = parts[2].recent_runs()
    assert run.status == RunStatus.STOPPED  # "stop 1" stopped the scheduled run
    assert "Stopping run #1" in output and "Recent runs" in output and "#1" in output
    assert "left no checkpoint to resume from" in output  # "resume 1": nothing to resume from
    assert "There is no run #99." in output


def test_commands_answer_in_korean(parts) -> None:  # type: ignore[no-untyped-def]
    output = play(parts, ["도움말", "상태", "목록", "중지", "종료"], language="ko")
    assert "`상태`: 실행 중이거나 대기 중인 학습" in output
    assert "실행 중이거나 대기 중인 학습이 없어요." in output and "아직 학습이 없어요." in output
    assert "사용법: `중지 <학습 번호>`" in output
    assert english_sentences(output) == []


def test_a_finished_run_predicts_exports_and_continues_in_the_console(tmp_path: Path) -> None:
    """With the real trainer: `predict PATH...` answers as the trainer's own predict, `export onnx` gives
    a verified file, `2 more epochs` sets up a run continuing it."""
    data = make_image_folder(tmp_path / "data" / "pets", per_class=6)
    settings = Settings(
        _env_file=None,
        data_root=tmp_path / "data",
        output_root=tmp_path / "outputs",
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        max_concurrent_runs=1,
    )
    db = Database(settings.database_url_or_default)
    db.create_all()
    trainer = [sys.executable, "-m", "training", "--device", "cpu", "--workers", "1", "--no-onnx"]
    runs = RunManager(db, settings, trainer_command=trainer)
    runs.start()
    images = sorted((data / "circle").iterdir())[:2] + sorted((data / "square").iterdir())[:1]
    try:
        output = play(
            (settings, ConversationService(db, settings, "rules"), runs),
            [
                "resnet18 from scratch, 1 epoch, image size 32, batch 16",
                "pets",
                "start",
                "predict " + " ".join(map(str, images)) + " nowhere.png",
                "predict",
                "export onnx",
                "2 more epochs",
                "quit",
            ],
        )
    finally:
        runs.shutdown()
    (run,) = runs.recent_runs()
    own = subprocess.run(
        [sys.executable, "-m", "training.predict", str(run.output_dir), *map(str, images)],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    ).stdout.splitlines()
    assert "Predictions of run #1 (resnet18):" in output
    for path, line in zip(images, own, strict=True):
        top1 = json.loads(line)["top"][0]["class"]
        assert re.search(rf"• `{path.name}`: {top1} \d", output), (path.name, top1, output)
    assert "• `nowhere.png`: no such file; left out." in output
    assert "Usage: `predict PATH...`" in output
    assert "ONNX export of run #1 verified" in output and "top-1 agreement with PyTorch 100.00%" in output
    assert f"The verified ONNX file: {run.output_dir}/model.onnx" in output
    assert "Continuing run #1: a new run starts from its last checkpoint" in output
    assert "Type `start` to begin" in output.split("Continuing run #1")[1]  # a setup, not started
