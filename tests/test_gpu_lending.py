"""A prediction worker gets a GPU only from the run manager's inventory: one no training run holds, and a
training run that needs it takes it back (the worker stops before the trainer starts)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bot.predict import Accepted, ImageResult, PredictService
from bot.runs import RunManager
from bot.runs.gpus import GpuInventory
from bot.storage import Database, RunStatus
from tests.runs_support import fake_command, make_request, make_settings, managers
from tests.waiting import wait_until

# a stand-in for `python -m training.serve`: every image's top class is the device it runs on
FAKE_WORKER = """
import json, os, sys
print(json.dumps({"ready": True}), flush=True)
where = os.environ.get("CUDA_VISIBLE_DEVICES", "all") if "cuda" in sys.argv else "cpu"
for line in sys.stdin:
    request = json.loads(line)
    results = [{"top": [[where, 1.0]]} for _ in request["images"]]
    print(json.dumps({"id": request["id"], "results": results}), flush=True)
"""


def _seen(out_dir: str | None) -> dict | None:
    """What the trainer of a run folder saw (once it has started)."""
    path = Path(out_dir or "") / "seen.json"
    text = path.read_text() if path.is_file() else ""
    return json.loads(text) if text.endswith("}") else None  # written whole


def _device(predictions: PredictService, image: Accepted) -> str:
    (answer,) = predictions.predict("unused", [image])
    assert isinstance(answer, ImageResult)
    return answer.top[0][0]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_training_run_takes_its_gpu_back_from_a_prediction_worker(tmp_path: Path, db: Database) -> None:
    settings = make_settings(tmp_path, max_concurrent_runs=None)  # one run per GPU
    image = Accepted("a.png", tmp_path / "a.png")
    with managers(db) as created:
        manager = RunManager(
            db,
            settings,
            trainer_command=fake_command("--epoch-seconds", "0.4"),
            gpus=GpuInventory(read=lambda: ["0", "1"]),
        )
        created.append(manager)
        manager.start()
        predictions = PredictService(
            command=[sys.executable, "-c", FAKE_WORKER], gpus=manager, memory_mb=None
        )
        try:
            assert _device(predictions, image) == "0"  # lent: no run holds it
            worker = predictions._workers["0"].process
            # the worker holds GPU 0, so the first run goes to GPU 1 and the worker is left alone
            first = manager.submit(make_request("first", epochs=6))
            assert first.status == RunStatus.RUNNING and worker.poll() is None
            # the second run needs GPU 0: the worker has stopped by the time its trainer starts
            second = manager.submit(make_request("second", epochs=2))
            assert worker.poll() is not None and predictions.devices() == []
            seen = [wait_until(lambda run=run: _seen(run.output_dir)) for run in (first, second)]
            assert [s["cuda_visible_devices"] for s in seen] == ["1", "0"]
            assert manager.busy_gpus() == {"0", "1"}
            assert _device(predictions, image) == "cpu"  # every GPU trains: the CPU worker answers
            wait_until(lambda: manager.get(second.id).status == RunStatus.COMPLETED)
            wait_until(lambda: "0" not in manager.busy_gpus())  # its trainer has exited too
            assert _device(predictions, image) == "0"
        finally:
            predictions.close()
