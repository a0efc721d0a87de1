"""The GPU figures in one go: for each model and size, the synthetic-tensor ceiling (a training step on
random tensors already on the device), this trainer on real JPEGs (`python -m training`, steady img/s
after the first epoch, decoded cache on), their ratio, and the precision and memory format used.

    python benchmarks/gpu_check.py [--device auto] [--data DIR] [--epochs 3] [--steps 30]
        [--jobs resnet50:224:128,resnet18:128:256]

On a CUDA host the default jobs are resnet50 at 224 px (batch 128) and resnet18 at 128 px (batch 256), a few
minutes in all. On a CPU the defaults shrink (resnet18 at 64 px, batch 32) so the script stays runnable
and tested. The JPEGs are ../shared's hymenoptera when present, else a generated set (--data overrides).
Also printed: the device, torch, whether torch.compile was used (--compile is passed through), and the
GPU JPEG decoder's speed against PIL on the same files when torchvision can decode on the device.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from bench_data import ensure_dataset
from trainer_runs import run_trainer

from training.cpus import host_plan
from training.data import load_train_image, train_cache_side
from training.device import choose_precision, configure_backend, resolve_device
from training.gpu_decode import device_decode_rate, pil_decode_rate
from training.model import build_model

GPU_JOBS = "resnet50:224:128,resnet18:128:256"
CPU_JOBS = "resnet18:64:32"


@dataclass
class Job:
    model: str
    image_size: int
    batch_size: int

    @classmethod
    def parse(cls, text: str) -> Job:
        model, size, batch = text.split(":")
        return cls(model, int(size), int(batch))


def synthetic_ceiling(job: Job, device: torch.device, steps: int) -> tuple[float, str]:
    """Training img/s on random tensors already on the device, with the trainer's precision and layout."""
    precision = choose_precision(device, job.image_size)
    model = build_model(job.model, 10, pretrained=False, weights=None).model
    model = model.to(device, memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=device.type == "cuda")
    images = torch.randn(job.batch_size, 3, job.image_size, job.image_size, device=device)
    images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 10, (job.batch_size,), device=device)
    scaler = torch.amp.GradScaler(device.type, enabled=precision.use_scaler)

    def step() -> None:
        with precision.autocast(device):
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    for _ in range(max(2, steps // 5)):  # warm-up: cudnn.benchmark picks its kernels
        step()
    synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return steps * job.batch_size / (time.perf_counter() - started), str(precision.autocast_dtype or "fp32")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def trainer_on_jpegs(job: Job, args: argparse.Namespace, tmp: Path) -> tuple[float, str]:
    flags = ["--data", str(args.data), "--out", str(tmp / f"{job.model}-{job.image_size}")]
    flags += f"--no-pretrained --model {job.model} --image-size {job.image_size}".split()
    flags += f"--batch-size {job.batch_size} --epochs {args.epochs} --device {args.device}".split()
    flags += ["--compile", args.compile, "--cache-dir", str(tmp / "cache")]
    run = run_trainer(flags)
    return run.steady_images_per_sec(), run.first("start")[0]["data"]["images_from"]


def jpeg_decode_rates(data: Path, device: torch.device, count: int = 64) -> tuple[float, float] | None:
    """(PIL img/s, decode_jpeg on the device img/s) on up to `count` of the dataset's JPEGs, both resizing
    to the 224 px training cache; None on a CPU (the trainer then always decodes with PIL)."""
    if device.type != "cuda":
        return None
    files = sorted(p for p in data.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))[:count]
    if not files:
        return None
    threads, side = len(os.sched_getaffinity(0)), train_cache_side(224)
    pil = pil_decode_rate(files, partial(load_train_image, image_size=224), threads)
    return pil, device_decode_rate(files, device, side, side, threads)


def main(argv: list[str] | None = None) -> list[dict]:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", type=Path)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30, help="timed synthetic steps per job")
    parser.add_argument("--jobs", help=f"model:size:batch,... (default {GPU_JOBS}; on a CPU {CPU_JOBS})")
    parser.add_argument("--compile", choices=("auto", "on", "off"), default="auto")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    configure_backend(device, host_plan(None, None))
    args.device = str(device)
    args.data = ensure_dataset(args.data)
    on_gpu = device.type == "cuda"
    jobs = [Job.parse(text) for text in (args.jobs or (GPU_JOBS if on_gpu else CPU_JOBS)).split(",")]
    name = torch.cuda.get_device_name(device) if on_gpu else f"cpu ({len(os.sched_getaffinity(0))} cores)"
    print(f"device {name}, torch {torch.__version__}, data {args.data}, compile {args.compile}")
    if (rates := jpeg_decode_rates(args.data, device)) is not None:
        print(f"JPEG decode: PIL {rates[0]:.0f} img/s, decode_jpeg on {device} {rates[1]:.0f} img/s")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for job in jobs:
            ceiling, precision = synthetic_ceiling(job, device, args.steps)
            trainer, images_from = trainer_on_jpegs(job, args, Path(tmp))
            result = {
                "model": job.model,
                "image_size": job.image_size,
                "batch_size": job.batch_size,
                "synthetic": ceiling,
                "trainer": trainer,
                "ratio": trainer / ceiling,
                "precision": precision,
                "memory_format": "channels_last",
                "images_from": images_from,
            }
            results.append(result)
            print(
                f"{job.model} @ {job.image_size} px, batch {job.batch_size}: synthetic {ceiling:.1f} img/s, "
                f"trainer on JPEGs {trainer:.1f} img/s, ratio {trainer / ceiling:.2f}, "
                f"precision {precision}, channels_last, images from {images_from}"
            )
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
