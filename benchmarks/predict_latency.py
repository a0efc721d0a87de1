"""Prediction latency from the bot's side, on the CPU: resnet18 at 64 px.

Trains one epoch from random init (the weights do not matter for latency), then times, side by side:
(a) the bot's PredictService: the first image (worker start, torch import, model load) and then single
    images one after another on the warm worker, p50 / p95 / max;
(b) the trainer's own Predictor in this process (no worker, model already loaded), the floor.
The bot process itself never imports torch: that is checked at the end.

Usage: .venv/bin/python benchmarks/predict_latency.py [--data DIR] [--requests 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_data import ensure_dataset
from bot.predict import Limits, PredictService, gather_images


def train(data: Path, out: Path) -> None:
    command = [sys.executable, "-m", "training", "--data", str(data), "--out", str(out), "--epochs", "1"]
    command += ["--model", "resnet18", "--no-pretrained", "--image-size", "64", "--no-onnx"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summary(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    median = statistics.median(values)
    return f"p50 {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {values[-1] * 1000:.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    data = ensure_dataset(args.data)
    images = sorted(p for p in data.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})[
        : args.requests
    ]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        train(data, out)
        accepted, _ = gather_images(
            [(p.name, p) for p in images], Path(folder) / "scratch", Limits(max_images=10**6)
        )
        service = PredictService()
        try:
            started = time.perf_counter()
            service.predict(str(out), accepted[:1])
            first = time.perf_counter() - started
            warm = []
            for image in accepted[1:]:
                started = time.perf_counter()
                service.predict(str(out), [image])
                warm.append(time.perf_counter() - started)
        finally:
            service.close()
        bot_has_torch = "torch" in sys.modules
        from training.predict import Predictor

        predictor = Predictor(out)
        predictor.predict([images[0]])
        floor = []
        for path in images[1:]:
            started = time.perf_counter()
            predictor.predict([path])
            floor.append(time.perf_counter() - started)
    print(f"dataset: {data} ({len(images)} images), resnet18, 64 px, CPU")
    print(f"(a) bot, first image (worker start + model load): {first:.2f} s")
    print(f"(a) bot, each next image on the warm worker: {summary(warm)}")
    print(f"(b) trainer's Predictor in-process: {summary(floor)}")
    print(f"(a)/(b) median: {statistics.median(warm) / statistics.median(floor):.2f}")
    print(f"torch imported by the bot side before (b): {bot_has_torch}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
