"""JPEG decoding on the training device for the first pass over a dataset: torchvision.io.decode_jpeg on a
CUDA device (nvJPEG, the hardware decoder on A100/H100) in batches, then the same resize and centre crop as
training/data.py on the device. Used only where it measures faster than PIL on a sample of the files;
any file it cannot decode (not a JPEG, CMYK, corrupt) goes through PIL as before.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)

BATCH = 64
SAMPLE = 48  # files timed with each decoder before choosing
JPEG_SUFFIXES = frozenset({".jpg", ".jpeg"})


def resize_and_crop(image: torch.Tensor, short_side: int, side: int) -> torch.Tensor:
    """uint8 CHW -> uint8 3 x side x side: the short side resized to `short_side` (bicubic, antialiased,
    as PIL does), then a centre crop, as data.load_train_image / load_eval_image do with PIL."""
    height, width = image.shape[-2:]
    scale = short_side / min(height, width)
    size = (max(short_side, round(height * scale)), max(short_side, round(width * scale)))
    resized = F.interpolate(
        image[None].float(), size=size, mode="bicubic", antialias=True, align_corners=False
    )
    top, left = (size[0] - side) // 2, (size[1] - side) // 2
    return resized[0, :, top : top + side, left : left + side].round().clamp(0, 255).to(torch.uint8)


def decode_on_device(
    paths: Sequence[Path], device: torch.device, short_side: int, side: int, threads: int
) -> list[torch.Tensor | None]:
    """CPU uint8 CHW images for `paths`, decoded and resized on `device`; None where decoding failed."""
    from torchvision.io import ImageReadMode, decode_jpeg

    def read(path: Path) -> torch.Tensor | None:
        try:
            return torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8)
        except OSError:
            return None

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        data = list(pool.map(read, paths))
    readable = [index for index, encoded in enumerate(data) if encoded is not None]
    decoded: list[torch.Tensor | None] = [None] * len(paths)

    def one(encoded: torch.Tensor) -> torch.Tensor:
        return decode_jpeg(encoded, mode=ImageReadMode.RGB, device=device, apply_exif_orientation=True)

    try:  # one batched call is what makes nvJPEG fast
        images = decode_jpeg(
            [data[i] for i in readable], mode=ImageReadMode.RGB, device=device, apply_exif_orientation=True
        )
        for index, image in zip(readable, images, strict=True):
            decoded[index] = image
    except RuntimeError:  # some file in the batch it cannot take (CMYK, corrupt, ...): one by one
        for index in readable:
            with contextlib.suppress(RuntimeError):  # else PIL decides about this one
                decoded[index] = one(data[index])  # type: ignore[arg-type]
    return [None if image is None else resize_and_crop(image, short_side, side).cpu() for image in decoded]


def decode_into_on_device(
    samples: Sequence[tuple[Path, int]],
    fallback: Callable[[Path], torch.Tensor],
    out: torch.Tensor,
    device: torch.device,
    short_side: int,
    threads: int,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[int], list[Path]]:
    """data.decode_into's contract with the device decoder: rows of `out` hold the readable images in
    order; PIL (`fallback`) decodes what the device could not, and what neither can is skipped."""
    side = out.shape[-1]
    labels: list[int] = []
    skipped: list[Path] = []
    if progress is not None:
        progress(0)
    for start in range(0, len(samples), BATCH):
        chunk = samples[start : start + BATCH]
        jpegs = [path.suffix.lower() in JPEG_SUFFIXES for path, _ in chunk]
        decoded = iter(
            decode_on_device(
                [p for (p, _), j in zip(chunk, jpegs, strict=True) if j], device, short_side, side, threads
            )
        )
        for (path, label), is_jpeg in zip(chunk, jpegs, strict=True):
            image = next(decoded) if is_jpeg else None
            if image is None:
                try:
                    image = fallback(path)
                except Exception as exc:
                    log.warning("skipping unreadable image %s: %s", path, exc)
                    skipped.append(path)
                    continue
            out[len(labels)] = image
            labels.append(label)
        if progress is not None:
            progress(len(chunk))
    return labels, skipped


def pil_decode_rate(paths: Sequence[Path], decode: Callable[[Path], torch.Tensor], threads: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(decode, paths))
    return len(paths) / max(time.perf_counter() - started, 1e-9)


def device_decode_rate(
    paths: Sequence[Path], device: torch.device, short_side: int, side: int, threads: int
) -> float:
    decode_on_device(paths[:2], device, short_side, side, threads)  # the decoder's own start-up is not timed
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    decode_on_device(paths, device, short_side, side, threads)
    return len(paths) / max(time.perf_counter() - started, 1e-9)


def device_decoding_pays(
    samples: Sequence[tuple[Path, int]],
    decode: Callable[[Path], torch.Tensor],
    device: torch.device,
    short_side: int,
    side: int,
    threads: int,
) -> bool:
    """Whether decode_jpeg on `device` beats PIL on a sample of the JPEGs (CUDA only)."""
    if device.type != "cuda":
        return False
    try:
        import torchvision.io  # noqa: F401
    except Exception as exc:  # a torchvision without image support
        log.info("no device JPEG decoding: %s", exc)
        return False
    paths = [path for path, _ in samples if path.suffix.lower() in JPEG_SUFFIXES][:SAMPLE]
    if len(paths) < SAMPLE // 2:
        return False
    pil = pil_decode_rate(paths, decode, threads)
    on_device = device_decode_rate(paths, device, short_side, side, threads)
    log.info("JPEG decoding: PIL %.0f img/s, decode_jpeg on %s %.0f img/s", pil, device, on_device)
    return on_device > pil
