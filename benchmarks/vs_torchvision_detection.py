"""This trainer's detection task (a) vs torchvision's own detection reference recipe (b),
`references/detection/train.py`, on the same job, side by side in one run: the same generated COCO data
(tests/detection_datasets.py's shapes, written in the layout the reference reads:
`annotations/instances_{train,val}2017.json` above `train2017/` and `val2017/`), the same torchvision
model from random init (no detector and no backbone weights), the same input side, batch size, epochs,
device, data-loading workers and compute threads (--threads: the trainer's flag, the reference's
OMP_NUM_THREADS; by default the CPUs this process may use, torch's own default, which the trainer would
lower under load). Each side keeps its own optimiser recipe: (a) its defaults, (b) the
reference's SGD at its documented learning rate scaled to the batch (0.02 for 16 images).

The reference is not part of the torchvision wheel and is never vendored here. Fetch the scripts of the
installed torchvision's version and pass their folder (they need pycocotools, in the dev extra):

    TAG=v$(python -c "import torchvision; print(torchvision.__version__.split('+')[0])")
    git clone --depth 1 --branch $TAG https://github.com/pytorch/vision /tmp/vision
    python benchmarks/vs_torchvision_detection.py --reference-dir /tmp/vision/references/detection
        [--model fasterrcnn_mobilenet_v3_large_320_fpn] [--images 64] [--image-size 320]
        [--batch-size 4] [--epochs 3] [--device cpu] [--workers N] [--threads N] [--repeats 1]

Reported per side (best of the repeats; runs alternate a, b, a, b so background load hits both alike):
- wall: the whole subprocess, start-up, data loading, every epoch's validation and checkpoints included;
- train img/s: training images / training seconds over the epochs after the first (all when there is
  one): (a) from its `epoch` events' images_per_sec; (b) from its per-epoch line
  `Epoch: [e] Total time: ... (X s / it)` and its iterations of --batch-size images;
- mAP@[.50:.95] and mAP@.50 on the validation images after the last epoch: (a) its `done` event,
  (b) the last pycocotools summary it prints. Both are pycocotools' own figures.
- steps/epoch: the training steps of --batch-size images each side takes per epoch; the same on both
  sides, so the walls compare the same work: the generated data has no images without boxes (the
  reference would leave them out, its _coco_remove_images_without_annotations, where the trainer trains
  on them as negatives), and its batch sampler drops an epoch's last partial batch, so --images should
  give a training split (three quarters) that --batch-size divides (the defaults do).
What still differs: the input side of the reference is the model's own (`min_size`, 320 for the *_320_*
models, else 800), so --image-size must match it (the default does). The generated images are squares of
--image-size pixels, which both sides take at that size. From random init the trainer's BatchNorm keeps
each epoch's own statistics for the validation that follows, which the reference does not (its
random-init model scores about 0); on a CPU the trainer runs roi_align's backward on its own
multi-threaded kernel (training/detection/roi_align_cpu.py), the reference on torchvision's.
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

from bench_data import REPO

REFERENCE_LR_PER_IMAGE = 0.02 / 16  # the reference's documented lr: 0.02 for 8 GPUs x 2 images
REFERENCE_EPOCH = re.compile(r"Epoch: \[(\d+)\] Total time: \S+ \(([\d.]+) s / it\)")
REFERENCE_STEPS = re.compile(r"Epoch: \[(\d+)\]\s+\[\s*\d+/(\d+)\]")
REFERENCE_AP = re.compile(
    r"Average Precision\s+\(AP\) @\[ IoU=(0\.50:0\.95|0\.50)\s+\| area=\s+all .*?= (-?[\d.]+)"
)


def steady_rate(epochs: list[tuple[float, float]]) -> float:
    """(images, seconds) per epoch -> images/s over the epochs after the first (all if only one)."""
    later = epochs[1:] or epochs
    return sum(n for n, _ in later) / sum(s for _, s in later)


def write_data(root: Path, images: int, side: int) -> Path:
    sys.path.insert(0, str(REPO))
    from tests.detection_datasets import write_coco

    write_coco(root, n_images=images, size=side, seed=0, negatives=0, split=True, layout="coco")
    return root


def run(command: list[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> tuple[str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        env=os.environ | (env or {}),
    )  # fmt: skip
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(
            f"{what} failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result.stdout + result.stderr, wall


def run_ours(args: argparse.Namespace, data: Path, out: Path) -> dict[str, float]:
    """(a): `python -m training --task detection`, figures from its events on stdout."""
    command = [sys.executable, "-m", "training", "--task", "detection", "--data", str(data),
               "--model", args.model, "--no-pretrained", "--epochs", str(args.epochs),
               "--batch-size", str(args.batch_size), "--image-size", str(args.image_size),
               "--device", args.device, "--workers", str(args.workers), "--threads", str(args.threads),
               "--seed", "0",
               "--no-onnx", "--out", str(out)]  # fmt: skip
    log, wall = run(command, REPO, "the trainer")
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    start = next(e for e in events if e["type"] == "start")
    done = next(e for e in events if e["type"] == "done")
    n_train = start["counts"]["train"]
    epochs = [(n_train, n_train / e["images_per_sec"]) for e in events if e["type"] == "epoch"]
    steps = next(e["steps_per_epoch"] for e in events if e["type"] == "progress")
    return {"wall": wall, "steady": steady_rate(epochs), "map": done["final"]["val_map"],
            "map50": done["final"]["val_map50"], "steps": steps}  # fmt: skip


def run_reference(args: argparse.Namespace, data: Path, out: Path) -> dict[str, float]:
    """(b): torchvision's references/detection/train.py, figures from its log."""
    lr = REFERENCE_LR_PER_IMAGE * args.batch_size
    command = [sys.executable, "train.py", "--data-path", str(data), "--dataset", "coco",
               "--model", args.model, "--device", args.device, "-b", str(args.batch_size),
               "--epochs", str(args.epochs), "-j", str(args.workers), "--lr", f"{lr:g}",
               "--output-dir", str(out), "--print-freq", "1000"]  # fmt: skip
    log, wall = run(
        command, args.reference_dir, "the reference train.py", {"OMP_NUM_THREADS": str(args.threads)}
    )
    steps = {int(epoch): int(total) for epoch, total in REFERENCE_STEPS.findall(log)}
    epochs = [
        (steps[int(epoch)] * args.batch_size, steps[int(epoch)] * float(seconds))
        for epoch, seconds in REFERENCE_EPOCH.findall(log)
    ]
    if len(epochs) != args.epochs:
        raise SystemExit(
            f"parsed {len(epochs)} epochs from the reference's log, expected {args.epochs}:\n{log[-3000:]}"
        )
    ap = {iou: float(value) for iou, value in REFERENCE_AP.findall(log)}  # the last summary's, by IoU
    if set(ap) != {"0.50:0.95", "0.50"}:
        raise SystemExit(f"no pycocotools summary in the reference's log:\n{log[-3000:]}")
    return {"wall": wall, "steady": steady_rate(epochs), "map": ap["0.50:0.95"], "map50": ap["0.50"],
            "steps": max(steps.values())}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--reference-dir", type=Path, required=True, help="torchvision's references/detection"
    )
    parser.add_argument("--model", default="fasterrcnn_mobilenet_v3_large_320_fpn")
    parser.add_argument("--images", type=int, default=64, help="generated images, a quarter of them validate")
    parser.add_argument("--image-size", type=int, default=320)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=min(4, len(os.sched_getaffinity(0))))
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)), help="compute threads")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each side; the best is reported")
    args = parser.parse_args()
    args.reference_dir = args.reference_dir.resolve()
    if not (args.reference_dir / "train.py").is_file():
        raise SystemExit(f"no train.py in {args.reference_dir}: see this script's --help for how to fetch it")
    print(f"model={args.model} images={args.images} size={args.image_size} batch={args.batch_size} "
          f"epochs={args.epochs} device={args.device} workers={args.workers} threads={args.threads} "
          f"repeats={args.repeats}")  # fmt: skip
    runs: dict[str, list[dict[str, float]]] = {"trainer": [], "reference": []}
    with tempfile.TemporaryDirectory() as tmp:
        data = write_data(Path(tmp) / "data", args.images, args.image_size)
        for repeat in range(args.repeats):
            runs["trainer"].append(run_ours(args, data, Path(tmp) / f"ours{repeat}"))
            runs["reference"].append(run_reference(args, data, Path(tmp) / f"reference{repeat}"))
            for side, results in runs.items():
                r = results[-1]
                print(f"  run {repeat + 1} {side:<9}: wall {r['wall']:7.1f}s  "
                      f"train {r['steady']:6.2f} img/s  {r['steps']:.0f} steps/epoch  "
                      f"mAP {r['map']:.3f}  mAP@.5 {r['map50']:.3f}")  # fmt: skip
    best = {
        side: {"wall": min(r["wall"] for r in rs), "steady": max(r["steady"] for r in rs),
               "map": rs[-1]["map"], "map50": rs[-1]["map50"]}
        for side, rs in runs.items()
    }  # fmt: skip
    a, b = best["trainer"], best["reference"]
    print()
    print(
        f"{'best of ' + str(args.repeats):<30} {'wall (s)':>9} {'train img/s':>12} {'mAP':>7} {'mAP@.5':>7}"
    )
    for name, r in (("(a) python -m training", a), ("(b) torchvision reference", b)):
        print(f"{name:<30} {r['wall']:9.1f} {r['steady']:12.2f} {r['map']:7.3f} {r['map50']:7.3f}")
    print(f"{'(a)/(b)':<30} {a['wall'] / b['wall']:9.2f} {a['steady'] / b['steady']:12.2f}")
    print("wall ratio < 1 and img/s ratio > 1 mean the trainer is faster")


if __name__ == "__main__":
    main()
