"""The run-time estimate counts what a run spends outside its epochs (start-up, the test evaluation, the
export) from this host's history, and answers from a quick measurement before any run finished here."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.conversation import ConversationService
from bot.conversation.facts import HostFacts, Throughput, measured_throughput, speed_probe
from bot.settings import Settings
from bot.storage import Database, RunEpoch, RunStatus, TrainingRun
from bot.storage.models import utcnow
from tests.imagegen import make_image_folder


def add_finished_run(db: Database, epoch_seconds: tuple[float, ...], wall: float) -> None:
    """A finished resnet18 run at 224 px over 100 images (80 train, 20 val) that took `wall` seconds."""
    started = utcnow()
    with db.session() as session:
        run = TrainingRun(
            status=RunStatus.COMPLETED,
            config={"model": "resnet18", "image_size": 224, "dataset_path": "/x"},
            metrics={"device": "cpu", "counts": {"train": 80, "val": 20}},
            started_at=started,
            completed_at=started + timedelta(seconds=wall),
        )
        session.add(run)
        session.flush()
        for epoch, seconds in enumerate(epoch_seconds, start=1):
            session.add(RunEpoch(run_id=run.id, epoch=epoch, metrics={"epoch_seconds": seconds}))


def service(db: Database, data_root: Path, probe=lambda *key: None) -> ConversationService:
    settings = Settings(data_root=data_root, _env_file=None)
    facts = HostFacts(
        settings, db, reachable=lambda: False, gpus=list, hf_cached=lambda _: False, probe=probe
    )
    return ConversationService(db, settings, "rules", facts=facts)


def ask(chat: ConversationService, *texts: str) -> str:
    reply = ""
    for text in texts:
        reply = chat.handle_message(team_id="T", channel_id="C", thread_ts="1", user_id="U", text=text).reply
    return reply


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    make_image_folder(tmp_path / "data" / "cats", classes=("a", "b"), per_class=5, size=8)  # 10 images
    return tmp_path / "data"


def test_the_estimate_adds_the_time_outside_the_epochs(db: Database, data_root: Path) -> None:
    add_finished_run(db, (12.0, 10.0, 10.0), wall=40.0)  # 8 s outside its epochs
    add_finished_run(db, (10.0, 10.0), wall=32.0)  # 12 s
    add_finished_run(db, (10.0, 10.0), wall=30.0)  # 10 s
    found = measured_throughput(db, "resnet18", 224, "cpu")
    assert found is not None and found.overhead_seconds == pytest.approx(10.0)
    assert found.run_seconds(100, 3) == pytest.approx(10.0 + 3 * 10.0)
    # 10 images at 0.1 s each, 5 epochs: 5 s of epochs and 10 s besides
    reply = ask(service(db, data_root), "train resnet18 on cats, 5 epochs", "how long will it take?")
    assert "About 15 s for 5 epochs (about 1 s per epoch over 10 images, and about 10 s to start" in reply


def test_before_any_run_a_quick_measurement_answers(db: Database, data_root: Path) -> None:
    asked: list[tuple] = []

    def probe(*key: object) -> Throughput:
        asked.append(key)
        return Throughput("resnet18", 224, "cpu", 0.5, 0, 224, overhead_seconds=7.0)

    chat = service(db, data_root, probe)
    reply = ask(chat, "train resnet18 on cats, 4 epochs", "how long will it take?")
    assert "About 27 s for 4 epochs" in reply and "quick measurement" in reply
    assert ask(chat, "얼마나 걸려?").startswith("4 에폭에 약 27초")
    assert asked == [("resnet18", 224, 32, "cpu")]  # measured once, then remembered
    none = ask(service(db, data_root), "train resnet18 on cats, 4 epochs", "how long will it take?")
    assert "no basis for an estimate yet" in none


def test_the_quick_measurement_trains_a_few_steps_here() -> None:
    found = speed_probe("resnet18", 32, 4, "cpu")
    assert found is not None and found.runs == 0 and found.device == "cpu"
    assert 0 < found.seconds_per_image < 5
    assert found.overhead_seconds > 0  # the process start-up: imports, the model
