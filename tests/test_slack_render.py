"""Block Kit rendering: summary and progress messages are valid Block Kit with the right buttons."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Block

from bot.runs import RunView
from bot.slack import render
from bot.storage import RunStatus
from training.config import TrainingConfig

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def view(**changes: Any) -> RunView:
    base = RunView(
        id=7, status=RunStatus.RUNNING, config={"model": "resnet18", "epochs": 10}, progress=0.35,
        current_epoch=3, total_epochs=10,
        metrics={"train_loss": 0.8, "running_loss": 0.61234, "val_acc": 0.625, "best_val_acc": 0.7},
        error_message=None, output_dir="/out/7", queue_position=None, requested_by="UOWNER",
        slack_channel="C1",
        slack_thread_ts="1.1", slack_ts="1.2", created_at=NOW, started_at=NOW - timedelta(seconds=95),
        completed_at=None, scheduled_for=None, checkpoint_path=None, images_per_sec=123.4, eta_seconds=200,
        best_val_acc=0.7,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def valid_dicts(rendered: render.Rendered) -> list[dict[str, Any]]:
    """Serialize through slack_sdk (its per-field limits) and check the per-message limits."""
    dicts = [block.to_dict() for block in rendered.blocks]
    assert len(dicts) <= 50 and rendered.text
    for parsed in Block.parse_all(dicts):
        parsed.to_dict()
    return dicts


def buttons(dicts: list[dict[str, Any]]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for d in dicts if d["type"] == "actions" for e in d["elements"]}


def text_of(dicts: list[dict[str, Any]]) -> str:
    return "\n".join(d["text"]["text"] for d in dicts if d["type"] == "section")


def test_progress_bar() -> None:
    assert render.progress_bar(0) == "░" * 20 + " 0%"
    assert render.progress_bar(0.5) == "█" * 10 + "░" * 10 + " 50%"
    assert render.progress_bar(1.7) == "█" * 20 + " 100%"


def test_running_progress_shows_every_figure_and_a_stop_button() -> None:
    dicts = valid_dicts(render.progress_message(view(), now=NOW))
    text = text_of(dicts)
    assert "Running" in text and "█" * 7 + "░" * 13 + " 35%" in text
    assert "Epoch *3/10*" in text and "loss *0.6123*" in text  # the running epoch's loss
    assert "val acc *62.5%* (best 70.0%)" in text and "123 img/s" in text
    assert "elapsed 1m35s" in text and "ETA 3m20s" in text
    assert buttons(dicts) == {"train_stop": "7"}


def test_trainer_warnings_are_shown_to_the_user() -> None:
    warning = {"code": "pretrained_unavailable", "message": "pretrained weights are not available"}
    assert "⚠️" not in text_of(valid_dicts(render.progress_message(view(), now=NOW)))
    text = text_of(valid_dicts(render.progress_message(view(metrics={"warnings": [warning]}), now=NOW)))
    assert "⚠️ pretrained weights are not available" in text


def test_queued_and_scheduled_runs() -> None:
    queued = text_of(valid_dicts(render.progress_message(view(status=RunStatus.QUEUED, queue_position=2))))
    assert "Position in queue: *2*" in queued and "Epoch" not in queued
    at = datetime(2026, 1, 2, 2, 0, tzinfo=UTC)
    scheduled = valid_dicts(render.progress_message(view(status=RunStatus.PENDING, scheduled_for=at)))
    assert "Starts at *2026-01-02 02:00 UTC*" in text_of(scheduled)
    assert scheduled[-1]["elements"][0]["text"]["text"] == "Cancel"


def test_finished_runs_offer_download_or_resume() -> None:
    done = view(status=RunStatus.COMPLETED, completed_at=NOW, artifacts={"model": "/out/7/model.safetensors"})
    dicts = valid_dicts(render.progress_message(done))
    assert (
        "100%" in text_of(dicts) and "ETA" not in text_of(dicts) and buttons(dicts) == {"train_download": "7"}
    )
    stopped = view(status=RunStatus.STOPPED, checkpoint_path="/out/7/checkpoint_last.pt")
    assert buttons(valid_dicts(render.progress_message(stopped))) == {"train_resume": "7"}
    failed = view(status=RunStatus.FAILED, error_message="The GPU ran out of memory: lower the batch size.")
    failed_dicts = valid_dicts(render.progress_message(failed))
    assert "lower the batch size" in text_of(failed_dicts) and buttons(failed_dicts) == {}


def test_summary_carries_the_config_in_the_start_button() -> None:
    config = TrainingConfig(dataset_path="/data/pets", model="resnet18", epochs=3, num_classes=2)
    reply = "*학습 준비 완료.* 모든 설정:\n• model: resnet18\n• epochs: 3"
    dicts = valid_dicts(render.config_summary(reply, config, session_id=4, config_key="abc"))
    assert text_of(dicts) == reply
    values = buttons(dicts)
    assert set(values) == {"train_start", "train_cancel"}
    start = render.StartValue.decode(values["train_start"])
    assert (start.session_id, start.config_key) == (4, "abc")
    assert TrainingConfig.model_validate(start.config) == config


def test_long_texts_are_clipped_to_slacks_limits() -> None:
    failed = view(status=RunStatus.FAILED, error_message="x" * 5000)
    valid_dicts(render.progress_message(failed))
    config = TrainingConfig(dataset_path="/d" + "/long_folder_name" * 60, num_classes=100)
    summary = valid_dicts(render.config_summary("• " * 4000, config, session_id=1, config_key="k"))
    assert len(text_of(summary)) == 3000


def test_completion_and_ending_texts() -> None:
    done = view(status=RunStatus.COMPLETED, current_epoch=10)
    text = render.completion_text(
        done, {"val_acc": 0.9, "val_loss": 0.25, "train_loss": 0.2}, {"cat": 1.0, "dog": 0.8}
    )
    assert "*90.0%* (best 70.0%)" in text and "0.2500" in text and "cat 100%, dog 80%" in text
    stopped = render.ending_text(view(status=RunStatus.STOPPED, checkpoint_path="/c"))
    assert "stopped after epoch 3" in stopped and "Resume" in stopped
    assert "Resume" not in render.ending_text(view(status=RunStatus.FAILED, error_message="bad data"))
