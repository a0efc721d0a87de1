"""The training run, top to bottom: data, model, optimiser, epochs, checkpoints, artifacts, events."""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from training import artifacts, checkpoint
from training.augment import Normalizer, augment_batch
from training.config import TrainingConfig
from training.contract import ExitCode
from training.data import discover, prepare
from training.device import choose_precision, configure_backend, describe, resolve_device
from training.emit import EventWriter
from training.errors import ConfigError, DatasetError
from training.evaluate import evaluate
from training.events import (
    DoneEvent,
    EpochEvent,
    ProgressEvent,
    StartEvent,
    StoppedEvent,
    WarningEvent,
)
from training.model import build_model

log = logging.getLogger(__name__)

WEIGHT_DECAY = 0.05
LABEL_SMOOTHING = 0.1
WARMUP_FRACTION = 0.05  # of all steps, at most one epoch
PROGRESS_SECONDS = 0.5  # at most ~2 progress events per second


@dataclass
class RunOptions:
    out_dir: Path
    device: str = "auto"
    workers: int | None = None  # decode threads / DataLoader workers; default: all cores
    seed: int = 0
    resume: bool = False
    weights: Path | None = None
    cache_budget_bytes: int | None = None  # default: half the free RAM


def lr_at(step: int, total_steps: int, warmup_steps: int, peak_lr: float) -> float:
    """Linear warmup to the requested lr, then cosine decay to zero (per step)."""
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return peak_lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


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
    generator = seed_everything(options.seed)
    device = resolve_device(options.device)
    configure_backend(device)
    precision = choose_precision(device, config.image_size)
    threads = options.workers or len(os.sched_getaffinity(0))

    plan = discover(Path(config.dataset_path), options.seed)
    classes = plan.classes
    if config.num_classes is not None and config.num_classes != len(classes):
        raise ConfigError(f"num_classes is {config.num_classes} but the dataset has {len(classes)} classes")
    info = build_model(config.model, len(classes), config.pretrained, options.weights)
    data = prepare(plan, config.image_size, info.crop_pct, device, threads, options.cache_budget_bytes)
    warnings = plan.warnings + info.warnings  # emitted right after `start`
    if data.skipped:
        names = ", ".join(p.name for p in data.skipped[:5]) + (" ..." if len(data.skipped) > 5 else "")
        warnings.append(("corrupt_images", f"skipped {len(data.skipped)} unreadable image(s): {names}"))

    model = info.model.to(device, memory_format=torch.channels_last)
    normalize = Normalizer(info.mean, info.std, device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=WEIGHT_DECAY, fused=device.type == "cuda"
    )
    scaler = torch.amp.GradScaler(device.type, enabled=precision.use_scaler)
    autocast = precision.autocast(device)
    n_train = len(data.train) - (1 if len(data.train) % config.batch_size == 1 else 0)  # no batch of one (BN)
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = min(steps_per_epoch, max(1, round(WARMUP_FRACTION * total_steps)))

    start_epoch, history = 0, []
    best = {"val_acc": -1.0, "epoch": 0, "confusion": [], "per_class": {}}
    best_state = None
    if options.resume:
        start_epoch, history, best = _restore(out, model, optimizer, scaler, generator, classes)
        best_state = (
            checkpoint.load(out / checkpoint.BEST)["model"] if (out / checkpoint.BEST).exists() else None
        )
    device_name, gpu_name = describe(device)
    writer.emit(
        StartEvent(
            run_id=uuid.uuid4().hex[:12],
            model=config.model,
            device=device_name,
            gpu_name=gpu_name,
            classes=classes,
            counts={"train": len(data.train), "val": len(data.val)}
            | ({"test": len(data.test)} if data.test else {}),
            num_params=sum(p.numel() for p in model.parameters()),
            config=config.model_dump()
            | {"seed": options.seed, "precision": str(precision.autocast_dtype or "fp32")},
            resumed_from_epoch=start_epoch,
        )
    )
    for code, message in warnings:
        writer.emit(WarningEvent(code=code, message=message))

    def save_last(epochs_done: int) -> Path:
        state = {
            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
            "epoch": epochs_done, "history": history, "best": best, "classes": classes,
            "config": config.model_dump(), "generator": generator.get_state(), "rng": checkpoint.rng_states(),
        }  # fmt: skip
        return checkpoint.save(out / checkpoint.LAST, state)

    epoch_seconds: list[float] = []
    for epoch in range(start_epoch, config.epochs):
        model.train()
        epoch_start = last_progress = time.perf_counter()
        loss_sum, correct, seen = torch.zeros((), device=device), torch.zeros((), device=device), 0
        order = torch.randperm(len(data.train), generator=generator)[:n_train]
        for step, (images, labels) in enumerate(data.train.batches(config.batch_size, order), 1):
            lr = lr_at(epoch * steps_per_epoch + step - 1, total_steps, warmup_steps, config.learning_rate)
            for group in optimizer.param_groups:
                group["lr"] = lr
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            inputs = augment_batch(images, config.image_size, normalize, generator)
            with autocast:
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
            if now - last_progress >= PROGRESS_SECONDS or step == steps_per_epoch:
                last_progress = now
                writer.emit(
                    ProgressEvent(
                        epoch=epoch + 1, step=step, steps_per_epoch=steps_per_epoch,
                        loss=float(loss_sum) / seen, images_per_sec=seen / (now - epoch_start),
                    )
                )  # fmt: skip
            if stop.is_set():
                path = save_last(epoch)
                writer.emit(StoppedEvent(epoch=epoch, checkpoint=str(path)))
                return ExitCode.STOPPED
        train_seconds = time.perf_counter() - epoch_start

        result = evaluate(model, data.val, len(classes), normalize, device, precision, config.batch_size)
        if result.acc > best["val_acc"]:
            best = {"val_acc": result.acc, "epoch": epoch + 1, "confusion": result.confusion,
                    "per_class": result.per_class_acc(classes)}  # fmt: skip
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            checkpoint.save(
                out / checkpoint.BEST, {"model": best_state, "epoch": epoch + 1, "classes": classes}
            )
        epoch_seconds.append(time.perf_counter() - epoch_start)
        row = {"epoch": epoch + 1, "train_loss": float(loss_sum) / seen, "train_acc": float(correct) / seen,
               "val_loss": result.loss, "val_acc": result.acc, "lr": lr} | ({"val_top5": result.top5}
               if result.top5 is not None else {})  # fmt: skip
        history.append(row)
        save_last(epoch + 1)
        writer.emit(
            EpochEvent(
                epochs=config.epochs, epoch_seconds=epoch_seconds[-1], best_val_acc=best["val_acc"],
                eta_seconds=float(np.mean(epoch_seconds)) * (config.epochs - epoch - 1),
                images_per_sec=seen / train_seconds, **row,
            )
        )  # fmt: skip
        if stop.is_set() and epoch + 1 < config.epochs:
            writer.emit(StoppedEvent(epoch=epoch + 1, checkpoint=str(out / checkpoint.LAST)))
            return ExitCode.STOPPED

    if best_state is not None:
        model.load_state_dict(best_state)
    test_metrics = None
    if data.test is not None and len(data.test):
        test = evaluate(model, data.test, len(classes), normalize, device, precision, config.batch_size)
        test_metrics = {"loss": test.loss, "acc": test.acc} | (
            {"top5": test.top5} if test.top5 is not None else {}
        )
    paths = artifacts.save_model(
        out,
        model,
        config.model,
        classes,
        config.image_size,
        info.mean,
        info.std,
        info.crop_pct,
        info.interpolation,
    )
    final = {k: float(v) for k, v in history[-1].items()} if history else {}
    metrics = {"classes": classes, "history": history, "final": final, "best_val_acc": best["val_acc"],
               "best_epoch": best["epoch"], "per_class_acc": best["per_class"],
               "confusion_matrix": best["confusion"], "test": test_metrics}  # fmt: skip
    paths |= {
        "metrics": artifacts.save_metrics(out, metrics),
        "curves": artifacts.plot_curves(out, history),
        "confusion_matrix": artifacts.plot_confusion_matrix(out, best["confusion"], classes),
        "checkpoint": out / checkpoint.LAST,
        "checkpoint_best": out / checkpoint.BEST,
    }
    writer.emit(
        DoneEvent(
            epochs_completed=len(history), final=final, best_val_acc=best["val_acc"],
            best_epoch=best["epoch"],
            per_class_acc=best["per_class"], confusion_matrix=best["confusion"], test=test_metrics,
            artifacts={name: str(path) for name, path in paths.items()}, total_seconds=time.time() - started,
        )
    )  # fmt: skip
    return ExitCode.DONE


def _restore(out, model, optimizer, scaler, generator, classes) -> tuple[int, list, dict]:
    path = out / checkpoint.LAST
    if not path.exists():
        raise ConfigError(f"--resume: no checkpoint to resume from in {out}")
    state = checkpoint.load(path)
    if state["classes"] != classes:
        raise DatasetError(
            f"--resume: the dataset's classes ({', '.join(classes)}) differ from the checkpoint's "
            f"({', '.join(state['classes'])})"
        )
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if state["scaler"]:  # empty when saved without fp16 (CPU, bf16 GPU): a resume on an fp16 GPU starts fresh
        scaler.load_state_dict(state["scaler"])
    generator.set_state(state["generator"])
    checkpoint.restore_rng_states(state["rng"])
    log.info("resuming after epoch %d from %s", state["epoch"], path)
    return state["epoch"], state["history"], state["best"]
