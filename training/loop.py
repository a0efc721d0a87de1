"""The training run, top to bottom: context, the task's data and model, epochs, stop, early stopping.

What differs between tasks (data, loss, metrics, artifacts, events' figures) is the task's (training/task.py:
classification in training/classification.py, detection in training/detection/task.py)."""

from __future__ import annotations

import logging
import random
import threading
import time
from pathlib import Path

import numpy as np
import torch

from training import checkpoint, distributed
from training.checkpoint import RunState
from training.config import TrainingConfig
from training.contract import ExitCode
from training.cpus import host_plan
from training.device import choose_precision, configure_backend, resolve_device
from training.emit import EventWriter
from training.errors import ConfigError, DatasetError
from training.events import StoppedEvent
from training.task import RunContext, RunOptions, Task, lr_at

__all__ = ["RunOptions", "lr_at", "plateaued", "train"]

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def build_task(context: RunContext, options: RunOptions) -> Task:
    if context.config.task == "detection":
        from training.detection.task import build  # pycocotools and torchvision's detectors

        return build(context, options)
    from training import classification

    return classification.build(context, options)


def train(
    config: TrainingConfig, options: RunOptions, writer: EventWriter, stop: threading.Event
) -> ExitCode:
    started = time.time()
    out = options.out_dir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    generator = seed_everything(options.seed)  # alike on every rank: they draw the same shuffled order
    world = options.world
    device = resolve_device(distributed.device_name(options.device, world))
    threads = host_plan(options.threads, options.workers)
    configure_backend(device, threads)
    distributed.init(world, device)
    precision = choose_precision(device, config.image_size)
    context = RunContext(config, out, device, precision, writer, generator, threads, world)
    task = build_task(context, options)

    state = (
        resume(task, out) if options.resume else RunState(classes=task.classes, config=config.model_dump())
    )
    task.announce(state, options)
    stopped = False  # agreed by every rank (distributed.agreed_stop): they all stop, or none does
    for epoch in range(state.epoch, config.epochs):
        stats = task.train_one_epoch(epoch, stop)
        if stats is None:  # stopped mid-epoch
            stopped = True
            break
        task.end_epoch(state, stats)
        stopped = distributed.agreed_stop(stop, world, device)
        if stopped or plateaued(state.epoch, state.best.epoch, config.early_stopping_patience):
            break
    if state.epoch < config.epochs and stopped:  # a stop, or early stopping, leaves epochs undone
        return stop_run(context, state, task)
    task.finish(state, started, options)
    return ExitCode.DONE


def plateaued(epoch: int, best_epoch: int, patience: int) -> bool:
    """Early stopping: `patience` epochs in a row without a better validation score (0 never stops)."""
    return patience > 0 and epoch - best_epoch >= patience


def resume(task: Task, out: Path) -> RunState:
    path = out / checkpoint.LAST
    if not path.exists():
        raise ConfigError(f"--resume: no checkpoint to resume from in {out}")
    saved = checkpoint.load(path)
    state = checkpoint.read_run_state(saved)
    if state.classes != task.classes:
        raise DatasetError(
            f"--resume: the dataset's classes ({', '.join(task.classes)}) differ from the checkpoint's "
            f"({', '.join(state.classes)})"
        )
    checkpoint.restore_trainables(saved, task.trainables)
    log.info("resuming after epoch %d from %s", state.epoch, path)
    return state


def stop_run(context: RunContext, state: RunState, task: Task) -> ExitCode:
    """The one way a stop ends a run: a resumable checkpoint of where it stands, then `stopped`."""
    path = context.out / checkpoint.LAST
    if context.world.is_main:
        checkpoint.save_run(path, state, task.trainables)
    context.writer.emit(StoppedEvent(epoch=state.epoch, checkpoint=str(path)))
    return ExitCode.STOPPED
