"""Object detection (`--task detection`), training/task.py's Task: a YOLO, COCO or VOC dataset, one of
torchvision's detectors, the detector's own losses, COCO mAP on the validation split each epoch (the best
epoch by mAP@[.50:.95]), and a detector's artifacts."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from training import checkpoint, distributed, reports, task
from training.checkpoint import RunState, Trainables
from training.config import TrainingConfig
from training.contract import VAL_PREDICTIONS_FILE
from training.data import available_memory_bytes
from training.detection import artifacts as detection_artifacts
from training.detection import draw, roi_align_cpu
from training.detection.coco_eval import Detections, DetectionScores, coco_scores
from training.detection.data import DetectionPlan, discover_detection
from training.detection.images import DetectionImages, augmentation, augmented, target_of
from training.detection.models import (
    DetectorInfo,
    batchnorm_momentum,
    build_detector,
    check_detector_name,
)
from training.device import Precision
from training.distributed import SINGLE, World
from training.emit import EventWriter, PreparingReporter
from training.errors import ConfigError
from training.events import EpochRecord, ThreadPlan
from training.task import EpochProgress, EpochStats, RunContext, RunOptions, Schedule

log = logging.getLogger(__name__)

WEIGHT_DECAY = 1e-4  # torchvision's detection recipes'
GRAD_CLIP = 10.0  # a detector's losses spike early on; clipped, a bad batch cannot throw the weights off
BYTES_PER_PIXEL = 3


def build(context: RunContext, options: RunOptions) -> DetectionRun:
    config, device, world = context.config, context.device, context.world
    check_detector_name(config.model)
    plan = discover_detection(Path(config.dataset_path), options.seed)
    if config.num_classes is not None and config.num_classes != len(plan.classes):
        raise ConfigError(
            f"num_classes is {config.num_classes} but the dataset has {len(plan.classes)} classes"
        )
    preparing = PreparingReporter(context.writer)
    if config.pretrained and options.weights is None:
        preparing.report("weights", message=config.model)
    info = build_detector(
        config.model, len(plan.classes), config.image_size, config.pretrained, options.weights
    )
    preparing.report("decode", total=len(plan.train) + len(plan.val))
    data = _images(plan, config.image_size, options, context.threads.decode)

    model = placed(info.model, device)
    # from random init BatchNorm's statistics are each epoch's own (see DetectionRun.train_one_epoch); from
    # pretrained weights their running averages serve as they are
    measured = batchnorm_momentum(model, None) if info.pretrained is None else []
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=WEIGHT_DECAY)
    precision = training_precision(device, context.precision)
    scaler = torch.amp.GradScaler(device.type, enabled=precision.use_scaler)
    trainables = Trainables(model, optimizer, scaler, context.generator)
    rank_batch = distributed.rank_batch(config.batch_size, world)
    schedule = Schedule.for_run(len(data["train"]) // world.size, config, rank_batch)
    return DetectionRun(
        config, context.out, device, precision, plan, data, info, trainables, schedule, context.writer,
        world, distributed.wrap(model, world, device), threads=context.threads, batchnorm=measured,
    )  # fmt: skip


def memory_format(device: torch.device) -> torch.memory_format:
    """On a GPU channels_last, the convolutions' layout under AMP, as for the classifier (torchvision's
    detection ops take either); the CPU keeps the layout its figures were measured with."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def placed(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """The detector on `device` as it trains there: in memory_format(device), and on a CPU with the
    trainer's roi_align backward (torchvision's is a Faster R-CNN step's slowest part there)."""
    if device.type == "cpu":
        roi_align_cpu.register()
    return model.to(device, memory_format=memory_format(device))  # type: ignore[call-overload]


def training_precision(device: torch.device, chosen: Precision) -> Precision:
    """torchvision's detection ops have no CPU autocast: fp32 there, the GPU's autocast (`chosen`) on a
    GPU."""
    return chosen if device.type == "cuda" else Precision(None, use_scaler=False)


