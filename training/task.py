"""What the training loop shares with every task (classification, detection): the run's context and
options, the learning-rate schedule, one epoch's figures, the few calls the loop makes of a task, and what
every task's run does alike: the `start` event (announce), an epoch's `progress` events (EpochProgress),
the end of an epoch (close_epoch: best weights, history row, checkpoint, results.csv, `epoch`) and of the
run (restore_best, run_metrics, report_done)."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from training import checkpoint, distributed, reports
from training.checkpoint import BestEpoch, RunState, Trainables
from training.config import TrainingConfig
from training.contract import RESULTS_FILE
from training.decoded_cache import DEFAULT_MAX_BYTES
from training.device import Precision, describe
from training.distributed import SINGLE, World
from training.emit import EventWriter
from training.events import (
    DoneEvent,
    EpochEvent,
    EpochRecord,
    ProgressEvent,
    StartEvent,
    ThreadPlan,
    WarningEvent,
)

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


@dataclass
class EpochProgress:
    """An epoch's `progress` events: at most ~2 a second (PROGRESS_SECONDS), plus its first and last step."""

    writer: EventWriter
    schedule: Schedule
    world: World
    epoch: int  # 0-based
    started: float = field(default_factory=time.perf_counter)
    last: float = 0.0

    def step(self, step: int, loss_sum: torch.Tensor, seen: int) -> None:
        """After 1-based `step`: `seen` images so far this epoch (this process's), their summed loss."""
        now = time.perf_counter()
        if now - self.last >= PROGRESS_SECONDS or step in (1, self.schedule.steps_per_epoch):
            self.last = now
            progress = ProgressEvent(
                epoch=self.epoch + 1,
                step=step,
                steps_per_epoch=self.schedule.steps_per_epoch,
                loss=float(loss_sum) / seen,  # rank 0's share on several GPUs
                images_per_sec=seen * self.world.size / (now - self.started),
            )
            self.writer.emit(progress)


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


class RunParts(Protocol):
    """What the start, the end of an epoch and the end of a run read of a task's run."""

    config: TrainingConfig
    out: Path
    device: torch.device
    precision: Precision
    world: World
    writer: EventWriter
    trainables: Trainables
    epoch_seconds: list[float]  # this process's epochs so far, for the ETA
    threads: ThreadPlan | None

    @property
    def classes(self) -> list[str]: ...


def announce(
    run: RunParts,
    state: RunState,
    options: RunOptions,
    counts: dict[str, int],
    warnings: list[tuple[str, str]],
    **task_fields: Any,
) -> None:
    """The `start` event (`counts`: images per split; `task_fields`: the task's own fields of it), then the
    warnings gathered while preparing."""
    device_name, gpu_name = describe(run.device)
    precision = str(run.precision.autocast_dtype or "fp32")
    run.writer.emit(
        StartEvent(
            run_id=uuid.uuid4().hex[:12],
            model=run.config.model,
            device=device_name,
            gpu_name=gpu_name,
            classes=run.classes,
            counts=counts,
            num_params=sum(p.numel() for p in run.trainables.model.parameters()),
            config=run.config.model_dump() | {"seed": options.seed, "precision": precision},
            resumed_from_epoch=state.epoch,
            threads=run.threads,
            **task_fields,
        )
    )
    for code, message in warnings:
        run.writer.emit(WarningEvent(code=code, message=message))


def close_epoch(
    run: RunParts,
    state: RunState,
    stats: EpochStats,
    figures: EpochRecord,
    best: BestEpoch | None,
    columns: Sequence[str],
) -> None:
    """The end of an epoch once its task has scored the validation split (`figures`; `best` when this epoch
    is the best so far): the best weights, the history row, the resumable checkpoint and results.csv
    (`columns`), then the `epoch` event."""
    epoch = state.epoch + 1
    if best is not None:
        state.best = best
        save_best_weights(run.out, run.world, run.trainables.model, epoch, run.classes)
    run.epoch_seconds.append(time.perf_counter() - stats.started)
    row = {"epoch": epoch, "train_loss": stats.loss, "lr": stats.lr, "epoch_seconds": run.epoch_seconds[-1]}
    record = figures.model_copy(update=row)
    state.history.append(record)
    state.epoch = epoch
    if run.world.is_main:
        checkpoint.save_run(run.out / checkpoint.LAST, state, run.trainables)
        reports.save_results_csv(run.out, state.history, columns)
    detection = run.config.task == "detection"  # the best epoch by mAP, else by accuracy
    run.writer.emit(
        EpochEvent(
            epochs=run.config.epochs,
            best_val_acc=None if detection else state.best.val_acc,
            best_val_map=state.best.val_map if detection else None,
            eta_seconds=float(np.mean(run.epoch_seconds)) * (run.config.epochs - epoch),
            images_per_sec=stats.images / stats.train_seconds,
            **record.model_dump(exclude_none=True),
        )
    )


def restore_best(run: RunParts) -> None:
    """The best epoch's weights back in the model on every rank, once rank 0 has written them."""
    distributed.barrier(run.world)
    if (run.out / checkpoint.BEST).exists():
        run.trainables.model.load_state_dict(checkpoint.load(run.out / checkpoint.BEST)["model"])


def run_metrics(
    run: RunParts, state: RunState, test: dict[str, float] | None, config: dict[str, Any]
) -> dict[str, Any]:
    """What metrics.json holds for every task (each adds its own figures): the history, the last epoch's
    figures (`final`), the best epoch, the held-out `test` figures, the settings that took effect."""
    history = state.history
    final = {k: float(v) for k, v in history[-1].model_dump(exclude_none=True).items()} if history else {}
    return {
        "classes": run.classes,
        "history": checkpoint.history_rows(history),
        "final": final,
        "best_epoch": state.best.epoch,
        "test": test,
        "config": config,
        "early_stopped_at": len(history) if len(history) < run.config.epochs else None,
    }


def report_done(
    run: RunParts,
    state: RunState,
    started: float,
    metrics: dict[str, Any],
    paths: dict[str, Path],
    **task_fields: Any,
) -> None:
    """metrics.json, then `done` with the run's files (`paths` and those every run has) and its figures
    (`task_fields`: the task's own)."""
    paths = paths | {
        "metrics": reports.save_metrics(run.out, metrics),
        "results": run.out / RESULTS_FILE,
        "checkpoint": run.out / checkpoint.LAST,
        "checkpoint_best": run.out / checkpoint.BEST,
    }
    run.writer.emit(
        DoneEvent(
            epochs_completed=len(state.history),
            final=metrics["final"],
            best_epoch=state.best.epoch,
            test=metrics["test"],
            onnx=metrics.get("onnx"),
            early_stopped=metrics["early_stopped_at"] is not None,
            artifacts={name: str(path) for name, path in paths.items()},
            total_seconds=time.time() - started,
            **task_fields,
        )
    )
