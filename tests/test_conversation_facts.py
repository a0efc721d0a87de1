"""Facts behind the answers and the summary: pretrained weights told truthfully, throughput history from the
database, GPUs and the queue; and the rule answers built from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation import ConversationService
from bot.conversation.facts import Gpu, HostFacts, _hf_cached, find_weights, measured_throughput
from bot.settings import Settings
from bot.storage import Database, RunEpoch, RunStatus, TrainingRun
from tests.conversation_support import say
from tests.imagegen import make_image_folder


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    make_image_folder(root / "cats", classes=("korat", "persian", "siamese"), per_class=4, size=8)
    return root


def add_run(
    db: Database,
    *,
    model: str = "resnet18",
    image_size: int = 224,
    device: str = "cpu",
    images: tuple[int, int] = (80, 20),
    epoch_seconds: tuple[float, ...] = (30.0, 10.0, 12.0),
    status: RunStatus = RunStatus.COMPLETED,
) -> None:
    with db.session() as session:
        run = TrainingRun(
            status=status,
            config={"model": model, "image_size": image_size, "dataset_path": "/x"},
            metrics={"device": device, "counts": {"train": images[0], "val": images[1]}},
        )
        session.add(run)
        session.flush()
        for epoch, seconds in enumerate(epoch_seconds, start=1):
            session.add(RunEpoch(run_id=run.id, epoch=epoch, metrics={"epoch_seconds": seconds}))


def offline_service(db: Database, data_root: Path, gpus: list[Gpu] | None = None) -> ConversationService:
    facts = HostFacts(
        Settings(data_root=data_root, _env_file=None),
        db,
        reachable=lambda: False,
        gpus=lambda: list(gpus or []),
        hf_cached=lambda repo: False,
        probe=lambda *key: None,  # no quick measurement: the answers go by the history alone
    )
    return ConversationService(db, Settings(data_root=data_root, _env_file=None), "rules", facts=facts)


# --- pretrained weights ------------------------------------------------------------------------------------
def test_weights_status_from_the_caches_and_the_hub() -> None:
    assert find_weights("resnet18", reachable=lambda: False, hf_cached=lambda r: True).status == "cached"
    assert find_weights("resnet18", reachable=lambda: True, hf_cached=lambda r: False).status == "hub"
    offline = find_weights("resnet18", reachable=lambda: False, hf_cached=lambda r: False)
    assert offline.status == "unavailable" and offline.source == "timm/resnet18.a1_in1k"
    assert find_weights("not_a_model", reachable=lambda: True).status == "none"


def fake_hf_cache(root: Path, repo: str, filename: str) -> None:
    folder = root / ("models--" + repo.replace("/", "--"))
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("abc123")
    snapshot = folder / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / filename).write_bytes(b"weights")


def test_the_hugging_face_cache_is_read_for_real(tmp_path: Path) -> None:
    assert not _hf_cached("timm/resnet18.a1_in1k", cache_dir=tmp_path)
    fake_hf_cache(tmp_path, "timm/resnet18.a1_in1k", "model.safetensors")
    assert _hf_cached("timm/resnet18.a1_in1k", cache_dir=tmp_path)


def test_the_summary_on_an_offline_host_says_the_run_starts_from_random_init(
    db: Database, data_root: Path
) -> None:
    turn = say(offline_service(db, data_root), "train resnet18 on cats, 5 epochs")
    assert turn.complete
    line = next(line for line in turn.reply.splitlines() if line.startswith("• pretrained weights"))
    assert "not available here" in line and "random initialisation" in line
    korean = say(offline_service(db, data_root), "배치 16")
    assert "구할 수 없어요" in korean.reply and "랜덤 초기화" in korean.reply
    scratch = say(offline_service(db, data_root), "from scratch")
    assert "no (from scratch)" in scratch.reply or "사용 안 함" in scratch.reply


def test_the_summary_says_when_weights_come_from_the_cache(db: Database, data_root: Path) -> None:
    facts = HostFacts(
        Settings(data_root=data_root), db, reachable=lambda: False, gpus=list, hf_cached=lambda r: True
    )
    service = ConversationService(db, Settings(data_root=data_root), "rules", facts=facts)
    assert "yes (in this host's cache)" in say(service, "train resnet18 on cats, 5 epochs").reply


# --- throughput history and estimates ---------------------------------------------------------------------
def test_throughput_from_past_runs_leaves_out_the_first_epoch(db: Database) -> None:
    add_run(db, epoch_seconds=(30.0, 10.0, 12.0))  # 100 images: 0.10 and 0.12 s per image
    add_run(db, epoch_seconds=(50.0, 11.0))  # 0.11
    add_run(db, model="resnet50", epoch_seconds=(99.0, 99.0))
    add_run(db, device="cuda:0", epoch_seconds=(1.0, 1.0))
    add_run(db, status=RunStatus.FAILED, epoch_seconds=(1.0, 1.0))
    found = measured_throughput(db, "resnet18", 224, "cpu")
    assert found is not None and found.runs == 2
    assert found.seconds_per_image == pytest.approx(0.11)
    assert found.epoch_seconds(1000) == pytest.approx(110.0)
    assert measured_throughput(db, "resnet18", 224, "cuda").seconds_per_image == pytest.approx(0.01)  # type: ignore[union-attr]
    assert measured_throughput(db, "efficientnet_b0", 224, "cpu") is None


def test_throughput_at_another_image_size_is_scaled_by_area(db: Database) -> None:
    add_run(db, image_size=112, epoch_seconds=(9.0, 10.0))
    found = measured_throughput(db, "resnet18", 224, "cpu")
    assert found is not None and found.measured_size == 112
    assert found.seconds_per_image == pytest.approx(0.1 * 4)


def test_the_summary_and_the_duration_answer_use_the_history(db: Database, data_root: Path) -> None:
    service = offline_service(db, data_root)
    no_history = say(service, "train resnet18 on cats, 5 epochs", "how long will it take?")
    assert "no basis for an estimate yet" in no_history.reply and no_history.draft["epochs"] == 5
    add_run(db, epoch_seconds=(30.0, 300.0))  # 3 s per image; cats has 12 images → 36 s per epoch
    summary = say(service, "10 epochs")
    assert "Estimated time: about 6 min" in summary.reply
    answer = say(service, "how long will it take?")
    assert "About 6 min for 10 epochs (about 36 s per epoch over 12 images)" in answer.reply
    assert "1 past run(s) of resnet18 on this host's CPU" in answer.reply
    korean = say(service, "얼마나 걸려?")
    assert "10 에폭에 약 6분" in korean.reply


# --- answers from facts -----------------------------------------------------------------------------------
def test_gpu_and_queue_answers(db: Database, data_root: Path) -> None:
    add_run(db, status=RunStatus.RUNNING)
    add_run(db, status=RunStatus.QUEUED)
    gpus = [Gpu("0", "NVIDIA H200", 143771), Gpu("1", "NVIDIA H200", 143771)]
    turn = say(offline_service(db, data_root, gpus), "which GPUs does this host have?")
    assert "2 GPU(s): 0: NVIDIA H200 (140 GiB), 1: NVIDIA H200 (140 GiB)" in turn.reply
    assert "1 running, 1 queued" in turn.reply
    cpu = say(offline_service(db, data_root), "GPU 있어?")
    assert "GPU가 없어서 CPU로 학습해요" in cpu.reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("which model is best for 400 images?", ["400 images", "resnet18", "random initialisation"]),
        ("what model for 100000 images?", ["100000 images", "resnet50"]),
        ("이미지 400장이면 어떤 모델이 좋아?", ["이미지 400장", "resnet18", "랜덤 초기화"]),
    ],
)
def test_model_advice_speaks_of_the_data_size_and_the_weights_here(
    db: Database, data_root: Path, text: str, expected: list[str]
) -> None:
    turn = say(offline_service(db, data_root), "2 epochs", text)
    for part in expected:
        assert part in turn.reply
    assert turn.draft == {"epochs": 2}


def test_model_advice_uses_the_dataset_once_known(db: Database, data_root: Path) -> None:
    turn = say(offline_service(db, data_root), "train on cats", "what model should I use?")
    assert "12 images (about 4 per class)" in turn.reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("is 500 epochs too many?", "500 epochs is more than this usually needs"),
        ("is 1 epoch enough?", "on the short side"),
        ("what does batch size 128 mean?", "*Batch size*"),
        ("학습률이 뭐야?", "*학습률*"),
        ("처음부터 학습하는 게 나아?", "랜덤 초기화"),
        ("what datasets are there?", "`cats`"),
        ("current settings?", "• epochs: 2"),
        ("what's the meaning of life?", "I can't answer that yet"),
    ],
)
def test_answers_speak_to_the_question_and_change_nothing(
    db: Database, data_root: Path, text: str, expected: str
) -> None:
    turn = say(offline_service(db, data_root), "2 epochs", text)
    assert expected in turn.reply
    assert turn.draft == {"epochs": 2} and turn.intent == "question"


def test_a_question_keeps_a_confirming_thread_ready_to_start(db: Database, data_root: Path) -> None:
    service = offline_service(db, data_root)
    done = say(service, "train resnet18 on cats, 5 epochs")
    asked = say(service, "how long will it take?")
    assert done.complete and not asked.complete and asked.ready
    assert "press *Start*" in asked.reply
    session = service.get_session("T", "C", "1")
    assert session is not None and session.state == "confirming"
    assert service.confirmed_config(session) is not None


def test_commands_are_left_to_the_front_end_and_help_is_answered(db: Database, data_root: Path) -> None:
    service = offline_service(db, data_root)
    say(service, "resnet18, 5 epochs")
    status = say(service, "status")
    assert (status.intent, status.command, status.reply) == (
        "command",
        "status",
        "Running and queued runs: `/train status`.",
    )
    help_turn = say(service, "help")
    assert "What I can do" in help_turn.reply and help_turn.draft == {"model": "resnet18", "epochs": 5}
    start = say(service, "start")
    assert start.command == "start" and "Not ready to start yet: I still need dataset" in start.reply


def test_small_talk_answers_and_asks_on(db: Database, data_root: Path) -> None:
    turn = say(offline_service(db, data_root), "hi")
    assert turn.intent == "smalltalk" and turn.reply.startswith("Hello!") and "Which dataset" in turn.reply
    assert turn.missing == ["dataset_path", "epochs"]
