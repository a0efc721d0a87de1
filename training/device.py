"""Device choice, CPU threads, and precision (autocast dtype, grad scaler) for that device."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import cache

import torch

from training.cpus import ThreadPlan
from training.errors import ConfigError

log = logging.getLogger(__name__)

CPU_BF16_MIN_IMAGE_SIZE = 64  # measured on an AMX CPU: below this, fp32 channels_last is as fast
# torch.compile costs 30-60 s up front on a GPU for ~1.2-1.4x per step: it pays past ~0.5 M training images
# (shared/notes/performance.md §7); on the CPU it measured no faster here, so "auto" never compiles there
COMPILE_MIN_IMAGES = 500_000


@dataclass(frozen=True)
class Precision:
    autocast_dtype: torch.dtype | None  # None: full fp32
    use_scaler: bool  # fp16 needs a GradScaler, bf16 does not

    def autocast(self, device: torch.device) -> AbstractContextManager[object]:
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device.type, dtype=self.autocast_dtype)


def resolve_device(name: str) -> torch.device:
    """The device to train on, CUDA always with an index: torch.cuda.set_device refuses a bare "cuda"."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"unknown device '{name}'; use auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name} requested but no CUDA GPU is available; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device {name} does not exist; this machine has {torch.cuda.device_count()} GPU(s)"
            )
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
    elif device.type != "cpu":
        raise ConfigError(f"unsupported device '{name}'; use auto, cpu, cuda or cuda:N")
    return device


@cache
def cpu_has_fast_bf16() -> bool:
    """AMX or AVX512-BF16: bf16 autocast is then 2-3x faster than fp32 for convolutions."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "")
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def choose_precision(device: torch.device, image_size: int) -> Precision:
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return Precision(torch.bfloat16, use_scaler=False)
        return Precision(torch.float16, use_scaler=True)
    if cpu_has_fast_bf16() and image_size >= CPU_BF16_MIN_IMAGE_SIZE:
        return Precision(torch.bfloat16, use_scaler=False)
    return Precision(None, use_scaler=False)


def configure_backend(device: torch.device, threads: ThreadPlan) -> None:
    """The device's backend flags and torch's CPU threads (`threads`: on a GPU they run the CPU-side
    work, so they are sized from the CPUs too)."""
    torch.set_num_threads(threads.compute)
    try:
        torch.set_num_interop_threads(threads.interop)
    except RuntimeError:  # the pool exists already (an earlier run in this process): it keeps its size
        log.debug("inter-op threads already started; keeping %d", torch.get_num_interop_threads())
    log.info(
        "CPU threads: %d compute, %d inter-op, %d decode (%s)",
        threads.compute, threads.interop, threads.decode, threads.detail,
    )  # fmt: skip
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        # torch.use_deterministic_algorithms also sets the compiler's flag, and importing the compiler for
        # it costs 2 s of a CPU run's start; only a compiled run needs that flag (set in `compiled`)
        torch._C._set_deterministic_algorithms(True, warn_only=True)


def describe(device: torch.device) -> tuple[str, str | None]:
    if device.type == "cuda":
        return str(device), torch.cuda.get_device_name(device)
    return "cpu", None


def compiled(model: torch.nn.Module, mode: str, device: torch.device, images: int) -> torch.nn.Module:
    """`model` under torch.compile when asked ("on"), or with "auto" on a GPU for a run that trains on at
    least COMPILE_MIN_IMAGES images; else `model` itself. The checkpoints keep saving `model`."""
    if mode == "on" or (mode == "auto" and device.type == "cuda" and images >= COMPILE_MIN_IMAGES):
        log.info("compiling the model with torch.compile (the first steps wait for it)")
        if device.type == "cpu":
            torch.use_deterministic_algorithms(True, warn_only=True)  # the compiler's flag too
        return torch.compile(model, dynamic=False)  # type: ignore[return-value]
    return model
