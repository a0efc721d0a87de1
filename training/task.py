"""What the training loop shares with every task (classification, detection): the run's context and
options, the learning-rate schedule, one epoch's figures, and the few calls the loop makes of a task."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from training import checkpoint
from training.checkpoint import RunState, Trainables
from training.config import TrainingConfig
from training.decoded_cache import DEFAULT_MAX_BYTES
from training.device import Precision
from training.distributed import SINGLE, World
from training.emit import EventWriter
from training.events import ThreadPlan

WEIGHT_DECAY = 0.05
WARMUP_FRACTION = 0.05  # of all steps, at most one epoch
PROGRESS_SECONDS = 0.5  # at most ~2 progress events per second, plus each epoch's first and last step


@dataclass
class RunOptions:
    out_dir: Path
    device: str = "auto"
    workers: int | None = None  # decode threads / DataLoader workers; default: the compute threads
    threads: int | None = None  # torch's compute threads; default: from the CPUs and their load at start
    seed: int = 0
    resume: bool = False
    weights: Path | None = None
    cache_budget_bytes: int | None = None  # default: half the available RAM
    export_onnx: bool = True  # export and verify model.onnx after training (when onnx is installed)
    cache_dir: Path | None = None  # the persistent decoded cache; None: decode into memory every run
    cache_max_bytes: int = DEFAULT_MAX_BYTES
    compile: str = "auto"  # torch.compile: "on", "off", or "auto" (only where it pays for itself)
    world: World = SINGLE  # this process's rank in a multi-GPU run (torchrun), or the only process


@dataclass
class RunContext:
    """What the loop sets up before any task: where the run writes, and what it runs on."""

    config: TrainingConfig
    out: Path
    device: torch.device
    precision: Precision
    writer: EventWriter
    generator: torch.Generator  # seeded: the shuffles and augmentations of every rank alike
    threads: ThreadPlan  # the CPU threads it uses and why (training/cpus.py)
    world: World = SINGLE


def lr_at(step: int, total_steps: int, warmup_steps: int, peak_lr: float) -> float:
    """Linear warmup to the requested lr, then cosine decay to zero (per step)."""
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return peak_lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


@dataclass(frozen=True)
class Schedule:
    """Steps per epoch and the learning rate at each step."""

    images_per_epoch: int  # the training images minus one when the last batch would hold one (BatchNorm)
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int
    peak_lr: float

    @classmethod
    def for_run(cls, train_images: int, config: TrainingConfig, batch_size: int | None = None) -> Schedule:
        """`train_images` and `batch_size` are this process's: a rank's share on several GPUs."""
        batch_size = batch_size or config.batch_size
        images = train_images - (1 if train_images % batch_size == 1 else 0)
        steps = math.ceil(images / batch_size)
        total = steps * config.epochs
        warmup = min(steps, max(1, round(WARMUP_FRACTION * total)))
        return cls(images, steps, total, warmup, config.learning_rate)

    def lr(self, epoch: int, step: int) -> float:
        """The lr of 1-based `step` in 0-based `epoch`."""
        return lr_at(
            epoch * self.steps_per_epoch + step - 1, self.total_steps, self.warmup_steps, self.peak_lr
        )

    def set_lr(self, optimizer: torch.optim.Optimizer, epoch: int, step: int) -> float:
        lr = self.lr(epoch, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr


@dataclass
class EpochStats:
    started: float  # perf_counter at the epoch's start
    train_seconds: float
    images: int
    loss: float
    acc: float  # classification's training accuracy; 0 where a task has none
    lr: float  # at the last step


class Task(Protocol):
    """A task's part of a run; training/loop.py does the rest (epochs, stop, early stopping, resume)."""

    trainables: Trainables

    @property
    def classes(self) -> list[str]: ...

    def announce(self, state: RunState, options: RunOptions) -> None:
        """The `start` event, then the warnings gathered while preparing."""

    def train_one_epoch(self, epoch: int, stop: threading.Event) -> EpochStats | None:
        """One pass over the training images; None when stopped mid-epoch."""

    def end_epoch(self, state: RunState, stats: EpochStats) -> None:
        """Score the validation split, keep the best weights, then the history row, the resumable
        checkpoint and the `epoch` event."""

    def finish(self, state: RunState, started: float, options: RunOptions) -> None:
        """The best epoch's weights back in the model, the artifacts, then `done`."""


def save_best_weights(
    out: Path, world: World, model: torch.nn.Module, epoch: int, classes: list[str]
) -> None:
    """checkpoint_best.pt: the model's weights of its best epoch so far (rank 0 writes it)."""
    if world.is_main:
        weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        checkpoint.save(out / checkpoint.BEST, {"model": weights, "epoch": epoch, "classes": classes})
