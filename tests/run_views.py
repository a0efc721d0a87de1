"""RunView snapshots for tests that need a run without a run manager."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.runs import RunView
from bot.runs.stored import stored_config
from bot.storage import RunStatus

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
METRICS = {
    "train_loss": 0.8, "running_loss": 0.61234, "val_acc": 0.625, "best_val_acc": 0.7,
    "images_per_sec": 123.4, "eta_seconds": 200,
}  # fmt: skip


def view(**changes: Any) -> RunView:
    """A running run of resnet18; `config` given as a dict is read the way a stored row is."""
    if isinstance(changes.get("config"), dict):
        changes["config"] = stored_config(changes["config"])
    base = RunView(
        id=7, status=RunStatus.RUNNING, config=stored_config({"model": "resnet18", "epochs": 10}),
        progress=0.35, current_epoch=3, total_epochs=10, metrics=METRICS,
        error_message=None, output_dir="/out/7", queue_position=None, requested_by="UOWNER",
        slack_channel="C1",
        slack_thread_ts="1.1", slack_ts="1.2", created_at=NOW, started_at=NOW - timedelta(seconds=95),
        completed_at=None, scheduled_for=None, checkpoint_path=None,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)
