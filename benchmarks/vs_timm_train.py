"""This trainer (a) vs timm's own train.py (b) on the same job: same ImageFolder data, model, batch size,
image size, epochs, random init, AdamW (same lr, weight decay, label smoothing, per-step cosine with no
warmup beyond one step), same crop scale, no colour jitter, channels_last, the same precision, and the
same --workers. (a) runs with --no-onnx: timm's train.py exports no ONNX file, and the trainer's verified
export (default when onnx is installed) would add its own seconds to (a)'s wall.

    python benchmarks/vs_timm_train.py --timm-train-py /tmp/timm_train.py [--data DIR]
        [--model resnet18] [--image-size 96] [--batch-size 32] [--epochs 3] [--device cpu]
        [--workers N] [--repeats 2]

timm's train.py is not part of the timm wheel and is never vendored here: fetch it from
github.com/huggingface/pytorch-image-models (the version matching the installed timm) and pass its path.

Both run as subprocesses, alternating (a, a2, a3, b, a, ...) so background load hits all alike; (a) is
a first run on an empty decoded cache, (a2) a second run of the same job, which maps it, and (a3) that
second run as the bot starts it: handed to an idle warm spare (WARM_TRAINER). Reported:
- wall: the whole subprocess, start-up, decoding, validation and checkpoints included;
- steady img/s: training images / training seconds over the epochs after the first (no validation).
  (a) from its `epoch` events; (b) from its per-step log lines (`--log-interval 1`): the step times
  (`Time: X.XXXs`, which include waiting for data) summed per epoch, images = time x the `/s` figure.
  "median step" for (b) is its median per-step rate excluding each epoch's first step (compute only).
Precision: (b) gets `--amp --amp-dtype bfloat16` (or float16) exactly when (a) reports it autocasts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_data import REPO, ensure_dataset
from trainer_runs import run_warm

# timm's train.py gets the trainer's own recipe, so the two runs stay the same job
from training.augment import CROP_SCALE
from training.classification import LABEL_SMOOTHING
from training.task import WEIGHT_DECAY

TIMM_STEP = re.compile(r"Train: (\d+) \[\s*(\d+)/(\d+).*?Time: ([\d.]+)s,\s+([\d.]+)/s")


def steady_rate(epochs: list[tuple[int, float]]) -> float:
    """(images, seconds) per epoch -> images/s over the epochs after the first (all if only one)."""
    later = epochs[1:] or epochs
    return sum(n for n, _ in later) / sum(s for _, s in later)


def our_flags(args: argparse.Namespace, cache: Path) -> list[str]:
    return ["--data", str(args.data), "--model", args.model, "--no-pretrained", "--epochs", str(args.epochs),
            "--batch-size", str(args.batch_size), "--image-size", str(args.image_size),
            "--lr", str(args.lr), "--device", args.device, "--workers", str(args.workers),
            "--seed", "0", "--cache-dir", str(cache),
            "--no-onnx"]  # fmt: skip


def run_ours(args: argparse.Namespace, out: Path, cache: Path) -> dict:
    """(a): `python -m training` with the decoded cache in `cache`; per-epoch training time from its epoch
    events."""
    command = [sys.executable, "-m", "training", *our_flags(args, cache), "--out", str(out)]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(
            f"trainer failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
        )
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return summary(args, events, wall)


def run_ours_warm(args: argparse.Namespace, out: Path, cache: Path) -> dict:
    """(a3): the same as a Start click in the bot runs it: handed to an idle warm spare, timed from the
    local backend's submit() to the trainer's exit."""
    run = run_warm(our_flags(args, cache), out, stop_after=None)
    return summary(args, run.events, run.wall)


def summary(args: argparse.Namespace, events: list[dict], wall: float) -> dict:
    start = next(e for e in events if e["type"] == "start")
    n_train = start["counts"]["train"]
    n_train -= 1 if n_train % args.batch_size == 1 else 0  # as training/loop.py: no batch of one
    epochs = [(n_train, n_train / e["images_per_sec"]) for e in events if e["type"] == "epoch"]
    final = next(e for e in events if e["type"] == "done")
    return {
        "wall": wall,
        "steady": steady_rate(epochs),
        "epoch_rates": [n / s for n, s in epochs],
        "precision": start["config"]["precision"],
        "val_acc": final["final"]["val_acc"],
        "images_from": start["data"]["images_from"],
    }


def timm_precision_flags(precision: str) -> list[str]:
    if "bfloat16" in precision:
        return ["--amp", "--amp-dtype", "bfloat16"]
    if "float16" in precision:
        return ["--amp", "--amp-dtype", "float16"]
    return []


def timm_val_split(data: Path) -> str:
    return next((name for name in ("val", "valid", "validation") if (data / name).is_dir()), "val")


def run_timm(args: argparse.Namespace, out: Path, precision: str) -> dict:
    """(b): timm's train.py; per-epoch training time from its per-step log lines."""
    command = [sys.executable, str(args.timm_train_py), "--data-dir", str(args.data),
               "--train-split", "train", "--val-split", timm_val_split(args.data),
               "--model", args.model, "--num-classes", str(count_classes(args.data)),
               "--img-size", str(args.image_size), "-b", str(args.batch_size),
               "--epochs", str(args.epochs), "--device", args.device, "--workers", str(args.workers),
               "--opt", "adamw", "--lr", str(args.lr), "--weight-decay", str(WEIGHT_DECAY),
               "--smoothing", str(LABEL_SMOOTHING), "--sched", "cosine", "--sched-on-updates",
               "--warmup-epochs", "0", "--min-lr", "0", "--color-jitter", "0",
               "--scale", str(CROP_SCALE[0]), str(CROP_SCALE[1]), "--channels-last",
               "--log-interval", "1", "--checkpoint-hist", "1", "--seed", "0",
               "--output", str(out), "--experiment", "run",
               *timm_precision_flags(precision)]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=out, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    wall = time.perf_counter() - started
    log = result.stdout + result.stderr
    if result.returncode != 0:
        raise SystemExit(f"timm train.py failed ({result.returncode}):\n{log[-4000:]}")
    per_epoch: dict[int, list[float]] = {}
    inner_rates = []  # steps after the first of each epoch, epochs after the first: compute + data only
    for match in TIMM_STEP.finditer(log):
        epoch, seconds, rate = int(match[1]), float(match[4]), float(match[5])
        if epoch > 0 and int(match[2]) > 0:
            inner_rates.append(rate)
        images, total = per_epoch.setdefault(epoch, [0.0, 0.0])
        per_epoch[epoch] = [images + round(seconds * rate), total + seconds]
    if len(per_epoch) != args.epochs:
        raise SystemExit(
            f"parsed {len(per_epoch)} epochs from timm's log, expected {args.epochs}:\n{log[-3000:]}"
        )
    epochs = [(int(n), s) for n, s in (per_epoch[e] for e in sorted(per_epoch))]
    top1 = re.findall(r"\"top1\": ([\d.]+)", log)
    return {
        "wall": wall,
        "steady": steady_rate(epochs),
        "epoch_rates": [n / s for n, s in epochs],
        "precision": " ".join(timm_precision_flags(precision)[2:]) or "fp32",
        "val_acc": float(top1[-1]) / 100 if top1 else float("nan"),
        "median_step": sorted(inner_rates)[len(inner_rates) // 2] if inner_rates else float("nan"),
    }


def count_classes(data: Path) -> int:
    return sum(1 for p in (data / "train").iterdir() if p.is_dir() and not p.name.startswith("."))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timm-train-py", type=Path, required=True, help="path to timm's train.py")
    parser.add_argument(
        "--data", type=Path, help="ImageFolder with train/ and val/ (default ../shared/datasets/hymenoptera)"
    )
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--workers", type=int, default=len(os.sched_getaffinity(0)),
        help="(a) decode threads, (b) DataLoader workers (default: all cores)",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=2, help="runs of each side; the best is reported")
    args = parser.parse_args()
    args.data = ensure_dataset(args.data)
    if not args.timm_train_py.is_file():
        raise SystemExit(f"no such file: {args.timm_train_py}")
    print(f"data={args.data} model={args.model} batch={args.batch_size} size={args.image_size} "
          f"epochs={args.epochs} device={args.device} workers={args.workers} "
          f"repeats={args.repeats}")  # fmt: skip

    runs: dict[str, list[dict]] = {"ours": [], "ours again": [], "ours warm": [], "timm": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            cache = Path(tmp) / f"cache{repeat}"  # empty for the first run, mapped by the second
            ours = run_ours(args, Path(tmp) / f"ours{repeat}", cache)
            runs["ours"].append(ours)
            runs["ours again"].append(run_ours(args, Path(tmp) / f"again{repeat}", cache))
            runs["ours warm"].append(run_ours_warm(args, Path(tmp) / f"warm{repeat}", cache))
            timm_out = Path(tmp) / f"timm{repeat}"
            timm_out.mkdir()
            runs["timm"].append(run_timm(args, timm_out, ours["precision"]))
            for side in runs:
                r = runs[side][-1]
                rates = ", ".join(f"{x:.1f}" for x in r["epoch_rates"])
                step = f"  median step {r['median_step']:.1f} img/s" if "median_step" in r else ""
                print(f"  run {repeat + 1} {side:<10}: wall {r['wall']:6.1f}s  "
                      f"steady {r['steady']:7.1f} img/s  per-epoch [{rates}]  "
                      f"val_acc {r['val_acc']:.3f}  precision {r['precision']}{step}")  # fmt: skip

    best = {
        side: {"wall": min(r["wall"] for r in rs), "steady": max(r["steady"] for r in rs)}
        for side, rs in runs.items()
    }
    a, a2, a3, b = best["ours"], best["ours again"], best["ours warm"], best["timm"]
    precision = runs["ours"][0]["precision"]
    print()
    print(f"{'best of ' + str(args.repeats):<26} {'wall (s)':>9} {'steady img/s':>13}  precision")
    print(f"{'(a) trainer, first run':<26} {a['wall']:9.1f} {a['steady']:13.1f}  {precision}")
    print(f"{'(a2) trainer, second run':<26} {a2['wall']:9.1f} {a2['steady']:13.1f}  {precision}")
    print(f"{'(a3) second run, bot':<26} {a3['wall']:9.1f} {a3['steady']:13.1f}  {precision}")
    print(f"{'(b) timm train.py':<26} {b['wall']:9.1f} {b['steady']:13.1f}  {runs['timm'][0]['precision']}")
    print(f"{'(a)/(b)':<26} {a['wall'] / b['wall']:9.2f} {a['steady'] / b['steady']:13.2f}")
    print(f"{'(a2)/(b)':<26} {a2['wall'] / b['wall']:9.2f} {a2['steady'] / b['steady']:13.2f}")
    print(f"{'(a3)/(b)':<26} {a3['wall'] / b['wall']:9.2f} {a3['steady'] / b['steady']:13.2f}")
    print("wall ratio < 1 and img/s ratio > 1 mean the trainer is faster")


if __name__ == "__main__":
    main()
