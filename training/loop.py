"""The training run, top to bottom: data, model, optimiser, epochs, checkpoints, artifacts, events."""

from __future__ import annotations

import logging
import math
import random
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from training import artifacts, checkpoint, distributed, export
from training.augment import Normalizer, augment_batch
from training.checkpoint import RunState, Trainables
from training.config import TrainingConfig
from training.contract import RESULTS_FILE, ExitCode
from training.cpus import host_plan
from training.data import DatasetPlan, ImageSource, PreparedData, available_memory_bytes, discover, prepare
from training.decoded_cache import DEFAULT_MAX_BYTES, DecodedCache
from training.device import (
    Precision,
    choose_precision,
    compiled,
    configure_backend,
    describe,
    resolve_device,
)
from training.distributed import SINGLE, World
from training.emit import EventWriter, PreparingReporter
from training.errors import ConfigError, DatasetError
from training.evaluate import EvalResult, evaluate
from training.events import (
    DataReport,
    DoneEvent,
    EpochEvent,
    ProgressEvent,
    StartEvent,
    StoppedEvent,
    ThreadPlan,
    WarningEvent,
)
from training.model import ModelInfo, build_model, check_model_request

log = logging.getLogger(__name__)

WEIGHT_DECAY = 0.05
LABEL_SMOOTHING = 0.1
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


@dataclass
class Run:
    """What train() builds once and its helpers share."""

    config: TrainingConfig
    out: Path
    device: torch.device
    precision: Precision
    classes: list[str]
    data: PreparedData
    info: ModelInfo
    trainables: Trainables
    network: torch.nn.Module  # the model, or its torch.compile'd wrapper: what the steps call
    normalize: Normalizer
    schedule: Schedule
    writer: EventWriter
    world: World = SINGLE
    replica: torch.nn.Module | None = None  # the network inside DistributedDataParallel, on several GPUs
    epoch_seconds: list[float] = field(default_factory=list)  # this process's epochs, for the ETA

    @property
    def batch_size(self) -> int:
        """This process's images per step: a rank's part of the batch on several GPUs."""
        return distributed.rank_batch(self.config.batch_size, self.world)

    def evaluate(self, split: str) -> EvalResult:
        source = self.data.val if split == "val" else self.data.test
        assert source is not None, f"no {split} split"
        classes = len(self.classes)
        return evaluate(
            self.network,
            source,
            classes,
            self.normalize,
            self.device,
            self.precision,
            self.batch_size,
            self.world,
        )


