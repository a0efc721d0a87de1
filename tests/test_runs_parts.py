"""The run manager's parts on their own: the GPU inventory and the scheduler adapter."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.present import runs as present
from bot.runs import RunManager
from bot.runs.gpus import GpuInventory
from bot.runs.record import record_event
from bot.runs.schedule import RunScheduler
from bot.runs.views import view_of
from bot.storage import Database, RunStatus, TrainingRun
from tests.runs_support import fake_command, make_request, make_settings, managers
from tests.waiting import wait_until
from training.events import (
    DataReport,
    DoneEvent,
    EpochEvent,
    ProgressEvent,
    StartEvent,
    WarningEvent,
)


def test_gpus_are_read_once_at_start_and_spread_over_runs(tmp_path: Path, db: Database) -> None:
    reads: list[float] = []

    def read() -> list[str]:
        reads.append(time.monotonic())
        return ["0", "1"]

    settings = make_settings(tmp_path, max_concurrent_runs=None)  # one run per GPU
    release = tmp_path / "release"  # the first runs train only once the third has been submitted
    command = fake_command("--epoch-seconds", "0.1", "--hold-until", str(release))
    with managers(db) as created:
        manager = RunManager(db, settings, trainer_command=command, gpus=GpuInventory(read))
        created.append(manager)
        manager.start()
        runs = [manager.submit(make_request(f"g{n}", epochs=2)) for n in range(3)]
        assert [run.status for run in runs] == [RunStatus.RUNNING, RunStatus.RUNNING, RunStatus.QUEUED]
        release.touch()
        for run in runs:
            wait_until(lambda run=run: manager.get(run.id).status == RunStatus.COMPLETED)

    assert len(reads) == 1
    seen = [
        json.loads((Path(manager.get(run.id).output_dir or "") / "seen.json").read_text())[
            "cuda_visible_devices"
        ]
        for run in runs
    ]
    assert sorted(seen[:2]) == ["0", "1"] and seen[2] in {"0", "1"}


def test_inventory_refresh_reads_again_and_pick_prefers_the_least_used() -> None:
    listings = iter([["0", "1"], ["0", "1", "2"]])
    inventory = GpuInventory(lambda: next(listings))
    assert inventory.indices == ("0", "1")
    assert inventory.pick(["0", "0", "1"]) == "1"
    assert inventory.refresh() == ("0", "1", "2")
    assert inventory.pick(["0", "1"]) == "2"
    assert GpuInventory(list).pick([]) is None


def test_scheduler_fires_past_starts_at_once_and_forgets_removed_ones() -> None:
    fired: list[int] = []

    def on_due(run_id: int) -> None:
        fired.append(run_id)

    scheduler = RunScheduler("Asia/Seoul", on_due=on_due, watchdog=lambda: None, watchdog_interval=60)
    now = datetime.now(UTC)
    scheduler.add(1, now - timedelta(hours=1))  # missed while the bot was down
    scheduler.add(2, now + timedelta(seconds=0.3))
    scheduler.add(3, now + timedelta(seconds=0.5))  # due after 2: once it fired, 2's time has passed
    scheduler.remove(2)
    scheduler.remove(99)  # unknown: nothing to do
    scheduler.start()
    try:
        wait_until(lambda: 3 in fired, timeout=5, what="run 3 due")
    finally:
        scheduler.shutdown()
    assert fired == [1, 3]


def test_what_the_bot_stores_of_the_events_is_what_the_presenters_read(db: Database) -> None:
    """record_event keeps the trainer's events on the run's row; the view reads them back through the
    events' own models (the latest epoch, the bests and results, the live figures, warnings, files)."""
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    start = StartEvent(
        run_id="r", model="resnet18", device="cpu", classes=["a", "b"], counts={"train": 8, "val": 2},
        num_params=10, config={}, data=DataReport(images_from="cache_hit", images=10, seconds=0.12),
    )  # fmt: skip
    epochs = [
        EpochEvent(epoch=epoch, epochs=3, train_loss=loss, val_acc=acc, lr=1e-3, epoch_seconds=2.0,
                   eta_seconds=eta, best_val_acc=0.5, images_per_sec=40.0)
        for epoch, loss, acc, eta in ((1, 0.9, 0.5, 4.0), (2, 0.7, 0.4, 2.0))
    ]  # fmt: skip
    progress = ProgressEvent(epoch=3, step=1, steps_per_epoch=4, loss=0.61, images_per_sec=44.0)
    done = DoneEvent(
        epochs_completed=3, final={"val_acc": 0.75, "train_loss": 0.5}, best_val_acc=0.75, best_epoch=3,
        per_class_acc={"a": 1.0, "b": 0.5}, artifacts={"model": "/out/model.safetensors"},
    )  # fmt: skip
    with db.session() as session:
        config = make_request("k").config.model_dump(mode="json")
        row = TrainingRun(
            config=config, status=RunStatus.RUNNING, total_epochs=3, start_key="k", started_at=now
        )
        session.add(row)
        session.flush()
        for event in (start, WarningEvent(code="tiny_class", message="b has 1 image"), *epochs, progress):
            record_event(session, row, event)
        running = view_of(row)
        record_event(session, row, done)
        completed = view_of(row)

    recorded = running.figures
    assert (
        recorded.latest.val_acc == 0.4 and recorded.latest.train_loss == 0.7 and recorded.running_loss == 0.61
    )
    assert (
        running.summary.best_val_acc == 0.5
        and recorded.eta_seconds == 2.0
        and recorded.images_per_sec == 44.0
    )
    assert (
        recorded.device == "cpu" and recorded.counts == {"train": 8, "val": 2} and recorded.data == start.data
    )
    assert [(warning.code, warning.message) for warning in recorded.warnings] == [
        ("tiny_class", "b has 1 image")
    ]
    assert present.figures(running, "en", now)[:4] == [
        "Epoch *2/3*", "loss *0.6100*", "val acc *40.0%* (best 50.0%)", "44 img/s"
    ]  # fmt: skip
    assert "10 images from the decoded cache in 0.1 s" in present.figures(running, "en", now)
    assert present.warnings(running, "en") == ["⚠️ b has 1 image"]

    assert completed.summary.final.val_acc == 0.75 and completed.summary.best_val_acc == 0.75
    assert completed.figures.artifacts == {"model": "/out/model.safetensors"}
    assert completed.figures.eta_seconds == 0.0 and completed.summary.per_class_acc == {"a": 1.0, "b": 0.5}
    shown = present.completion(completed, "en")
    assert "• Final validation accuracy: *75.0%* (best 75.0%)" in shown
