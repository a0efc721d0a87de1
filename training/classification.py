"""Image classification, the trainer's first task: an ImageFolder dataset, a timm model, cross-entropy,
top-1/top-5 accuracy and the confusion matrix, and a classifier's artifacts (training/task.py's Task)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from training import artifacts, checkpoint, distributed, export, task
from training.augment import Normalizer, augment_batch
from training.checkpoint import RunState, Trainables
from training.config import TrainingConfig
from training.data import DatasetPlan, ImageSource, PreparedData, available_memory_bytes, discover, prepare
from training.decoded_cache import DecodedCache
from training.device import Precision, compiled
from training.distributed import SINGLE, World
from training.emit import EventWriter, PreparingReporter
from training.errors import ConfigError
from training.evaluate import EvalResult, evaluate
from training.events import (
    DataReport,
    EpochRecord,
    ThreadPlan,
)
from training.model import ModelInfo, build_model, check_model_request
from training.task import WEIGHT_DECAY, EpochProgress, EpochStats, RunContext, RunOptions, Schedule

LABEL_SMOOTHING = 0.1


def build(context: RunContext, options: RunOptions) -> ClassificationRun:
    """The dataset's images decoded, the model built, and the optimiser over it."""
    config, device, world = context.config, context.device, context.world
    plan = discover(Path(config.dataset_path), options.seed)
    if config.num_classes is not None and config.num_classes != len(plan.classes):
        raise ConfigError(
            f"num_classes is {config.num_classes} but the dataset has {len(plan.classes)} classes"
        )
    data, info = images_and_model(config, options, plan, device, context.writer, context.threads.decode)

    model = info.model.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=WEIGHT_DECAY, fused=device.type == "cuda"
    )
    scaler = torch.amp.GradScaler(device.type, enabled=context.precision.use_scaler)
    trainables = Trainables(model, optimizer, scaler, context.generator)
    network = compiled(model, options.compile, device, images=config.epochs * len(data.train))
    normalize = Normalizer(info.mean, info.std, device)
    rank_batch = distributed.rank_batch(config.batch_size, world)
    schedule = Schedule.for_run(len(data.train) // world.size, config, rank_batch)
    return ClassificationRun(
        config, context.out, device, context.precision, plan.classes, data, info, trainables, network,
        normalize, schedule, context.writer, world, plan.warnings + info.warnings,
        distributed.wrap(network, world, device), threads=context.threads,
    )  # fmt: skip


@dataclass
class ClassificationRun:
    """An image classifier's run: the decoded images, the timm model and what its steps share."""

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
    warnings: list[tuple[str, str]] = field(default_factory=list)  # gathered while preparing
    replica: torch.nn.Module | None = None  # the network inside DistributedDataParallel, on several GPUs
    epoch_seconds: list[float] = field(default_factory=list)  # this process's epochs, for the ETA
    threads: ThreadPlan | None = None  # the CPU threads it uses and why, for `start`

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

    def announce(self, state: RunState, options: RunOptions) -> None:
        """The `start` event, then the warnings gathered while preparing."""
        data, warnings = self.data, self.warnings
        report = DataReport(
            images_from=data.images_from,
            images=len(data.train) + len(data.val) + (len(data.test) if data.test else 0),
            seconds=round(data.seconds, 3),
            cache_dir=str(options.cache_dir) if options.cache_dir else None,
            note=data.cache_note,
        )
        counts = {"train": len(data.train), "val": len(data.val)} | (
            {"test": len(data.test)} if data.test else {}
        )
        if skipped := data.skipped:
            names = ", ".join(p.name for p in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
            warnings = [*warnings, ("corrupt_images", f"skipped {len(skipped)} unreadable image(s): {names}")]
        task.announce(self, state, options, counts, warnings, data=report)

    def train_one_epoch(self, epoch: int, stop: threading.Event) -> EpochStats | None:
        """One pass over the shuffled training images, with throttled `progress` events; None when stopped."""
        model = self.replica or self.network
        optimizer, scaler = self.trainables.optimizer, self.trainables.scaler
        schedule, device, generator = self.schedule, self.device, self.trainables.generator
        model.train()
        progress = EpochProgress(self.writer, schedule, self.world, epoch)
        loss_sum, correct, seen, lr = torch.zeros((), device=device), torch.zeros((), device=device), 0, 0.0
        order = torch.randperm(len(self.data.train), generator=generator)
        order = distributed.shard(order, self.world)[: schedule.images_per_epoch]  # on several GPUs: a share
        for step, (images, labels) in enumerate(self.data.train.batches(self.batch_size, order), 1):
            lr = schedule.set_lr(optimizer, epoch, step)
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            inputs = augment_batch(images, self.config.image_size, self.normalize, generator)
            with self.precision.autocast(device):
                logits = model(inputs.contiguous(memory_format=torch.channels_last))
                loss = F.cross_entropy(logits, labels, label_smoothing=LABEL_SMOOTHING)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            loss_sum += loss.detach() * len(labels)
            correct += (logits.argmax(1) == labels).sum()
            seen += len(labels)
            progress.step(step, loss_sum, seen)
            if distributed.stop_at_step(stop, self.world, device, step, step == schedule.steps_per_epoch):
                return None
        seconds = time.perf_counter() - progress.started
        summed_loss, hits, total = distributed.sum_values(self.world, device, loss_sum, correct, seen)
        return EpochStats(progress.started, seconds, int(total), summed_loss / total, hits / total, lr)

    def end_epoch(self, state: RunState, stats: EpochStats) -> None:
        """Score the validation split; the rest is every task's (training/task.py close_epoch)."""
        result = self.evaluate("val")
        best = None
        if result.acc > state.best.val_acc:
            per_class = result.per_class_acc(self.classes)
            best = checkpoint.BestEpoch(result.acc, state.epoch + 1, result.confusion, per_class)
        figures = EpochRecord(
            train_acc=stats.acc, val_loss=result.loss, val_acc=result.acc, val_top5=result.top5
        )
        task.close_epoch(self, state, stats, figures, best, artifacts.RESULTS_COLUMNS)

    def finish(self, state: RunState, started: float, options: RunOptions) -> None:
        """The best epoch's weights back in the model, the held-out test score, artifacts, then `done`."""
        model, best = self.trainables.model, state.best
        task.restore_best(self)
        test_metrics = None
        if self.data.test is not None and len(self.data.test):
            test = self.evaluate("test")
            test_metrics = {"loss": test.loss, "acc": test.acc} | (
                {"top5": test.top5} if test.top5 is not None else {}
            )
        if not self.world.is_main:  # every rank took part in the test score; rank 0 writes the rest
            return
        info = self.info
        config = self.config
        paths = artifacts.save_model(
            self.out, model, self.classes, config.image_size, info.mean, info.std, info.crop_pct
        )
        metrics = task.run_metrics(self, state, test_metrics, _what_ran(config, options, info)) | {
            "best_val_acc": best.val_acc,
            "per_class_acc": best.per_class,
        }
        if options.export_onnx:
            val_images = (images for images, _ in self.data.val.batches(config.batch_size))
            preprocessing = artifacts.preprocessing(artifacts.read_config(self.out))
            onnx = export.check_export(self.out, model, self.classes, preprocessing, val_images)
            metrics["onnx"] = onnx.model_dump()
            if onnx.status == "ok" and onnx.file:
                paths["onnx"] = Path(onnx.file)
        splits = {"train": self.data.train, "val": self.data.val} | (
            {"test": self.data.test} if self.data.test else {}
        )
        class_counts = {name: _class_counts(source, self.classes) for name, source in splits.items()}
        paths |= {
            "model_card": artifacts.write_model_card(self.out, metrics["config"], class_counts, metrics),
            "confusion_matrix_data": artifacts.save_confusion_matrix(self.out, best.confusion, self.classes),
            **artifacts.plots(self.out, state.history, best.confusion, self.classes),
        }
        task.report_done(
            self, state, started, metrics, paths, best_val_acc=best.val_acc, per_class_acc=best.per_class
        )


def _what_ran(config: TrainingConfig, options: RunOptions, info: ModelInfo) -> dict[str, Any]:
    """The settings as they took effect: `pretrained` says whether the hub's weights were loaded (offline, or
    starting from a weights file, they were not), `weights` names the file a continued run started from."""
    weights = {"weights": str(options.weights)} if options.weights is not None else {}
    return config.model_dump() | {"pretrained": info.pretrained, "seed": options.seed} | weights


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


def _class_counts(source: ImageSource, classes: list[str]) -> dict[str, int]:
    counts = torch.bincount(source.labels.cpu(), minlength=len(classes)).tolist()
    return dict(zip(classes, counts, strict=True))
