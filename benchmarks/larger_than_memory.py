"""A dataset four times the in-memory budget: images/s from the memory-mapped decoded cache vs the same
dataset fully in memory vs the streaming path (decode JPEGs every epoch), with each one's peak memory.

    python benchmarks/larger_than_memory.py [--data DIR] [--generated 3000] [--ratio 4] [--model resnet18]
        [--image-size 64] [--batch-size 32] [--epochs 3] [--workers N] [--repeats 2]

The budget (--cache-budget-mb) is set to 1/ratio of the decoded size, so the trainer cannot hold the
dataset in memory:
  (a) in memory: --no-cache-dir with no budget (the whole dataset decoded into RAM)
  (b) mapped:    --cache-dir (built by a first run, not timed), budget 1/ratio: trains from the mapped file
  (c) streaming: --no-cache-dir, budget 1/ratio: DataLoader workers decode every epoch
Images/s is training images per second of training time over the epochs after the first (`epoch`
events). Note: on a host whose page cache can hold the file, (b) reads from the page cache; that is the
point (no per-epoch decoding), but it is not a cold-disk figure.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench_data import generated_photos
from trainer_runs import TrainerRun, run_trainer

from training.data import train_cache_side


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, help="dataset folder (default: generated photo-sized JPEGs)")
    parser.add_argument("--generated", type=int, default=3000)
    parser.add_argument("--ratio", type=float, default=4.0, help="decoded size / in-memory budget")
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs of each; the best is kept")
    args = parser.parse_args()
    data = args.data or generated_photos(args.generated)
    images = sum(1 for p in data.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    decoded_mb = images * 3 * train_cache_side(args.image_size) ** 2 / 2**20
    budget_mb = max(1, int(decoded_mb / args.ratio))
    print(f"data={data} images={images} decoded≈{decoded_mb:.0f} MB budget={budget_mb} MB")
    print(
        f"model={args.model} size={args.image_size} batch={args.batch_size} epochs={args.epochs} "
        f"repeats={args.repeats} (best of)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"

        def flags(name: str, *extra: str) -> list[str]:
            common = f"--no-pretrained --model {args.model} --image-size {args.image_size} "
            common += f"--batch-size {args.batch_size} --workers {args.workers}"
            return ["--data", str(data), "--out", str(Path(tmp) / name), *common.split(), *extra]

        run_trainer(flags("build", "--epochs", "1", "--cache-dir", str(cache)), stop_after="progress")
        epochs = ("--epochs", str(args.epochs))
        budget = ("--cache-budget-mb", str(budget_mb))
        variants = {
            "(a) in memory": ("--no-cache-dir",),
            "(b) mapped cache": (*budget, "--cache-dir", str(cache)),
            "(c) streaming": (*budget, "--no-cache-dir"),
        }
        runs: dict[str, TrainerRun] = {}
        for repeat in range(args.repeats):  # alternating, so background load hits all alike
            for name, extra in variants.items():
                run = run_trainer(flags(f"{name[1]}{repeat}", *epochs, *extra))
                if name not in runs or run.steady_images_per_sec() > runs[name].steady_images_per_sec():
                    runs[name] = run
    base = runs["(a) in memory"].steady_images_per_sec()
    print(f"{'variant':<18} {'img/s':>8} {'vs (a)':>7} {'peak RSS':>9} {'peak anon':>9}  images from")
    for name, run in runs.items():
        rate = run.steady_images_per_sec()
        memory = f"{run.peak_rss_mb:7.0f}MB {run.peak_anon_mb:7.0f}MB"
        source = run.first("start")[0]["data"]["images_from"]
        print(f"{name:<18} {rate:8.1f} {rate / base:7.2f} {memory}  {source}")


if __name__ == "__main__":
    main()
