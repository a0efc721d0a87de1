"""Training throughput: (a) this trainer vs (b) the textbook torchvision recipe vs (c) in-memory synthetic
tensors (the model's compute ceiling), on the same data, model, batch size and image size.

    python benchmarks/train_throughput.py [--data DIR] [--model resnet18] [--batch-size 32]
        [--image-size 112] [--epochs 3] [--device auto] [--workers N]

Each variant runs in its own subprocess so its peak RSS is its own. Images/s is training images per
second of training time (no validation), averaged over epochs after the first (the first includes
warm-up and, for (a), nothing else: decoding happens before epoch 1 and is reported separately).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_data import REPO, ensure_dataset


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # DataLoader workers
    return (own + children) / 1024


def steady(rates: list[float]) -> float:
    return sum(rates[1:]) / len(rates[1:]) if len(rates) > 1 else rates[0]


def train_folder(data: Path) -> Path:
    return data / "train" if (data / "train").is_dir() else data


def run_trainer(args: argparse.Namespace) -> dict:
    """(a): `python -m training` in-process; images/s from its epoch events."""
    from training.cli import main
    from training.events import parse_event

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        flags = ["--data", str(args.data), "--out", out, "--model", args.model, "--no-pretrained",
                 "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
                 "--image-size", str(args.image_size), "--device", args.device]  # fmt: skip
        if args.workers is not None:
            flags += ["--workers", str(args.workers)]
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(flags)
        wall = time.perf_counter() - started
        events = [parse_event(line) for line in (Path(out) / "events.jsonl").read_text().splitlines()]
    if code != 0:
        raise SystemExit(f"trainer failed: {events[-1]}")
    epochs = [e for e in events if e.type == "epoch"]
    start = next(e for e in events if e.type == "start")  # `preparing` events come first
    return {
        "images_per_sec": steady([e.images_per_sec for e in epochs]),
        "wall_seconds": wall,
        "precision": start.config["precision"],
    }


def run_textbook(args: argparse.Namespace) -> dict:
    """(b): torchvision ImageFolder + transforms + DataLoader + a plain fp32 loop."""
    import timm
    import torch
    from torchvision import datasets, transforms

    device = torch.device(
        "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device.replace("auto", "cpu")
    )
    transform = transforms.Compose(
        [
            transforms.RandomResizedCrop(args.image_size),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ]
    )
    dataset = datasets.ImageFolder(str(train_folder(args.data)), transform)
    workers = args.workers if args.workers is not None else min(4, os.cpu_count() or 1)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=args.batch_size,
        shuffle=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        drop_last=True,
        persistent_workers=workers > 0,
    )
    model = timm.create_model(args.model, num_classes=len(dataset.classes)).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    rates, started = [], time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        epoch_start, seen = time.perf_counter(), 0
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            loss = torch.nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(labels)
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(seen / (time.perf_counter() - epoch_start))
    return {
        "images_per_sec": steady(rates),
        "wall_seconds": time.perf_counter() - started,
        "precision": "fp32",
    }


def run_synthetic(args: argparse.Namespace) -> dict:
    """(c): random tensors already on the device, with the trainer's own precision and memory format."""
    import timm
    import torch

    from training.cpus import host_plan
    from training.device import choose_precision, configure_backend, resolve_device

    device = resolve_device(args.device)
    configure_backend(device, host_plan(None, None))
    precision = choose_precision(device, args.image_size)
    n_images = sum(1 for p in train_folder(args.data).rglob("*") if p.is_file())
    steps = max(1, n_images // args.batch_size)
    model = timm.create_model(args.model, num_classes=2).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=device.type == "cuda")
    images = torch.randn(args.batch_size, 3, args.image_size, args.image_size, device=device)
    images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 2, (args.batch_size,), device=device)
    dtype = precision.autocast_dtype
    rates, started = [], time.perf_counter()
    for _ in range(args.epochs):
        epoch_start = time.perf_counter()
        for _ in range(steps):
            with precision.autocast(device):
                loss = torch.nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(steps * args.batch_size / (time.perf_counter() - epoch_start))
    return {"images_per_sec": steady(rates), "wall_seconds": time.perf_counter() - started,
            "precision": str(dtype or "fp32")}  # fmt: skip


VARIANTS = {"trainer": run_trainer, "textbook": run_textbook, "synthetic": run_synthetic}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, help="ImageFolder dataset (default ../shared/datasets/hymenoptera)"
    )
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, help="DataLoader workers for (b), decode threads for (a)")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)  # one child run
    args = parser.parse_args()
    args.data = ensure_dataset(args.data)
    if args.variant:
        result = VARIANTS[args.variant](args) | {"peak_rss_mb": peak_rss_mb()}
        print(json.dumps(result))
        return
    print(f"data={args.data} model={args.model} batch={args.batch_size} size={args.image_size} "
          f"epochs={args.epochs} device={args.device}")  # fmt: skip
    results = {}
    for variant in VARIANTS:
        child = [sys.executable, __file__, "--variant", variant, *sys.argv[1:]]
        output = subprocess.run(child, cwd=REPO, capture_output=True, text=True, check=False)
        if output.returncode != 0:
            raise SystemExit(f"{variant} failed:\n{output.stderr[-3000:]}")
        results[variant] = json.loads(output.stdout.strip().splitlines()[-1])
        r = results[variant]
        label = "abc"[len(results) - 1]
        print(
            f"  ({label}) {variant:<9} {r['images_per_sec']:8.1f} img/s  precision={r['precision']:<14} "
            f"wall={r['wall_seconds']:6.1f}s  peak RSS={r['peak_rss_mb']:7.0f} MB"
        )
    a, b, c = (results[v]["images_per_sec"] for v in VARIANTS)
    print(f"(a)/(b) = {a / b:.2f}   (a)/(c) = {a / c:.2f}")


if __name__ == "__main__":
    main()
