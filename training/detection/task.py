"""Object detection (`--task detection`), training/task.py's Task: a YOLO, COCO or VOC dataset, one of
torchvision's detectors, the detector's own losses, COCO mAP on the validation split each epoch (the best
epoch by mAP@[.50:.95]), and a detector's artifacts."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training import artifacts, checkpoint, distributed
from training.checkpoint import RunState, Trainables
from training.config import TrainingConfig
from training.contract import RESULTS_FILE, VAL_PREDICTIONS_FILE
from training.data import available_memory_bytes
from training.detection import artifacts as detection_artifacts
from training.detection import draw
from training.detection.coco_eval import Detections, DetectionScores, coco_scores
from training.detection.data import DetectionPlan, discover_detection
from training.detection.images import DetectionImages, augmentation, augmented, target_of
from training.detection.models import (
    BATCHNORM_MOMENTUM,
    DetectorInfo,
    batchnorm_momentum,
    build_detector,
    check_detector_name,
)
from training.device import Precision, describe
from training.distributed import SINGLE, World
from training.emit import EventWriter, PreparingReporter
from training.errors import ConfigError
from training.events import DoneEvent, EpochEvent, ProgressEvent, StartEvent, ThreadPlan, WarningEvent
from training.task import PROGRESS_SECONDS, EpochStats, RunContext, RunOptions, Schedule, save_best_weights

log = logging.getLogger(__name__)

WEIGHT_DECAY = 1e-4  # torchvision's detection recipes'
GRAD_CLIP = 10.0  # a detector's losses spike early on; clipped, a bad batch cannot throw the weights off
BYTES_PER_PIXEL = 3
BATCHNORM_IMAGES = 256  # training images that measure BatchNorm's statistics before a random-init eval


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

    model = info.model.to(device)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=WEIGHT_DECAY)
    # torchvision's detection ops have no CPU autocast: fp32 there, the GPU's autocast on a GPU
    precision = context.precision if device.type == "cuda" else Precision(None, use_scaler=False)
    scaler = torch.amp.GradScaler(device.type, enabled=precision.use_scaler)
    trainables = Trainables(model, optimizer, scaler, context.generator)
    rank_batch = distributed.rank_batch(config.batch_size, world)
    schedule = Schedule.for_run(len(data["train"]) // world.size, config, rank_batch)
    return DetectionRun(
        config, context.out, device, precision, plan, data, info, trainables, schedule, context.writer,
        world, distributed.wrap(model, world, device), threads=context.threads,
    )  # fmt: skip


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

    @property
    def classes(self) -> list[str]:
        return self.plan.classes

    @property
    def batch_size(self) -> int:
        return distributed.rank_batch(self.config.batch_size, self.world)

    def announce(self, state: RunState, options: RunOptions) -> None:
        device_name, gpu_name = describe(self.device)
        counts = {name: len(images) for name, images in self.data.items()}
        self.writer.emit(
            StartEvent(
                run_id=uuid.uuid4().hex[:12],
                model=self.config.model,
                device=device_name,
                gpu_name=gpu_name,
                classes=self.classes,
                counts=counts,
                num_params=sum(p.numel() for p in self.trainables.model.parameters()),
                config=self.config.model_dump()
                | {"seed": options.seed, "precision": str(self.precision.autocast_dtype or "fp32")},
                resumed_from_epoch=state.epoch,
                task="detection",
                detection=self.plan.report,
                threads=self.threads,
            )
        )
        for code, message in self.plan.warnings + self.info.warnings:
            self.writer.emit(WarningEvent(code=code, message=message))

    def train_one_epoch(self, epoch: int, stop: threading.Event) -> EpochStats | None:
        model = self.replica or self.trainables.model
        optimizer, scaler = self.trainables.optimizer, self.trainables.scaler
        schedule, device = self.schedule, self.device
        items, transform = self.data["train"].items, augmentation()
        model.train()
        epoch_start = last_progress = time.perf_counter()
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
            now = time.perf_counter()
            if now - last_progress >= PROGRESS_SECONDS or step in (1, schedule.steps_per_epoch):
                last_progress = now
                progress = ProgressEvent(
                    epoch=epoch + 1,
                    step=step,
                    steps_per_epoch=schedule.steps_per_epoch,
                    loss=float(loss_sum) / seen,
                    images_per_sec=seen * self.world.size / (now - epoch_start),
                )
                self.writer.emit(progress)
            if distributed.stop_at_step(stop, self.world, device, step, step == schedule.steps_per_epoch):
                return None
        seconds = time.perf_counter() - epoch_start
        summed_loss, total = distributed.sum_values(self.world, device, loss_sum, seen)
        return EpochStats(epoch_start, seconds, int(total), summed_loss / total, 0.0, lr)

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

    def evaluate(self, split: str) -> DetectionScores:
        if self.info.pretrained is None:
            self.refresh_batchnorm()
        return coco_scores(self.data[split].items, self.classes, self.predictions(split))

    @torch.no_grad()
    def refresh_batchnorm(self) -> None:
        """BatchNorm's running statistics measured afresh on training images with the current weights
        (precise BN). From random init the activations are tiny next to the running variance's starting
        value of 1, and over a short run the running averages keep much of it: evaluation would see
        flat features, the same boxes for every image."""
        model, source = self.trainables.model, self.data["train"]
        layers = batchnorm_momentum(model, None)
        for layer in layers:
            layer.reset_running_stats()
        model.train()
        count = min(len(source), BATCHNORM_IMAGES)
        if count > 1 and count % self.batch_size == 1:  # a batch of one image has no batch statistics
            count -= 1
        for indices, images, scales in source.batches(self.batch_size, range(count)):
            targets = [target_of(source.items[i], scale) for i, scale in zip(indices, scales, strict=True)]
            model(
                [_as_input(image, self.device) for image in images],
                [{key: value.to(self.device) for key, value in target.items()} for target in targets],
            )
        batchnorm_momentum(model, BATCHNORM_MOMENTUM)

    def end_epoch(self, state: RunState, stats: EpochStats) -> None:
        scores = self.evaluate("val")
        epoch = state.epoch + 1
        if scores.map > state.best.val_map or state.best.epoch == 0:
            state.best = checkpoint.BestEpoch(
                epoch=epoch, per_class=scores.per_class_ap50, val_map=scores.map, val_map50=scores.map50
            )
            save_best_weights(self.out, self.world, self.trainables.model, epoch, self.classes)
        self.epoch_seconds.append(time.perf_counter() - stats.started)
        row: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": stats.loss,
            "val_map50": scores.map50,
            "val_map": scores.map,
            "lr": stats.lr,
            "epoch_seconds": self.epoch_seconds[-1],
        }
        state.history.append(row)
        state.epoch = epoch
        if self.world.is_main:
            checkpoint.save_run(self.out / checkpoint.LAST, state, self.trainables)
            artifacts.save_results_csv(self.out, state.history, detection_artifacts.RESULTS_COLUMNS)
        self.writer.emit(
            EpochEvent(
                epochs=self.config.epochs,
                best_val_map=state.best.val_map,
                eta_seconds=float(np.mean(self.epoch_seconds)) * (self.config.epochs - epoch),
                images_per_sec=stats.images / stats.train_seconds,
                **row,
            )
        )

    def finish(self, state: RunState, started: float, options: RunOptions) -> None:
        model, best, config = self.trainables.model, state.best, self.config
        distributed.barrier(self.world)  # rank 0 has written the best weights the others load next
        if (self.out / checkpoint.BEST).exists():
            model.load_state_dict(checkpoint.load(self.out / checkpoint.BEST)["model"])
        test = None
        if "test" in self.data and len(self.data["test"]):
            scores = self.evaluate("test")
            test = {"map": scores.map, "map50": scores.map50}
        val_predictions = self.predictions("val")  # with every rank (collectives), for the grid
        if not self.world.is_main:
            return
        paths = detection_artifacts.save_detector(
            self.out, model, config.model, self.classes, config.image_size, config.score_threshold
        )
        early_stopped = len(state.history) < config.epochs
        final = {k: float(v) for k, v in state.history[-1].items()} if state.history else {}
        metrics: dict[str, Any] = {
            "task": "detection",
            "classes": self.classes,
            "history": state.history,
            "final": final,
            "best_val_map": best.val_map,
            "best_val_map50": best.val_map50,
            "best_epoch": best.epoch,
            "per_class_ap50": best.per_class,
            "test": test,
            "dataset": self.plan.report.model_dump(),
            "pretrained": self.info.pretrained,
            "config": config.model_dump() | {"seed": options.seed},
            "early_stopped_at": len(state.history) if early_stopped else None,
        }
        if options.export_onnx:
            from training.detection.export import export_and_verify

            preprocessing = detection_artifacts.read_config(self.out)["preprocessing"]
            metrics["onnx"] = export_and_verify(
                self.out, model, config.model, self.classes, preprocessing, self.data["val"]
            )
            if metrics["onnx"]["status"] == "ok":
                paths["onnx"] = Path(metrics["onnx"]["file"])
        drawn = self._draw_val_predictions(val_predictions)
        report = self.plan.report.model_dump()
        paths |= {
            "metrics": artifacts.save_metrics(self.out, metrics),
            "results": self.out / RESULTS_FILE,
            "model_card": detection_artifacts.write_model_card(
                self.out, config.model_dump(), report, metrics
            ),
            "curves": detection_artifacts.plot_curves(self.out, state.history),
            "checkpoint": self.out / checkpoint.LAST,
            "checkpoint_best": self.out / checkpoint.BEST,
            "val_predictions": drawn,
        }
        self.writer.emit(
            DoneEvent(
                task="detection",
                epochs_completed=len(state.history),
                final=final,
                best_epoch=best.epoch,
                per_class_ap50=best.per_class,
                test=test,
                onnx=metrics.get("onnx"),
                early_stopped=early_stopped,
                artifacts={name: str(path) for name, path in paths.items()},
                total_seconds=time.time() - started,
            )
        )

    def _draw_val_predictions(self, predictions: list[Detections]) -> Path:
        """val_predictions.jpg: validation images with their predicted and true boxes."""
        pairs = list(zip(self.data["val"].items, predictions, strict=True))
        path = self.out / VAL_PREDICTIONS_FILE
        return draw.save_prediction_grid(path, pairs, self.classes, self.config.score_threshold)
