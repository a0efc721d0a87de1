"""Start -> first training step: a first run (nothing cached) vs a second run on the same dataset (the
decoded cache is mapped instead of decoded), with the no-cache path (what every run did before) beside.

    python benchmarks/start_latency.py [--data DIR ...] [--generated 5000] [--model resnet18]
        [--image-size 64] [--batch-size 32] [--workers N] [--repeats 2]

Datasets: ../shared's hymenoptera when present (or --data), and a generated set of 5,000 500x375 JPEGs.
Each run is `python -m training --epochs 1 --no-pretrained` in a subprocess, timed from its launch to its
first `progress` event (sent after step 1), then stopped with SIGTERM. Per dataset, alternating:
  first:    a fresh --cache-dir (decodes and writes the cache)
  second:   the same --cache-dir again (maps it)
  no cache: --no-cache-dir (decodes into memory, as before the cache existed)
  first, warm / second, warm: the first and second runs as a Start click in the bot makes them: handed to
            an idle warm spare (WARM_TRAINER, bot/runs/process.py), timed from the launcher's submit()
Reported: launch -> first step (best of --repeats), launch -> `start`, the trainer's own time to get the
images ready (`start` event data.seconds), and peak RSS (VmHWM, which counts mapped cache pages) and peak
anonymous memory.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench_data import SHARED_DATASET, generated_photos
from trainer_runs import TrainerRun, run_trainer, run_warm


def measure(data: Path, cache: Path | None, out: Path, args: argparse.Namespace, warm: bool) -> TrainerRun:
    common = f"--epochs 1 --no-pretrained --model {args.model} --image-size {args.image_size} "
    common += f"--batch-size {args.batch_size} --workers {args.workers}"
    flags = ["--data", str(data), *common.split()]
    flags += ["--cache-dir", str(cache)] if cache is not None else ["--no-cache-dir"]
    if warm:
        return run_warm(flags, out, stop_after="progress")
    return run_trainer([*flags, "--out", str(out)], stop_after="progress")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, action="append", help="dataset folder(s) (default: hymenoptera)")
    parser.add_argument("--generated", type=int, default=5000, help="images in the generated set (0: none)")
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    datasets = list(args.data or ([SHARED_DATASET] if SHARED_DATASET.is_dir() else []))
    if args.generated:
        datasets.append(generated_photos(args.generated))
    print(
        f"model={args.model} size={args.image_size} batch={args.batch_size} workers={args.workers} "
        f"repeats={args.repeats}"
    )
    print(
        f"{'dataset':<34} {'run':<12} {'first step':>10} {'start':>7} {'images':>8} "
        f"{'peak RSS':>9} {'peak anon':>9}  images from"
    )
    for data in datasets:
        best: dict[str, TrainerRun] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for repeat in range(args.repeats):
                cache, warm_cache = Path(tmp) / f"cache{repeat}", Path(tmp) / f"warm-cache{repeat}"
                plan = [("first", cache, False), ("second", cache, False), ("no cache", None, False),
                        ("first, warm", warm_cache, True), ("second, warm", warm_cache, True)]  # fmt: skip
                for name, folder, warm in plan:
                    out = Path(tmp) / f"{name}{repeat}".replace(" ", "_").replace(",", "")
                    run = measure(data, folder, out, args, warm)
                    if name not in best or run.first("progress")[1] < best[name].first("progress")[1]:
                        best[name] = run
        for name, run in best.items():
            start, at_start = run.first("start")
            print(
                f"{data.name[:34]:<34} {name:<12} {run.first('progress')[1]:9.2f}s {at_start:6.2f}s "
                f"{start['data']['seconds']:7.2f}s {run.peak_rss_mb:7.0f}MB {run.peak_anon_mb:7.0f}MB  "
                f"{start['data']['images_from']} ({start['data']['images']:,} images)"
            )
        pairs = (("first", "second", "new process"), ("first, warm", "second, warm", "bot, warm spare"))
        for first, second, label in pairs:
            ratio = best[first].first("progress")[1] / best[second].first("progress")[1]
            print(f"{'':<34} first/second run, start -> first step ({label}): {ratio:.2f}x")


if __name__ == "__main__":
    main()
