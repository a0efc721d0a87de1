"""Shared helpers for the run manager tests: settings, a fake-trainer command, waiting, cleanup."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from bot.runs import RunManager, RunUpdate, StartRequest
from bot.runs.process import is_our_trainer
from bot.settings import Settings
from bot.storage import Database, RunStatus, SweepStatus, TrainingRun
from bot.sweeps.controller import SweepController
from bot.sweeps.spec import SweepSpec
from bot.sweeps.views import SweepView
from tests.waiting import wait_until
from training.config import TrainingConfig

FAKE_TRAINER = Path(__file__).with_name("fake_trainer.py")


def fake_command(*flags: str) -> list[str]:
    return [sys.executable, str(FAKE_TRAINER), *flags]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_root": tmp_path / "data",
        "output_root": tmp_path / "outputs",
        "max_concurrent_runs": 1,
        "stop_grace_seconds": 3.0,
        "stall_seconds": 60.0,
        "admin_user_ids": frozenset({"UADMIN"}),
        "timezone": "UTC",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def make_request(
    key: str, epochs: int = 3, user: str = "UOWNER", dataset: str = "/data/shapes"
) -> StartRequest:
    config = TrainingConfig(dataset_path=dataset, model="resnet18", epochs=epochs, pretrained=False)
    return StartRequest(
        config=config, requested_by=user, start_key=key, slack_channel="C1", slack_thread_ts="1.1"
    )


class Recorder:
    """A subscriber that keeps every update."""

    def __init__(self) -> None:
        self.updates: list[RunUpdate] = []
        self._lock = threading.Lock()

    def __call__(self, update: RunUpdate) -> None:
        with self._lock:
            self.updates.append(update)

    def for_run(self, run_id: int) -> list[RunUpdate]:
        with self._lock:
            return [update for update in self.updates if update.run.id == run_id]


def ended(pid: int, out_dir: str) -> bool:
    return not is_our_trainer(pid, out_dir)


@contextlib.contextmanager
def managers(db: Database) -> Iterator[list[RunManager]]:
    """Collects managers to shut down, then kills any trainer a test left running. A finished run's
    process gets a few seconds to end by itself first: torchrun's launcher removes its log folder from
    the temp folder as it ends, which a kill would leave behind."""
    created: list[RunManager] = []
    try:
        yield created
    finally:
        for manager in created:
            manager.shutdown(wait=True)
        with db.session() as session:
            rows = session.query(TrainingRun.pid, TrainingRun.output_dir, TrainingRun.status).all()
        for pid, out_dir, status in rows:
            if pid and out_dir and RunStatus(status).is_terminal:
                with contextlib.suppress(AssertionError):
                    wait_until(partial(ended, pid, out_dir), timeout=10, what="its end")
            if pid and out_dir and is_our_trainer(pid, out_dir):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)


def finished_sweep(
    db: Database,
    settings: Settings,
    spec: SweepSpec,
    base: TrainingConfig,
    trainer_command: list[str],
    timeout: float,
) -> SweepView:
    """A sweep of `spec` over `base`, run to its end on a run manager of its own with `trainer_command`
    for its trainers: its last view."""
    with managers(db) as created:
        manager = RunManager(db, settings, trainer_command=trainer_command)
        created.append(manager)
        sweeps = SweepController(db, manager, settings)
        manager.start()
        try:
            sweep = sweeps.create(spec, base, "UOWNER")
            wait_until(lambda: sweeps.view(sweep.id).status == SweepStatus.COMPLETED, timeout=timeout)
            return sweeps.view(sweep.id)
        finally:
            sweeps.close()
