"""Block Kit rendering: summary and progress messages are valid Block Kit with the right buttons, their
confirm dialogs, escaped values, and the thread's language."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import Block

from bot.slack import render
from bot.storage import RunStatus
from tests.run_views import NOW, view


def valid_dicts(rendered: render.Rendered) -> list[dict[str, Any]]:
    """Serialize through slack_sdk (its per-field limits) and check the per-message limits."""
    dicts = [block.to_dict() for block in rendered.blocks]
    assert len(dicts) <= 50 and rendered.text
    for parsed in Block.parse_all(dicts):
        parsed.to_dict()
    return dicts


def buttons(dicts: list[dict[str, Any]]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for d in dicts if d["type"] == "actions" for e in d["elements"]}


def button(dicts: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    return next(
        e for d in dicts if d["type"] == "actions" for e in d["elements"] if e["action_id"] == action_id
    )


def text_of(dicts: list[dict[str, Any]]) -> str:
    return "\n".join(d["text"]["text"] for d in dicts if d["type"] == "section")


def test_running_progress_shows_every_figure_and_a_stop_button_that_asks_first() -> None:
    dicts = valid_dicts(render.progress_message(view(), "en", now=NOW))
    text = text_of(dicts)
    assert "Running" in text and "`" + "█" * 7 + "░" * 13 + " 35%`" in text
    assert "Epoch *3/10*" in text and "loss *0.6123*" in text  # the running epoch's loss
    assert "val acc *62.5%* (best 70.0%)" in text and "123 img/s" in text
    assert "elapsed 1m35s" in text and "ETA 3m20s" in text
    assert buttons(dicts) == {"train_stop": "7"}
    confirm = button(dicts, "train_stop")["confirm"]
    assert confirm["title"]["text"] == "Stop run #7?" and confirm["confirm"]["text"] == "Stop it"
    assert confirm["deny"]["text"] == "Go back" and "checkpoint" in confirm["text"]["text"]


def test_korean_progress_and_buttons() -> None:
    dicts = valid_dicts(render.progress_message(view(), "ko", now=NOW))
    text = text_of(dicts)
    assert "*학습 #7* · resnet18 · 🏃 학습 중" in text
    assert "에폭 *3/10*" in text and "손실 *0.6123*" in text and "검증 정확도 *62.5%* (최고 70.0%)" in text
    assert "초당 123장" in text and "경과 1분 35초" in text and "남은 시간 3분 20초" in text
    stop = button(dicts, "train_stop")
    assert stop["text"]["text"] == "중지" and stop["confirm"]["title"]["text"] == "학습 #7을 멈출까요?"


def test_values_are_escaped_so_they_stay_text() -> None:
    sneaky = view(
        config={"model": "<!channel>", "epochs": 10},
        metrics={"warnings": [{"code": "x", "message": "a<b & c>d"}]},
    )
    text = text_of(valid_dicts(render.progress_message(sneaky, "en", now=NOW)))
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "a&lt;b &amp; c&gt;d" in text
    assert render.slack_text("en", "setup_cancelled", user=render.mention("U1")) == (
        "Setup cancelled by <@U1>. Reply in this thread to start over."
    )
    assert "&lt;run id&gt;" in render.slack_text("en", "stop_usage")  # the catalogue text itself too


def test_trainer_warnings_are_shown_to_the_user() -> None:
    warning = {"code": "pretrained_unavailable", "message": "pretrained weights are not available"}
    assert "⚠️" not in text_of(valid_dicts(render.progress_message(view(), "en", now=NOW)))
    warned = view(metrics={"warnings": [warning]})
    assert "⚠️ pretrained weights are not available" in text_of(
        valid_dicts(render.progress_message(warned, "en", now=NOW))
    )
    korean = text_of(valid_dicts(render.progress_message(warned, "ko", now=NOW)))
    assert "resnet18의 사전학습 가중치를 받을 수 없어서" in korean and "not available" not in korean


def test_queued_and_scheduled_runs() -> None:
    queued = valid_dicts(render.progress_message(view(status=RunStatus.QUEUED, queue_position=2), "en"))
    assert "Position in queue: *2*" in text_of(queued) and "Epoch" not in text_of(queued)
    at = datetime(2026, 1, 2, 2, 0, tzinfo=UTC)
    scheduled = valid_dicts(render.progress_message(view(status=RunStatus.PENDING, scheduled_for=at), "en"))
    assert "Starts at *2026-01-02 02:00 UTC*" in text_of(scheduled)
    cancel = button(scheduled, "train_stop")
    assert (
        cancel["text"]["text"] == "Cancel"
        and cancel["confirm"]["title"]["text"] == "Cancel scheduled run #7?"
    )


def test_preparing_phase_shows_decode_progress() -> None:
    preparing = view(
        current_epoch=0, progress=0.0, metrics={"preparing": {"phase": "decode", "done": 1200, "total": 5000}}
    )
    text = text_of(valid_dicts(render.progress_message(preparing, "en", now=NOW)))
    assert "Decoding images 1,200/5,000" in text and "24%" in text
    korean = text_of(valid_dicts(render.progress_message(preparing, "ko", now=NOW)))
    assert "이미지 디코딩 중 1,200/5,000" in korean


def test_finished_runs_offer_download_or_resume() -> None:
    model = {"artifacts": {"model": "/out/7/model.safetensors"}}
    done = view(status=RunStatus.COMPLETED, completed_at=NOW, metrics=model)
    dicts = valid_dicts(render.progress_message(done, "en"))
    assert (
        "100%" in text_of(dicts) and "ETA" not in text_of(dicts) and buttons(dicts) == {"train_download": "7"}
    )
    stopped = view(status=RunStatus.STOPPED, checkpoint_path="/out/7/checkpoint_last.pt")
    assert buttons(valid_dicts(render.progress_message(stopped, "en"))) == {"train_resume": "7"}
    failed = view(status=RunStatus.FAILED, error_message="out_of_memory", error_line="CUDA out of memory")
    failed_dicts = valid_dicts(render.progress_message(failed, "en"))
    assert "smaller batch size" in text_of(failed_dicts) and "&gt; CUDA out of memory" in text_of(
        failed_dicts
    )
    assert buttons(failed_dicts) == {}
    korean = text_of(valid_dicts(render.progress_message(failed, "ko")))
    assert "배치 크기를 줄이거나" in korean and "CUDA out of memory" not in korean


def test_summary_buttons_carry_only_the_session_and_the_key() -> None:
    reply = "*학습 준비 완료.* 모든 설정:\n• 모델: resnet18\n• 에폭: 3"
    dicts = valid_dicts(
        render.config_summary(reply, "ko", model="resnet18", epochs=3, session_id=4, config_key="abc")
    )
    assert text_of(dicts) == reply
    assert set(buttons(dicts)) == {"train_start", "train_cancel"}
    start = button(dicts, "train_start")
    assert json.loads(start["value"]) == {"s": 4, "k": "abc"} and start["text"]["text"] == "시작"
    assert render.StartValue.decode(start["value"]) == render.StartValue(4, "abc")
    cancel = button(dicts, "train_cancel")
    assert cancel["text"]["text"] == "취소" and cancel["confirm"]["title"]["text"] == "이 설정을 취소할까요?"


def test_long_texts_are_clipped_to_slacks_limits() -> None:
    failed = view(status=RunStatus.FAILED, error_message="internal", error_line="x" * 5000)
    valid_dicts(render.progress_message(failed, "en"))
    summary = valid_dicts(
        render.config_summary("• " * 4000, "en", model="m", epochs=1, session_id=1, config_key="k")
    )
    assert len(text_of(summary)) == 3000


def test_completion_and_ending_texts() -> None:
    metrics = {"final": {"val_acc": 0.9, "val_loss": 0.25, "train_loss": 0.2},
               "per_class_acc": {"cat": 1.0, "dog": 0.8}, "test": {"acc": 0.85, "loss": 0.3},
               "best_val_acc": 0.7}  # fmt: skip
    done = view(status=RunStatus.COMPLETED, current_epoch=10, metrics=metrics)
    text = render.completion_text(done, "en")
    assert "*90.0%* (best 70.0%)" in text and "0.2500" in text and "cat 100%, dog 80%" in text
    assert "test split: *85.0%*" in text
    assert "최종 검증 정확도: *90.0%* (최고 70.0%)" in render.completion_text(done, "ko")
    stopped = render.ending_message(view(status=RunStatus.STOPPED, checkpoint_path="/c"), "en")
    assert "stopped after epoch 3" in stopped.text and "Resume" in stopped.text
    assert buttons(valid_dicts(stopped)) == {"train_resume": "7"}
    failed = render.ending_message(view(status=RunStatus.FAILED, error_message="dataset"), "en")
    assert "Resume" not in failed.text and "one sub-folder per class" in failed.text


def test_app_home_lists_the_users_runs_with_buttons_and_the_queue() -> None:
    finished = {"artifacts": {"model": "/m"}, "best_val_acc": 0.9}
    own = [view(), view(id=5, status=RunStatus.COMPLETED, metrics=finished)]
    queued = view(id=9, status=RunStatus.QUEUED, queue_position=1, requested_by="UOTHER")
    home = render.home_view("en", own, [own[0], queued], "2026-01-01 12:00 UTC")
    assert home["type"] == "home" and len(home["blocks"]) <= 100
    for parsed in Block.parse_all(home["blocks"]):
        parsed.to_dict()
    text = json.dumps(home, ensure_ascii=False)
    assert "#7 resnet18" in text and "#5 resnet18" in text and "best val acc 90.0%" in text
    assert "#9 resnet18" in text and "<@UOTHER>" in text and "queue position 1" in text
    assert buttons(home["blocks"]) == {"train_stop": "7", "train_download": "5"}
    empty = json.dumps(render.home_view("ko", [], [], "now"), ensure_ascii=False)
    assert "아직 학습이 없어요" in empty and "실행 중이거나 대기 중인 학습이 없어요" in empty


def test_a_run_waiting_in_slurms_queue_shows_slurms_position_and_reason() -> None:
    queued = view(status=RunStatus.QUEUED, queue_position=2, pending_reason="Resources", job_id="41")
    text = json.dumps(valid_dicts(render.progress_message(queued, "en", NOW)))
    assert "Slurm queue position 2: waiting for free resources on the cluster" in text
    korean = text_of(valid_dicts(render.progress_message(queued, "ko", NOW)))
    assert "Slurm 대기열 2번째: 클러스터에 자원이 비기를 기다리는 중" in korean
