"""A stand-in for `python -m training` that emits scripted events, fast and without torch.

It takes the trainer's CLI (--config, --out, --resume, ...) plus --mode and timing flags, writes
events to stdout and appends them to OUT/events.jsonl like the real trainer, honours SIGTERM
(checkpoint, `stopped`, exit 5) and records what it saw (argv, CUDA_VISIBLE_DEVICES) in OUT/seen.json.
Under torchrun only rank 0 emits; every other rank records OUT/seen-rankN.json and ends.

Modes: ok; crash (stderr traceback, exit 1 after --crash-after epochs, no final event); error (an
`error` event of --error-kind); hang (no events after `start`); malformed (garbage lines between events).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.config import TrainingConfig
from training.contract import CHECKPOINT_LAST_FILE, EVENTS_FILE, EXIT_CODE_FOR_ERROR, MODEL_FILE, ExitCode
from training.events import (
    DoneEvent,
    EpochEvent,
    ErrorEvent,
    PreparingEvent,
    ProgressEvent,
    StartEvent,
    StoppedEvent,
    WarningEvent,
)

STEPS_PER_EPOCH = 2
stop_requested = False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache-dir")
    parser.add_argument("--mode", choices=["ok", "crash", "error", "hang", "malformed"], default="ok")
    parser.add_argument("--epoch-seconds", type=float, default=0.05)
    parser.add_argument("--crash-after", type=int, default=1)
    parser.add_argument("--error-kind", default="out_of_memory")
    parser.add_argument("--ignore-sigterm", action="store_true")
    parser.add_argument("--warn", default=None, help="emit a warning event with this message after start")
    parser.add_argument("--decode", type=int, default=0, help="emit `preparing` decode events for N images")
    parser.add_argument(
        "--acc-by-lr", action="store_true", help="accuracy grows with the learning rate (up to 1e-2): sweeps"
    )
    parser.add_argument("--crash-at-lr", type=float, help="mode crash for this learning rate only (sweeps)")
    parser.add_argument("--hold-until", help="after `start`, wait until this file exists before training")
    args = parser.parse_args()

    out = Path(args.out)
    config = TrainingConfig.from_json(Path(args.config).read_text())
    if args.crash_at_lr is not None and config.learning_rate == args.crash_at_lr:
        args.mode = "crash"
    checkpoint = out / CHECKPOINT_LAST_FILE
    # under torchrun (a run on several GPUs) each rank records what it saw; like the real trainer, only
    # rank 0 writes events
    rank = os.environ.get("RANK")
    seen = {"argv": sys.argv, "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}
    seen |= {"rank": rank, "world_size": os.environ.get("WORLD_SIZE")} if rank is not None else {}
    (out / ("seen.json" if rank in (None, "0") else f"seen-rank{rank}.json")).write_text(json.dumps(seen))
    if rank not in (None, "0"):
        return ExitCode.DONE
    signal.signal(signal.SIGTERM, signal.SIG_IGN if args.ignore_sigterm else _request_stop)
    events = (out / EVENTS_FILE).open("a", encoding="utf-8")

    def emit(event: object) -> None:
        line = event.to_json_line()  # type: ignore[attr-defined]
        events.write(line)
        events.flush()
        sys.stdout.write(line)
        sys.stdout.flush()

    done = json.loads(checkpoint.read_text())["epoch"] if args.resume else 0
    for decoded in range(0, args.decode + 1, max(1, args.decode // 4)) if args.decode else ():
        emit(PreparingEvent(phase="decode", done=decoded, total=args.decode))
        time.sleep(0.1)
    emit(
        StartEvent(
            run_id=out.name,
            model=config.model,
            device="cpu",
            classes=["a", "b"],
            counts={"train": 8, "val": 4},
            num_params=1000,
            config=config.model_dump(),
            resumed_from_epoch=done,
        )
    )
    if args.warn:
        emit(WarningEvent(code="fake_warning", message=args.warn))
    while args.hold_until and not Path(args.hold_until).exists() and not stop_requested:
        time.sleep(0.02)
    if args.mode == "hang":
        while not stop_requested:
            time.sleep(0.02)
        return _stop(emit, done, checkpoint)
    for epoch in range(done + 1, config.epochs + 1):
        if args.mode == "crash" and epoch > args.crash_after:
            print("Traceback (most recent call last):\nRuntimeError: fake trainer crashed", file=sys.stderr)
            return ExitCode.INTERNAL
        if args.mode == "error":
            emit(
                ErrorEvent(
                    kind=args.error_kind, message=f"fake {args.error_kind} failure", detail="raw detail"
                )
            )
            return EXIT_CODE_FOR_ERROR[args.error_kind]
        for step in range(1, STEPS_PER_EPOCH + 1):
            time.sleep(args.epoch_seconds / STEPS_PER_EPOCH)
            emit(
                ProgressEvent(
                    epoch=epoch, step=step, steps_per_epoch=STEPS_PER_EPOCH, loss=1.0, images_per_sec=50
                )
            )
        if args.mode == "malformed":
            events.write('not json at all\n{"type": "unknown"}\n\n')
            events.flush()
        accuracy = epoch / config.epochs
        if args.acc_by_lr:
            accuracy *= min(1.0, config.learning_rate / 1e-2)
        emit(EpochEvent(**_figures(config, accuracy, args.acc_by_lr, epoch), **_timing(config, args, epoch)))
        checkpoint.write_text(json.dumps({"epoch": epoch}))
        print(f"fake trainer: epoch {epoch} done", file=sys.stderr, flush=True)
        done = epoch
        if stop_requested:
            return _stop(emit, done, checkpoint)
    model = out / MODEL_FILE
    model.write_bytes(b"fake")
    score = accuracy if args.acc_by_lr else 1.0
    if config.task == "detection":
        final, results = {"val_map50": score, "val_map": score * 0.6}, {"task": "detection"}
    else:
        final, results = {"val_acc": score}, {"best_val_acc": score, "per_class_acc": {"a": 1.0, "b": 1.0}}
    emit(
        DoneEvent(
            epochs_completed=done,
            final=final,
            best_epoch=done,
            artifacts={"model": str(model), "checkpoint": str(checkpoint)},
            **results,
        )
    )
    return ExitCode.DONE


def _figures(config: TrainingConfig, score: float, by_lr: bool, epoch: int) -> dict[str, float]:
    """An epoch's figures: accuracy and loss for a classifier (with --acc-by-lr the loss falls as the
    accuracy grows), mAP for a detector."""
    if config.task == "detection":
        return {
            "train_loss": 1 / epoch,
            "val_map50": score,
            "val_map": score * 0.6,
            "best_val_map": score * 0.6,
        }
    loss = 1 - score / 2 if by_lr else 1 / epoch
    return {
        "train_loss": 1 / epoch,
        "train_acc": score,
        "val_loss": loss,
        "val_acc": score,
        "best_val_acc": score,
    }


def _timing(config: TrainingConfig, args: argparse.Namespace, epoch: int) -> dict[str, float]:
    return {
        "epoch": epoch,
        "epochs": config.epochs,
        "lr": config.learning_rate,
        "epoch_seconds": args.epoch_seconds,
        "eta_seconds": args.epoch_seconds * (config.epochs - epoch),
        "images_per_sec": 50,
    }


def _request_stop(_signum: int, _frame: object) -> None:
    global stop_requested
    stop_requested = True


def _stop(emit: object, epoch: int, checkpoint: Path) -> int:
    emit(StoppedEvent(epoch=epoch, checkpoint=str(checkpoint) if checkpoint.exists() else None))  # type: ignore[operator]
    return ExitCode.STOPPED


if __name__ == "__main__":
    sys.exit(main())
