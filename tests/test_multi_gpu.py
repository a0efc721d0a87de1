"""Multi-GPU runs, bot side: the `gpus` setting read from a conversation, refused beyond what this host (or
one node of the Slurm partition) has without touching the draft, and the launch of a run on N GPUs."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.conversation import ConversationService
from bot.conversation.facts import Gpu, HostFacts
from bot.conversation.parsing import ParseContext
from bot.conversation.rules import parse_message
from bot.i18n import t
from bot.runs import RunManager, StartRequest
from bot.runs.gpus import GpuInventory
from bot.runs.launcher import trainer_args
from bot.runs.slurm import SlurmLauncher
from bot.settings import Settings
from bot.storage import Database, RunStatus
from tests.conversation_support import say
from tests.imagegen import make_image_folder
from tests.runs_support import fake_command, make_request, make_settings, managers
from tests.waiting import wait_until


@pytest.mark.parametrize(
    ("text", "gpus"),
    [
        ("4 GPU로 학습", 4),
        ("use 2 GPUs", 2),
        ("GPU 2개", 2),
        ("on 2 gpus", 2),
        ("train on two GPUs", 2),
        ("GPU 두 개로 20에폭", 2),
        ("gpus=3", 3),
        ("4개의 GPU로 학습해줘", 4),
        ("batch 64 with 8 gpus", 8),
    ],
)
def test_the_rule_parser_reads_the_gpu_count(text: str, gpus: int) -> None:
    parsed = parse_message(text, ParseContext(asked_field=None, last_field=None))
    assert parsed.intent == "settings" and parsed.updates["gpus"] == gpus


def test_other_numbers_near_gpu_are_not_the_gpu_count() -> None:
    context = ParseContext(asked_field=None, last_field=None)
    assert parse_message("GPU로 10 에폭", context).updates == {"epochs": 10}
    assert "gpus" not in parse_message("my gpu has 24 GB", context).updates
    assert parse_message("GPU 있어?", context).intent == "question"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'bot.db'}")  # both databases are tested elsewhere
    database.create_all()
    return database


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    make_image_folder(root / "cats", classes=("korat", "siamese"), per_class=2, size=8)
    return root


def service_with(db: Database, data_root: Path, gpus: int, **settings: object) -> ConversationService:
    config = Settings(data_root=data_root, _env_file=None, **settings)  # type: ignore[arg-type]
    found = [Gpu(str(index), "NVIDIA H200", 143771) for index in range(gpus)]
    facts = HostFacts(config, db, reachable=lambda: False, gpus=lambda: found, partition_gpus=lambda: 4)
    return ConversationService(db, config, "rules", facts=facts)


def test_more_gpus_than_the_host_has_are_refused_and_the_draft_kept(db: Database, data_root: Path) -> None:
    service = service_with(db, data_root, gpus=1)
    before = say(service, "resnet18 on the cats dataset, 3 epochs")
    assert before.complete
    turn = say(service, "use 2 GPUs")
    assert "This host has 1 GPU(s); a run can use at most 1" in turn.reply
    assert "`2` GPUs is too many and I kept the default (1)" in turn.reply
    assert turn.draft == before.draft and turn.config is not None and turn.config.gpus == 1


def test_a_korean_request_is_refused_in_korean_on_a_host_without_gpus(db: Database, data_root: Path) -> None:
    turn = say(service_with(db, data_root, gpus=0), "cats 데이터셋으로 5 에폭, 4 GPU로 학습")
    assert "이 서버에는 GPU가 없어서" in turn.reply and "GPU `4`개는 쓸 수 없어서" in turn.reply
    assert "gpus" not in turn.draft and turn.draft["epochs"] == 5


def test_gpus_the_host_has_are_set_and_shown_in_the_summary(db: Database, data_root: Path) -> None:
    turn = say(service_with(db, data_root, gpus=4), "resnet18 on the cats dataset, 3 epochs, use 4 GPUs")
    assert turn.complete and turn.config is not None and turn.config.gpus == 4
    assert "• GPUs: 4" in turn.reply
    korean = say(service_with(db, data_root, gpus=2), "GPU 2개로 바꿔줘")  # the same thread, in Korean
    assert korean.draft["gpus"] == 2 and "• GPU 수: 2" in korean.reply


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "resnet18 on the cats dataset, 3 epochs"), ("ko", "cats 데이터셋으로 resnet18, 3 에폭")],
)
def test_a_host_without_gpus_says_so_in_the_summary(
    db: Database, data_root: Path, language: str, text: str
) -> None:
    turn = say(service_with(db, data_root, gpus=0), text)
    [line] = [line for line in turn.reply.splitlines() if line.startswith(("• GPUs:", "• GPU 수:"))]
    assert line.endswith(t(language, "summary_gpus_none")) and "1" not in line, line


def test_on_slurm_the_limit_is_one_node_of_the_partition(db: Database, data_root: Path) -> None:
    service = service_with(db, data_root, gpus=0, run_backend="slurm", slurm_partition="a100")
    assert say(service, "cats, 2 epochs, on 4 gpus").draft["gpus"] == 4  # the login node has none
    turn = say(service, "use 8 GPUs")
    assert "The nodes of Slurm partition `a100` have at most 4 GPU(s)" in turn.reply
    assert turn.draft["gpus"] == 4


# --- launching ------------------------------------------------------------------------------------------


def test_a_multi_gpu_trainer_command_is_torchrun_and_a_one_gpu_one_is_unchanged(tmp_path: Path) -> None:
    trainer = [sys.executable, "-m", "training"]
    config, out = tmp_path / "run.json", tmp_path / "out"
    assert trainer_args(trainer, config, out, resume=False) == [
        *trainer, "--config", str(config), "--out", str(out)
    ]  # fmt: skip
    assert trainer_args(trainer, config, out, resume=True, gpus=4) == [
        sys.executable, "-m", "training.launch", "--standalone", "--nproc-per-node=4", "-m", "training",
        "--config", str(config), "--out", str(out), "--resume",
    ]  # fmt: skip


def test_the_inventory_hands_one_run_as_many_gpus_as_it_asks_least_used_first() -> None:
    inventory = GpuInventory(lambda: ["0", "1", "2", "3"])
    assert inventory.pick([], 2) == "0,1"
    assert inventory.pick(["0,1", "2"], 2) == "0,3"  # the free one, then the first of the rest
    assert inventory.pick(["0,1", "2"], 1) == "3"
    assert inventory.pick(["0,1,2,3"], 4) == "0,1,2,3"


def test_the_local_backend_runs_torchrun_on_the_runs_gpus(db: Database, tmp_path: Path) -> None:
    """A real manager and torchrun with the fake trainer as its ranks, on a fake inventory of 3 GPUs: a
    2-GPU run gets two of them as CUDA_VISIBLE_DEVICES, a 1-GPU run the third, and a second 2-GPU run
    waits until two are free (one run per GPU)."""
    settings = make_settings(tmp_path, max_concurrent_runs=None)
    with managers(db) as created:
        manager = RunManager(
            db,
            settings,
            trainer_command=fake_command("--epoch-seconds", "1"),
            gpus=GpuInventory(lambda: ["0", "1", "2"]),
        )
        created.append(manager)
        manager.start()
        wide, narrow, waiting = (
            manager.submit(with_gpus(make_request(key, epochs=1), gpus))
            for key, gpus in (("wide", 2), ("narrow", 1), ("waiting", 2))
        )
        assert [manager.get(run.id).status for run in (wide, narrow, waiting)] == [
            RunStatus.RUNNING, RunStatus.RUNNING, RunStatus.QUEUED
        ]  # fmt: skip
        assert manager.busy_gpus() == {"0", "1", "2"}
        for run in (wide, narrow, waiting):
            wait_until(lambda run=run: manager.get(run.id).status == RunStatus.COMPLETED, timeout=120)
    out = Path(manager.get(wide.id).output_dir or "")
    rank0 = json.loads((out / "seen.json").read_text())
    rank1 = json.loads((out / "seen-rank1.json").read_text())
    assert rank0["cuda_visible_devices"] == rank1["cuda_visible_devices"] == "0,1"
    assert (rank0["rank"], rank1["rank"], rank0["world_size"]) == ("0", "1", "2")
    narrow_seen = json.loads((Path(manager.get(narrow.id).output_dir or "") / "seen.json").read_text())
    assert narrow_seen["cuda_visible_devices"] == "2" and "rank" not in narrow_seen
    assert "--nproc-per-node=2" not in narrow_seen["argv"]
    # one set of events: rank 0's
    events = (out / "events.jsonl").read_text().splitlines()
    assert sum('"type":"start"' in line for line in events) == 1


def with_gpus(request: StartRequest, gpus: int) -> StartRequest:
    return replace(request, config=request.config.model_copy(update={"gpus": gpus}))


def test_slurm_asks_for_a_multi_gpu_runs_gpus_on_one_node(tmp_path: Path) -> None:
    launcher = SlurmLauncher(gpus_per_run=1)
    assert "--gpus-per-node=4" in launcher._resource_args(4)
    assert "--gpus-per-node=1" in launcher._resource_args(1)
    assert not any(arg.startswith("--gpus") for arg in SlurmLauncher(gpus_per_run=0)._resource_args(1))


def test_the_gpu_answer_says_how_many_one_run_can_use(db: Database, data_root: Path) -> None:
    assert (
        "One run can use up to 4 GPUs together"
        in say(service_with(db, data_root, gpus=4), "which GPUs are there?").reply
    )
    assert "최대 2개까지 함께" in say(service_with(db, data_root, gpus=2), "GPU 뭐 있어?").reply
    assert "together" not in say(service_with(db, data_root, gpus=1), "which GPUs are there?").reply