@dataclass
class EpochStats:
    started: float  # perf_counter at the epoch's start
    train_seconds: float
    images: int
    loss: float
    acc: float
    lr: float  # at the last step


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


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

    plan = discover(Path(config.dataset_path), options.seed)
    if config.num_classes is not None and config.num_classes != len(plan.classes):
        raise ConfigError(
            f"num_classes is {config.num_classes} but the dataset has {len(plan.classes)} classes"
        )
    data, info = images_and_model(config, options, plan, device, writer, threads.decode)

    model = info.model.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=WEIGHT_DECAY, fused=device.type == "cuda"
    )
    scaler = torch.amp.GradScaler(device.type, enabled=precision.use_scaler)
    trainables = Trainables(model, optimizer, scaler, generator)
    network = compiled(model, options.compile, device, images=config.epochs * len(data.train))
    normalize = Normalizer(info.mean, info.std, device)
    rank_batch = distributed.rank_batch(config.batch_size, world)
    schedule = Schedule.for_run(len(data.train) // world.size, config, rank_batch)
    run = Run(
        config, out, device, precision, plan.classes, data, info, trainables, network, normalize, schedule,
        writer, world, distributed.wrap(network, world, device),
    )  # fmt: skip

    state = resume(run) if options.resume else RunState(classes=plan.classes, config=config.model_dump())
    announce(run, state, options, plan.warnings + info.warnings, threads)
    stopped = False  # agreed by every rank (distributed.agreed_stop): they all stop, or none does
    for epoch in range(state.epoch, config.epochs):
        stats = train_one_epoch(run, epoch, stop)
        if stats is None:  # stopped mid-epoch
            stopped = True
            break
        end_epoch(run, state, stats, run.evaluate("val"))
        stopped = distributed.agreed_stop(stop, world, device)
        if stopped or plateaued(state.epoch, state.best.epoch, config.early_stopping_patience):
            break
    if state.epoch < config.epochs and stopped:  # a stop, or early stopping, leaves epochs undone
        return stop_run(run, state)
    return finish_run(run, state, started, options)


def plateaued(epoch: int, best_epoch: int, patience: int) -> bool:
    """Early stopping: `patience` epochs in a row without a better val accuracy (0 never stops)."""
    return patience > 0 and epoch - best_epoch >= patience


def images_and_model(
    config: TrainingConfig,
    options: RunOptions,
    plan: DatasetPlan,
    device: torch.device,
    writer: EventWriter,
    threads: int,
) -> tuple[PreparedData, ModelInfo]:
    """The decoded images and the model, built at once: the model (and its pretrained weights) while
    the images decode, with `preparing` events throughout."""
    check_model_request(config.model, options.weights)  # before the long part
    preparing = PreparingReporter(writer)
    budget = options.cache_budget_bytes
    if budget is None and options.world.distributed:  # in memory, each rank of this node has a copy
        budget = available_memory_bytes() // 2 // options.world.size
    cache = DecodedCache(options.cache_dir, options.cache_max_bytes) if options.cache_dir else None
    with ThreadPoolExecutor(1) as pool:
        building = pool.submit(
            build_model, config.model, len(plan.classes), config.pretrained, options.weights
        )
        fetching = preparing if config.pretrained and options.weights is None else None
        if fetching is not None:
            fetching.report("weights", message=config.model)
        crop_pct = lambda: model_when_built(building, fetching).crop_pct  # noqa: E731
        data = prepare(plan, config.image_size, crop_pct, device, threads, budget, preparing, cache)
        return data, model_when_built(building, fetching)


def model_when_built(building: Future[ModelInfo], fetching: PreparingReporter | None) -> ModelInfo:
    """The model, once built; `fetching` hears that the run now waits for its pretrained weights."""
    if fetching is not None and not building.done():
        fetching.report("weights", message="waiting for the pretrained weights")
    return building.result()


def resume(run: Run) -> RunState:
    path = run.out / checkpoint.LAST
    if not path.exists():
        raise ConfigError(f"--resume: no checkpoint to resume from in {run.out}")
    saved = checkpoint.load(path)
    state = checkpoint.read_run_state(saved)
    if state.classes != run.classes:
        raise DatasetError(
            f"--resume: the dataset's classes ({', '.join(run.classes)}) differ from the checkpoint's "
            f"({', '.join(state.classes)})"
        )
    checkpoint.restore_trainables(saved, run.trainables)
    log.info("resuming after epoch %d from %s", state.epoch, path)
    return state


def announce(
    run: Run, state: RunState, options: RunOptions, warnings: list[tuple[str, str]], threads: ThreadPlan
) -> None:
    """The `start` event, then the warnings gathered while preparing."""
    device_name, gpu_name = describe(run.device)
    precision = str(run.precision.autocast_dtype or "fp32")
    data = run.data
    report = DataReport(
        images_from=data.images_from,
        images=len(data.train) + len(data.val) + (len(data.test) if data.test else 0),
        seconds=round(data.seconds, 3),
        cache_dir=str(options.cache_dir) if options.cache_dir else None,
        note=data.cache_note,
    )
    run.writer.emit(
        StartEvent(
            run_id=uuid.uuid4().hex[:12],
            model=run.config.model,
            device=device_name,
            gpu_name=gpu_name,
            classes=run.classes,
            counts={"train": len(run.data.train), "val": len(run.data.val)}
            | ({"test": len(run.data.test)} if run.data.test else {}),
            num_params=sum(p.numel() for p in run.trainables.model.parameters()),
            config=run.config.model_dump() | {"seed": options.seed, "precision": precision},
            resumed_from_epoch=state.epoch,
            data=report,
            threads=threads,
        )
    )
    if skipped := run.data.skipped:
        names = ", ".join(p.name for p in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        warnings = [*warnings, ("corrupt_images", f"skipped {len(skipped)} unreadable image(s): {names}")]
    for code, message in warnings:
        run.writer.emit(WarningEvent(code=code, message=message))


def train_one_epoch(run: Run, epoch: int, stop: threading.Event) -> EpochStats | None:
    """One pass over the shuffled training images, with throttled `progress` events; None when stopped."""
    model = run.replica or run.network
    optimizer, scaler = run.trainables.optimizer, run.trainables.scaler
    schedule, device, generator = run.schedule, run.device, run.trainables.generator
    model.train()
    epoch_start = last_progress = time.perf_counter()
    loss_sum, correct, seen, lr = torch.zeros((), device=device), torch.zeros((), device=device), 0, 0.0
    order = torch.randperm(len(run.data.train), generator=generator)
    order = distributed.shard(order, run.world)[: schedule.images_per_epoch]  # on several GPUs: a share
    for step, (images, labels) in enumerate(run.data.train.batches(run.batch_size, order), 1):
        lr = schedule.lr(epoch, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        inputs = augment_batch(images, run.config.image_size, run.normalize, generator)
        with run.precision.autocast(device):
            logits = model(inputs.contiguous(memory_format=torch.channels_last))
            loss = F.cross_entropy(logits, labels, label_smoothing=LABEL_SMOOTHING)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        loss_sum += loss.detach() * len(labels)
        correct += (logits.argmax(1) == labels).sum()
        seen += len(labels)
        now = time.perf_counter()
        if now - last_progress >= PROGRESS_SECONDS or step in (1, schedule.steps_per_epoch):
            last_progress = now
            progress = ProgressEvent(
                epoch=epoch + 1,
                step=step,
                steps_per_epoch=schedule.steps_per_epoch,
                loss=float(loss_sum) / seen,  # rank 0's share on several GPUs
                images_per_sec=seen * run.world.size / (now - epoch_start),
            )
            run.writer.emit(progress)
        if distributed.stop_at_step(stop, run.world, device, step, step == schedule.steps_per_epoch):
            return None
    seconds = time.perf_counter() - epoch_start
    summed_loss, hits, total = distributed.sum_values(run.world, device, loss_sum, correct, seen)
    return EpochStats(epoch_start, seconds, int(total), summed_loss / total, hits / total, lr)


def end_epoch(run: Run, state: RunState, stats: EpochStats, result: EvalResult) -> None:
    """Record a finished epoch: the best weights when it is the best so far, the history row, the
    resumable checkpoint, then the `epoch` event."""
    epoch = state.epoch + 1
    if result.acc > state.best.val_acc:
        state.best = checkpoint.BestEpoch(
            result.acc, epoch, result.confusion, result.per_class_acc(run.classes)
        )
        if run.world.is_main:
            best_weights = {
                k: v.detach().to("cpu", copy=True) for k, v in run.trainables.model.state_dict().items()
            }
            checkpoint.save(
                run.out / checkpoint.BEST, {"model": best_weights, "epoch": epoch, "classes": run.classes}
            )
    run.epoch_seconds.append(time.perf_counter() - stats.started)
    row: dict[str, Any] = {
        "epoch": epoch,
        "train_loss": stats.loss,
        "train_acc": stats.acc,
        "val_loss": result.loss,
        "val_acc": result.acc,
        "lr": stats.lr,
        "epoch_seconds": run.epoch_seconds[-1],
    }
    if result.top5 is not None:
        row["val_top5"] = result.top5
    state.history.append(row)
    state.epoch = epoch
    if run.world.is_main:
        checkpoint.save_run(run.out / checkpoint.LAST, state, run.trainables)
        artifacts.save_results_csv(run.out, state.history)
    run.writer.emit(
        EpochEvent(
            epochs=run.config.epochs,
            best_val_acc=state.best.val_acc,
            eta_seconds=float(np.mean(run.epoch_seconds)) * (run.config.epochs - epoch),
            images_per_sec=stats.images / stats.train_seconds,
            **row,
        )
    )


def stop_run(run: Run, state: RunState) -> ExitCode:
    """The one way a stop ends a run: a resumable checkpoint of where it stands, then `stopped`."""
    path = run.out / checkpoint.LAST
    if run.world.is_main:
        checkpoint.save_run(path, state, run.trainables)
    run.writer.emit(StoppedEvent(epoch=state.epoch, checkpoint=str(path)))
    return ExitCode.STOPPED


def finish_run(run: Run, state: RunState, started: float, options: RunOptions) -> ExitCode:
    """The best epoch's weights back in the model, the held-out test score, artifacts, then `done`."""
    model, best = run.trainables.model, state.best
    distributed.barrier(run.world)  # rank 0 has written the best weights the others load next
    if (run.out / checkpoint.BEST).exists():
        model.load_state_dict(checkpoint.load(run.out / checkpoint.BEST)["model"])
    test_metrics = None
    if run.data.test is not None and len(run.data.test):
        test = run.evaluate("test")
        test_metrics = {"loss": test.loss, "acc": test.acc} | (
            {"top5": test.top5} if test.top5 is not None else {}
        )
    if not run.world.is_main:  # every rank took part in the test score; rank 0 writes the rest
        return ExitCode.DONE
    info = run.info
    config = run.config
    paths = artifacts.save_model(
        run.out, model, run.classes, config.image_size, info.mean, info.std, info.crop_pct
    )
    early_stopped = len(state.history) < config.epochs
    final = {k: float(v) for k, v in state.history[-1].items()} if state.history else {}
    metrics: dict[str, Any] = {
        "classes": run.classes,
        "history": state.history,
        "final": final,
        "best_val_acc": best.val_acc,
        "best_epoch": best.epoch,
        "per_class_acc": best.per_class,
        "confusion_matrix": best.confusion,
        "test": test_metrics,
        "config": config.model_dump() | {"seed": options.seed},
        "early_stopped_at": len(state.history) if early_stopped else None,
    }
    if options.export_onnx:
        val_images = (images for images, _ in run.data.val.batches(config.batch_size))
        preprocessing = artifacts.preprocessing(artifacts.read_config(run.out))
        metrics["onnx"] = export.export_and_verify(run.out, model, run.classes, preprocessing, val_images)
        if metrics["onnx"]["status"] == "ok":
            paths["onnx"] = Path(metrics["onnx"]["file"])
    splits = {"train": run.data.train, "val": run.data.val} | (
        {"test": run.data.test} if run.data.test else {}
    )
    class_counts = {name: _class_counts(source, run.classes) for name, source in splits.items()}
    paths |= {
        "metrics": artifacts.save_metrics(run.out, metrics),
        "results": run.out / RESULTS_FILE,
        "model_card": artifacts.write_model_card(run.out, config.model_dump(), class_counts, metrics),
        "curves": artifacts.plot_curves(run.out, state.history),
        "confusion_matrix": artifacts.plot_confusion_matrix(run.out, best.confusion, run.classes),
        "checkpoint": run.out / checkpoint.LAST,
        "checkpoint_best": run.out / checkpoint.BEST,
    }
    run.writer.emit(
        DoneEvent(
            epochs_completed=len(state.history),
            final=final,
            best_val_acc=best.val_acc,
            best_epoch=best.epoch,
            per_class_acc=best.per_class,
            confusion_matrix=best.confusion,
            test=test_metrics,
            onnx=metrics.get("onnx"),
            early_stopped=early_stopped,
            artifacts={name: str(path) for name, path in paths.items()},
            total_seconds=time.time() - started,
        )
    )
    return ExitCode.DONE


def _class_counts(source: ImageSource, classes: list[str]) -> dict[str, int]:
    counts = torch.bincount(source.labels.cpu(), minlength=len(classes)).tolist()
    return dict(zip(classes, counts, strict=True))
