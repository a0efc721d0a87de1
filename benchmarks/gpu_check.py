"""The GPU figures in one go: for each model and size, the synthetic-tensor ceiling (a training step on
random tensors already on the device), this trainer on real JPEGs (`python -m training`, steady img/s
after the first epoch, decoded cache on), their ratio, and the precision and memory format used.

    python benchmarks/gpu_check.py [--device auto] [--data DIR] [--detection-data DIR] [--epochs 3]
        [--steps 30] [--jobs resnet50:224:128,resnet18:128:256,fasterrcnn_resnet50_fpn_v2:640:8]

On a CUDA host the default jobs are resnet50 at 224 px (batch 128), resnet18 at 128 px (batch 256) and the
default detector, fasterrcnn_resnet50_fpn_v2 at 640 px (batch 8), a few minutes in all. On a CPU the
defaults shrink (resnet18 at 64 px, batch 32) so the script stays runnable and tested. The JPEGs are
../shared's hymenoptera when present, else a generated set (--data overrides). A job whose model is a
detector (training.contract.DETECTION_MODELS) trains `--task detection`: its ceiling is the detector's
training step on random images with random boxes, and the trainer runs on --detection-data, else on
generated shapes with exact boxes (tests/detection_datasets.py) at the job's size.
Also printed: the device, torch, whether torch.compile was used (--compile is passed through), and the
GPU JPEG decoder's speed against PIL on the same files when torchvision can decode on the device.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from bench_data import REPO, ensure_dataset
from trainer_runs import run_trainer

from training.contract import DETECTION_MODELS
from training.cpus import host_plan
from training.data import load_train_image, train_cache_side
from training.device import Precision, choose_precision, configure_backend, resolve_device
from training.gpu_decode import device_decode_rate, pil_decode_rate
from training.model import build_model

GPU_JOBS = "resnet50:224:128,resnet18:128:256,fasterrcnn_resnet50_fpn_v2:640:8"
CPU_JOBS = "resnet18:64:32"
DETECTION_IMAGES = 160  # generated images for a detector's job: 120 train, 15 steps of 8 an epoch


@dataclass
class Job:
    model: str
    image_size: int
    batch_size: int

    @classmethod
    def parse(cls, text: str) -> Job:
        model, size, batch = text.split(":")
        return cls(model, int(size), int(batch))

    @property
    def detection(self) -> bool:
        return self.model in DETECTION_MODELS


def synthetic_ceiling(job: Job, device: torch.device, steps: int) -> tuple[float, str]:
    """Training img/s on random tensors already on the device, with the trainer's precision and layout."""
    precision = choose_precision(device, job.image_size)
    model = build_model(job.model, 10, pretrained=False, weights=None).model
    model = model.to(device, memory_format=torch.channels_last).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=device.type == "cuda")
    images = torch.randn(job.batch_size, 3, job.image_size, job.image_size, device=device)
    images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 10, (job.batch_size,), device=device)

    def loss() -> torch.Tensor:
        return F.cross_entropy(model(images), labels)

    return _timed_steps(job, device, steps, precision, optimizer, loss)


