"""DistributedDataParallel on the CPU: two gloo ranks started by the real torchrun (python -m
training.launch), on a tiny generated dataset. One set of events and artifacts (rank 0's), metrics that
match one process, stop and resume, and a rank that dies taking the run down."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.imagegen import make_image_folder
from tests.trainer_helpers import FAST_FLAGS, read_events, run_trainer
from tests.waiting import wait_until
from training import checkpoint
from training.artifacts import load_confusion_matrix
from training.augment import Normalizer
from training.contract import ExitCode, failure_kind, launch_command
from training.data import CachedImages, discover, load_eval_image
from training.device import Precision
from training.distributed import World, check_gpus
from training.errors import ConfigError
from training.evaluate import evaluate
from training.launch import exit_code
from training.model import build_model

RANKS = 2
MODEL = ["--model", "test_resnet"]  # timm's tiny ResNet (370k parameters, BatchNorm): ranks start fast


@pytest.fixture(scope="module")
def dataset(module_tmp: Path) -> Path:
    return make_image_folder(module_tmp / "data", per_class=10)


def start(
    data: Path,
    out: Path,
    *extra: str,
    epochs: int,
    flags: tuple[str, ...] = ("--device", "cpu", "--gpus", "2"),
) -> subprocess.Popen[bytes]:
    trainer = launch_command([sys.executable, "-m", "training"], RANKS)
    args = [*trainer, "--data", str(data), "--out", str(out), "--epochs", str(epochs), *FAST_FLAGS]
    temp = launch_temp(out)
    temp.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"GLOO_SOCKET_IFNAME": "lo", "TMPDIR": str(temp)}  # the ranks talk over loopback only
    out.mkdir(parents=True, exist_ok=True)
    with (out / "stderr.log").open("ab") as stderr:
        return subprocess.Popen(
            [*args, *MODEL, *flags, *extra],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            start_new_session=True,
        )


def launch_temp(out: Path) -> Path:
    """The temp folder (TMPDIR) a launch into `out` and its ranks are given, beside `out`."""
    return out.with_name(f"{out.name}-tmp")


def finish(process: subprocess.Popen[bytes], out: Path, timeout: float = 240) -> int:
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError((out / "stderr.log").read_text()[-3000:]) from None


def rank_pids(launcher: int) -> dict[int, int]:
    """The launcher's rank processes, by rank (torchrun gives each its RANK)."""
    ranks = {}
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == launcher
            ):
                environ = dict(
                    item.split("=", 1) for item in (entry / "environ").read_text().split("\0") if "=" in item
                )
                ranks[int(environ["RANK"])] = int(entry.name)
        except (OSError, KeyError, ValueError, IndexError):
            continue
    return ranks


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for_epoch(process: subprocess.Popen[bytes], out: Path, timeout: float = 180) -> dict[int, int]:
    """The rank pids, once rank 0 has reported its first epoch."""
    wait_until(
        lambda: process.poll() is not None or any(event.type == "epoch" for event in read_events(out)),
        timeout=timeout,
        what="rank 0's first epoch",
    )
    assert process.poll() is None, f"exit {process.poll()}: {(out / 'stderr.log').read_text()[-3000:]}"
    return rank_pids(process.pid)


@dataclass
class StoppedThenResumed:
    out: Path
    stop_code: int
    ranks: dict[int, int]  # the stopped run's rank pids
    stopped: Any  # its `stopped` event
    code: int  # the resumed run's exit code


@pytest.fixture(scope="module")
def stopped_then_resumed(dataset: Path, module_tmp: Path) -> StoppedThenResumed:
    """Two ranks stopped after their first epoch, then resumed with --resume for one more epoch."""
    out = module_tmp / "stopped-then-resumed"
    process = start(dataset, out, epochs=50)
    ranks = wait_for_epoch(process, out)
    process.send_signal(signal.SIGTERM)  # to the launcher only: torchrun passes it on to every rank
    stop_code = finish(process, out)
    stopped = read_events(out)[-1]
    epochs = getattr(stopped, "epoch", 0) + 1
    code = finish(start(dataset, out, "--resume", epochs=epochs), out)
    return StoppedThenResumed(out, stop_code, ranks, stopped, code)


def test_a_stop_ends_both_ranks_with_one_checkpoint(stopped_then_resumed: StoppedThenResumed) -> None:
    run = stopped_then_resumed
    assert sorted(run.ranks) == [0, 1]
    assert run.stop_code == ExitCode.STOPPED
    assert not any(alive(pid) for pid in run.ranks.values())
    assert run.stopped.type == "stopped" and run.stopped.epoch >= 1
    assert sum(event.type == "stopped" for event in read_events(run.out)) == 1
    # torchrun's log folder (torchelastic_*) went with each launch, stopped or done
    assert not any(launch_temp(run.out).iterdir())