def _images(plan: DetectionPlan, side: int, options: RunOptions, threads: int) -> dict[str, DetectionImages]:
    """The splits, decoded into memory when they fit the budget (half the available memory by default),
    else decoded at each use."""
    splits = {"train": plan.train, "val": plan.val} | ({"test": plan.test} if plan.test else {})
    budget = options.cache_budget_bytes
    if budget is None:
        budget = available_memory_bytes() // 2 // options.world.size
    needed = sum(len(items) for items in splits.values()) * side * side * BYTES_PER_PIXEL
    keep = needed <= budget
    if not keep:
        log.info(
            "decoding detection images at each use: %d MB would not fit %d MB", needed >> 20, budget >> 20
        )
    return {name: DetectionImages(items, side, keep, threads) for name, items in splits.items()}


def _as_input(image: torch.Tensor, device: torch.device) -> torch.Tensor:
    return image.to(device, non_blocking=True).float().div_(255)


@dataclass
class DetectionRun:
    config: TrainingConfig
    out: Path
    device: torch.device
    precision: Precision
    plan: DetectionPlan
    data: dict[str, DetectionImages]
    info: DetectorInfo
    trainables: Trainables
    schedule: Schedule
    writer: EventWriter
    world: World = SINGLE
    replica: torch.nn.Module | None = None  # the model inside DistributedDataParallel, on several GPUs
    epoch_seconds: list[float] = field(default_factory=list)
    threads: ThreadPlan | None = None  # the CPU threads it uses and why, for `start`
    batchnorm: list[torch.nn.BatchNorm2d] = field(default_factory=list)  # measured afresh each epoch
    best_val_predictions: list[Detections] | None = None  # the best epoch's boxes on the validation split

    @property
    def classes(self) -> list[str]:
        return self.plan.classes

    @property
    def batch_size(self) -> int:
        return distributed.rank_batch(self.config.batch_size, self.world)

    def announce(self, state: RunState, options: RunOptions) -> None:
        counts = {name: len(images) for name, images in self.data.items()}
        warnings = self.plan.warnings + self.info.warnings
        task.announce(self, state, options, counts, warnings, task="detection", detection=self.plan.report)

    def train_one_epoch(self, epoch: int, stop: threading.Event) -> EpochStats | None:
        model = self.replica or self.trainables.model
        optimizer, scaler = self.trainables.optimizer, self.trainables.scaler
        schedule, device = self.schedule, self.device
        items, transform = self.data["train"].items, augmentation()
        model.train()
        self.restart_batchnorm()
        progress = EpochProgress(self.writer, schedule, self.world, epoch)
        loss_sum, seen, lr = torch.zeros((), device=device), 0, 0.0
        order = torch.randperm(len(items), generator=self.trainables.generator)
        order = distributed.shard(order, self.world)[: schedule.images_per_epoch]
        for step, (indices, images, scales) in enumerate(
            self.data["train"].batches(self.batch_size, order), 1
        ):
            lr = schedule.set_lr(optimizer, epoch, step)
            inputs, targets = [], []
            for index, image, scale in zip(indices, images, scales, strict=True):
                image, target = augmented(transform, image, target_of(items[index], scale))
                inputs.append(_as_input(image, device))
                targets.append({key: value.to(device) for key, value in target.items()})
            with self.precision.autocast(device):
                loss = sum(model(inputs, targets).values())
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(self.trainables.model.parameters(), GRAD_CLIP)
            scaler.step(optimizer)
            scaler.update()
            loss_sum += loss.detach() * len(inputs)
            seen += len(inputs)
            progress.step(step, loss_sum, seen)
            if distributed.stop_at_step(stop, self.world, device, step, step == schedule.steps_per_epoch):
                return None
        seconds = time.perf_counter() - progress.started
        summed_loss, total = distributed.sum_values(self.world, device, loss_sum, seen)
        return EpochStats(progress.started, seconds, int(total), summed_loss / total, 0.0, lr)

    @torch.no_grad()
    def predictions(self, split: str) -> list[Detections]:
        """The model's boxes for every image of `split`, in the original images' pixels. On several GPUs
        each rank predicts its share and every rank gets them all."""
        model, source = self.trainables.model, self.data[split]
        distributed.same_buffers(model, self.world)
        model.eval()
        found: dict[int, Detections] = {}
        for indices, images, scales in source.batches(
            self.batch_size, distributed.eval_shard(len(source), self.world)
        ):
            with self.precision.autocast(self.device):
                outputs = model([_as_input(image, self.device) for image in images])
            for index, output, scale in zip(indices, outputs, scales, strict=True):
                found[index] = Detections(
                    boxes=output["boxes"].float().cpu().numpy() / scale,
                    scores=output["scores"].float().cpu().numpy(),
                    labels=output["labels"].cpu().numpy() - 1,
                )
        if self.world.distributed:
            import torch.distributed as dist

            shares: list[Any] = [None] * self.world.size
            dist.all_gather_object(shares, found)
            found = {index: item for share in shares for index, item in share.items()}
        return [found[index] for index in range(len(source))]

    def evaluate(self, split: str) -> tuple[DetectionScores, list[Detections]]:
        """COCO mAP of the model's boxes on `split`, and the boxes."""
        found = self.predictions(split)
        return coco_scores(self.data[split].items, self.classes, found), found

    def restart_batchnorm(self) -> None:
        """From random init, BatchNorm's running statistics start afresh each epoch and become the plain
        mean over the epoch's training batches (momentum None), so the evaluation that follows sees
        statistics of weights close to its own at no extra forward pass (training itself normalises with
        each batch's statistics, untouched). A running average from random init would keep much of its
        starting values over a short run, and the evaluation would see flat features: the same boxes for
        every image."""
        for layer in self.batchnorm:
            layer.reset_running_stats()

    def end_epoch(self, state: RunState, stats: EpochStats) -> None:
        """Score the validation split; the rest is every task's (training/task.py close_epoch)."""
        scores, found = self.evaluate("val")
        best = None
        if scores.map > state.best.val_map or state.best.epoch == 0:
            best = checkpoint.BestEpoch(
                epoch=state.epoch + 1, per_class=scores.per_class_ap50, val_map=scores.map,
                val_map50=scores.map50,
            )  # fmt: skip
            self.best_val_predictions = found
        figures = EpochRecord(val_map50=scores.map50, val_map=scores.map)
        task.close_epoch(self, state, stats, figures, best, detection_artifacts.RESULTS_COLUMNS)

    def finish(self, state: RunState, started: float, options: RunOptions) -> None:
        model, best, config = self.trainables.model, state.best, self.config
        task.restore_best(self)
        test = None
        if "test" in self.data and len(self.data["test"]):
            scores, _ = self.evaluate("test")
            test = {"map": scores.map, "map50": scores.map50}
        val_predictions = self.best_val_predictions  # the best weights' boxes, for the grid
        if val_predictions is None:  # its epoch came before a resume
            val_predictions = self.predictions("val")  # with every rank (collectives)
        if not self.world.is_main:
            return
        paths = detection_artifacts.save_detector(
            self.out, model, config.model, self.classes, config.image_size, config.score_threshold
        )
        metrics = task.run_metrics(self, state, test, config.model_dump() | {"seed": options.seed}) | {
            "task": "detection",
            "best_val_map": best.val_map,
            "best_val_map50": best.val_map50,
            "per_class_ap50": best.per_class,
            "dataset": self.plan.report.model_dump(),
            "pretrained": self.info.pretrained,
        }
        if options.export_onnx:
            from training.detection.export import check_export

            preprocessing = detection_artifacts.read_config(self.out)["preprocessing"]
            onnx = check_export(self.out, model, config.model, self.classes, preprocessing, self.data["val"])
            metrics["onnx"] = onnx.model_dump()
            if onnx.status == "ok" and onnx.file:
                paths["onnx"] = Path(onnx.file)
        report = self.plan.report.model_dump()
        paths |= {
            "model_card": detection_artifacts.write_model_card(
                self.out, config.model_dump(), report, metrics
            ),
            "val_predictions": self._draw_val_predictions(val_predictions),
        }
        curves = reports.plotted(
            lambda: reports.plot_curves(self.out, state.history, detection_artifacts.CURVES)
        )
        if curves is not None:
            paths["curves"] = curves
        task.report_done(
            self, state, started, metrics, paths, task="detection", per_class_ap50=best.per_class
        )

    def _draw_val_predictions(self, predictions: list[Detections]) -> Path:
        """val_predictions.jpg: validation images with their predicted and true boxes."""
        pairs = list(zip(self.data["val"].items, predictions, strict=True))
        path = self.out / VAL_PREDICTIONS_FILE
        return draw.save_prediction_grid(path, pairs, self.classes, self.config.score_threshold)
