"""The run manager with the real trainer (`python -m training`): a tiny CPU run, end to end."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import select

from bot.runs import RunManager
from bot.storage import Database, RunEpoch, RunStatus
from tests.imagegen import make_image_folder
from tests.runs_support import Recorder, make_request, make_settings, managers
from tests.waiting import wait_until


def test_a_tiny_real_training_run_is_followed_to_completion(tmp_path: Path) -> None:
    dataset = make_image_folder(tmp_path / "data" / "shapes", per_class=8)
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    db.create_all()
    request = make_request("real", epochs=2, dataset=str(dataset))
    request.config.image_size = 32
    request.config.batch_size = 8
    command = [sys.executable, "-m", "training", "--device", "cpu", "--workers", "1"]
    with managers(db) as created:
        manager = RunManager(db, make_settings(tmp_path), trainer_command=command)
        created.append(manager)
        manager.start()
        recorder = Recorder()
        manager.subscribe(recorder)
        run = manager.submit(request)
        done = wait_until(lambda: (view := manager.get(run.id)).status.is_terminal and view, timeout=120)

    assert done.status == RunStatus.COMPLETED, done.error_message
    assert done.current_epoch == 2 and done.progress == 1.0
    assert 0.0 <= (done.summary.best_val_acc or 0.0) <= 1.0
    assert Path(done.figures.artifacts["model"]).is_file()
    # the first run on this dataset decoded its images into the shared cache under OUTPUT_ROOT
    assert done.metrics["data"]["images_from"] == "cache_built" and done.metrics["data"]["images"] == 24
    assert Path(done.metrics["data"]["cache_dir"]).parent == Path(done.output_dir).parent
    with db.session() as session:
        epochs = session.scalars(
            select(RunEpoch.epoch).where(RunEpoch.run_id == run.id).order_by(RunEpoch.epoch)
        )
        assert list(epochs) == [1, 2]
    event_types = [u.event.type for u in recorder.for_run(run.id) if u.event is not None]
    event_types = event_types[event_types.index("start") :]  # the `preparing` events lead
    assert event_types[0] == "start" and event_types.count("epoch") == 2 and "done" in event_types
