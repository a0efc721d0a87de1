"""The run manager's parts on their own: the GPU inventory and the scheduler adapter."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.runs import RunManager
from bot.runs.gpus import GpuInventory
from bot.runs.schedule import RunScheduler
from bot.storage import Database, RunStatus
from tests.runs_support import fake_command, make_request, make_settings, managers
from tests.waiting import wait_until


def test_gpus_are_read_once_at_start_and_spread_over_runs(tmp_path: Path, db: Database) -> None:
    reads: list[float] = []

    def read() -> list[str]:
        reads.append(time.monotonic())
        return ["0", "1"]

    settings = make_settings(tmp_path, max_concurrent_runs=None)  # one run per GPU
    with managers(db) as created:
        manager = RunManager(
            db, settings, trainer_command=fake_command("--epoch-seconds", "0.1"), gpus=GpuInventory(read)
        )
        created.append(manager)
        manager.start()
        runs = [manager.submit(make_request(f"g{n}", epochs=2)) for n in range(3)]
        assert [run.status for run in runs] == [RunStatus.RUNNING, RunStatus.RUNNING, RunStatus.QUEUED]
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