def synthetic_detector_ceiling(job: Job, device: torch.device, steps: int) -> tuple[float, str]:
    """A detector's training img/s on random images (the job's size) with three random boxes each, already
    on the device; placed and at the precision as the trainer does (training/detection/task.py)."""
    from training.detection.models import architecture
    from training.detection.task import placed, training_precision

    precision = training_precision(device, choose_precision(device, job.image_size))
    model = placed(architecture(job.model, 3, job.image_size), device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    side = job.image_size
    images = [torch.rand(3, side, side, device=device) for _ in range(job.batch_size)]
    corners = torch.rand(job.batch_size, 3, 2, device=device) * side / 2
    sizes = torch.rand(job.batch_size, 3, 2, device=device) * side / 4 + side / 8  # inside the image
    targets = [
        {"boxes": torch.cat([c, c + s], 1), "labels": torch.randint(1, 4, (3,), device=device)}
        for c, s in zip(corners, sizes, strict=True)
    ]

    def loss() -> torch.Tensor:
        return sum(model(images, targets).values())

    return _timed_steps(job, device, steps, precision, optimizer, loss)


def _timed_steps(
    job: Job, device: torch.device, steps: int, precision: Precision, optimizer: torch.optim.Optimizer,
    loss_of: Callable[[], torch.Tensor],
) -> tuple[float, str]:  # fmt: skip
    """Img/s over `steps` timed training steps of `loss_of` (after a warm-up), and the precision used."""
    scaler = torch.amp.GradScaler(device.type, enabled=precision.use_scaler)

    def step() -> None:
        with precision.autocast(device):
            loss = loss_of()
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


def layout_name(job: Job, device: torch.device) -> str:
    """The memory format the job trains in: a classifier's is channels_last, a detector's the trainer's."""
    if not job.detection:
        return "channels_last"
    from training.detection.task import memory_format

    return "channels_last" if memory_format(device) == torch.channels_last else "contiguous"


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def trainer_on_jpegs(job: Job, args: argparse.Namespace, tmp: Path) -> tuple[float, str]:
    """The trainer's steady img/s on the job, and where its images came from (a detector's `start` does
    not say: they are decoded into memory when they fit, else at each use)."""
    flags = ["--out", str(tmp / f"{job.model}-{job.image_size}")]
    flags += f"--no-pretrained --model {job.model} --image-size {job.image_size}".split()
    flags += f"--batch-size {job.batch_size} --epochs {args.epochs} --device {args.device}".split()
    if job.detection:
        flags += ["--task", "detection", "--no-onnx", "--data", str(detection_data(job, args, tmp))]
    else:
        flags += ["--data", str(args.data), "--compile", args.compile, "--cache-dir", str(tmp / "cache")]
    run = run_trainer(flags)
    if run.code != 0:
        raise SystemExit(f"the trainer failed on {job.model} ({run.code}):\n{run.stderr[-3000:]}")
    start = run.first("start")[0]
    return run.steady_images_per_sec(), start["data"]["images_from"] if not job.detection else "not reported"


def detection_data(job: Job, args: argparse.Namespace, tmp: Path) -> Path:
    """--detection-data, else DETECTION_IMAGES generated shapes with exact boxes at the job's size."""
    if args.detection_data is not None:
        return Path(args.detection_data).resolve()
    root = tmp / f"shapes-{job.image_size}"
    if not root.is_dir():
        sys.path.insert(0, str(REPO))
        from tests.detection_datasets import write_yolo

        write_yolo(root, n_images=DETECTION_IMAGES, size=job.image_size, seed=0, negatives=0, split=True)
    return root


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
    parser.add_argument("--detection-data", type=Path, help="a YOLO, COCO or VOC dataset for detector jobs")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30, help="timed synthetic steps per job")
    parser.add_argument("--jobs", help=f"model:size:batch,... (default {GPU_JOBS}; on a CPU {CPU_JOBS})")
    parser.add_argument("--compile", choices=("auto", "on", "off"), default="auto")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    configure_backend(device, host_plan(None, None))
    args.device = str(device)
    on_gpu = device.type == "cuda"
    jobs = [Job.parse(text) for text in (args.jobs or (GPU_JOBS if on_gpu else CPU_JOBS)).split(",")]
    if not all(job.detection for job in jobs):  # detector jobs alone need no classification JPEGs
        args.data = ensure_dataset(args.data)
    name = torch.cuda.get_device_name(device) if on_gpu else f"cpu ({len(os.sched_getaffinity(0))} cores)"
    print(f"device {name}, torch {torch.__version__}, data {args.data}, compile {args.compile}")
    if args.data is not None and (rates := jpeg_decode_rates(args.data, device)) is not None:
        print(f"JPEG decode: PIL {rates[0]:.0f} img/s, decode_jpeg on {device} {rates[1]:.0f} img/s")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for job in jobs:
            ceiling_of = synthetic_detector_ceiling if job.detection else synthetic_ceiling
            ceiling, precision = ceiling_of(job, device, args.steps)
            trainer, images_from = trainer_on_jpegs(job, args, Path(tmp))
            result = {
                "model": job.model,
                "image_size": job.image_size,
                "batch_size": job.batch_size,
                "synthetic": ceiling,
                "trainer": trainer,
                "ratio": trainer / ceiling,
                "precision": precision,
                "memory_format": layout_name(job, device),
                "images_from": images_from,
            }
            results.append(result)
            print(
                f"{job.model} @ {job.image_size} px, batch {job.batch_size}: synthetic {ceiling:.1f} img/s, "
                f"trainer on JPEGs {trainer:.1f} img/s, ratio {trainer / ceiling:.2f}, "
                f"precision {precision}, {result['memory_format']}, images from {images_from}"
            )
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