def test_the_resumed_run_completes_with_one_set_of_events_and_artifacts(
    stopped_then_resumed: StoppedThenResumed,
) -> None:
    run = stopped_then_resumed
    assert run.code == ExitCode.DONE, (run.out / "stderr.log").read_text()[-3000:]
    events = read_events(run.out)
    resumed = events[max(i for i, event in enumerate(events) if event.type == "start") :]
    assert [event.type for event in resumed if event.type != "progress"] == ["start", "epoch", "done"]
    assert resumed[0].resumed_from_epoch == run.stopped.epoch and resumed[0].config["gpus"] == RANKS
    # rank 0's only: two launches, one `start` each
    assert sum(event.type == "start" for event in events) == 2
    done = events[-1]
    assert done.epochs_completed == run.stopped.epoch + 1 and Path(done.artifacts["model"]).is_file()
    rows = (run.out / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + done.epochs_completed  # a header and one row per epoch


def test_sharded_evaluation_gives_the_metrics_of_one_process(
    stopped_then_resumed: StoppedThenResumed, dataset: Path
) -> None:
    """Each rank scored its share of the val images (with rank 0's BatchNorm statistics) and the sums
    were added up: accuracy and confusion matrix are exactly one process's on the same weights, the loss
    equal up to float rounding."""
    out = stopped_then_resumed.out
    saved = checkpoint.load(out / checkpoint.BEST)
    epochs = [event for event in read_events(out) if event.type == "epoch"]
    best = next(event for event in epochs if event.epoch == saved["epoch"])
    info = build_model(MODEL[1], 3, False, None)
    info.model.load_state_dict(saved["model"])
    plan = discover(dataset, 0)
    images = torch.stack([load_eval_image(path, 32, info.crop_pct) for path, _ in plan.val])
    labels = torch.tensor([label for _, label in plan.val])
    cpu = torch.device("cpu")
    normalize = Normalizer(info.mean, info.std, cpu)
    one = evaluate(info.model, CachedImages(images, labels), 3, normalize, cpu, Precision(None, False), 8)
    assert one.acc == best.val_acc
    assert one.loss == pytest.approx(best.val_loss, rel=1e-5)
    assert load_confusion_matrix(out)[1] == one.confusion


def test_training_metrics_are_close_to_one_process_on_the_same_batch(
    stopped_then_resumed: StoppedThenResumed, dataset: Path, tmp_path: Path
) -> None:
    """One process with the same seed, batch and schedule. Not identical: each rank normalises its own
    half-batch (BatchNorm) and augments its own images, so the first epoch's loss differs a little; a
    wrong reduction across ranks (the ranks' losses summed, or one rank's images counted as all) would be
    off by about a factor of two."""
    code, reference = run_trainer(dataset, tmp_path / "one", *MODEL, epochs=1)
    assert code == ExitCode.DONE
    one = next(event for event in reference if event.type == "epoch")
    two = next(event for event in read_events(stopped_then_resumed.out) if event.type == "epoch")
    assert two.train_loss == pytest.approx(one.train_loss, rel=0.15)
    assert two.lr == pytest.approx(one.lr)  # the same schedule: as many steps per epoch
    starts = [event for events in (read_events(stopped_then_resumed.out), reference) for event in events]
    counts = [event.counts for event in starts if event.type == "start"]
    assert counts[0] == counts[-1]


def test_a_rank_that_dies_ends_the_run_as_failed(dataset: Path, tmp_path: Path) -> None:
    """Started as plain torchrun would be: no --gpus (the two processes are the run's two) and no
    --device (without CUDA: gloo on the CPU)."""
    out = tmp_path / "out"
    process = start(dataset, out, epochs=50, flags=())
    ranks = wait_for_epoch(process, out)
    os.kill(ranks[1], signal.SIGKILL)  # as the kernel's OOM killer would
    code = finish(process, out)
    assert code == -signal.SIGKILL  # the run ends as the dead rank did, so the bot sees a kill
    assert not any(alive(pid) for pid in ranks.values())
    # no final event: not rank 0's internal error about its lost connection, so the bot reports the kill
    assert not any(event.type in ("done", "stopped", "error") for event in read_events(out))
    assert failure_kind(code) == "killed"
    assert not any(launch_temp(out).iterdir())  # nor when a rank was killed


def test_gpus_that_disagree_with_torchruns_processes_are_refused() -> None:
    with pytest.raises(ConfigError, match="torchrun started 2 processes, but gpus is 3; pass --gpus 2"):
        check_gpus(3, "cpu", World(rank=0, local_rank=0, size=2))
    with pytest.raises(ConfigError, match="needs one process per GPU; start it with `python -m training"):
        check_gpus(2, "cpu", World())
    check_gpus(2, "auto", World(rank=1, local_rank=1, size=2))  # no CUDA here: CPU ranks


def test_the_launchers_exit_code_is_the_cause_not_the_ranks_torchrun_ended_after_it() -> None:
    assert exit_code({0: 1, 1: ExitCode.OUT_OF_MEMORY}) == ExitCode.OUT_OF_MEMORY  # 0 lost its peer
    assert exit_code({0: -signal.SIGTERM, 1: -signal.SIGKILL}) == -signal.SIGKILL
    assert exit_code({0: ExitCode.STOPPED, 1: ExitCode.STOPPED}) == ExitCode.STOPPED
    assert exit_code({0: ExitCode.INTERNAL, 1: -signal.SIGTERM}) == ExitCode.INTERNAL
