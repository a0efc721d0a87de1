"""A detection split's images and boxes for the steps: decoded once into memory when they fit (longer side
at the input side, uint8), else decoded at each use; batches are lists (images of different sizes), with
box-aware augmentation for training (torchvision.transforms.v2 moves the boxes with the pixels)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

from training.data import open_rgb
from training.detection.data import BoxedImage

log = logging.getLogger(__name__)

Target = dict[str, torch.Tensor]  # torchvision's detection target: boxes (N, 4) float, labels (N,) int64
ZOOM_OUT_CHANCE = 0.25  # of an image drawn smaller on a wider canvas (scale jitter, objects smaller)
ZOOM_OUT_SIDES = (1.0, 1.5)


def load_scaled(item: BoxedImage, side: int) -> tuple[torch.Tensor, float]:
    """The image as uint8 CHW with its longer side at `side` (never enlarged), and its scale from the
    original (the size the boxes are in)."""
    image = open_rgb(item.path, side)  # JPEG draft decoding may already shrink it
    scale = min(1.0, side / max(image.size))
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()
    return pixels, max(image.size) / max(item.width, item.height)


def target_of(item: BoxedImage, scale: float) -> Target:
    """The item's boxes scaled like its image, labels shifted past the background (label 0)."""
    boxes = torch.tensor(item.boxes, dtype=torch.float32).reshape(-1, 4) * scale
    return {"boxes": boxes, "labels": torch.tensor(item.labels, dtype=torch.int64) + 1}


class DetectionImages:
    """A split: its items, and their decoded images when they are kept in memory."""

    def __init__(self, items: Sequence[BoxedImage], side: int, keep: bool, threads: int) -> None:
        self.items = list(items)
        self.side = side
        self.decoded: list[tuple[torch.Tensor, float]] | None = None
        if keep:
            with ThreadPoolExecutor(max(1, threads)) as pool:
                self.decoded = list(pool.map(lambda item: load_scaled(item, side), self.items))

    def __len__(self) -> int:
        return len(self.items)

    def image(self, index: int) -> tuple[torch.Tensor, float]:
        """uint8 CHW with the longer side at most `side`, and its scale from the original."""
        if self.decoded is not None:
            return self.decoded[index]
        return load_scaled(self.items[index], self.side)

    def batches(
        self, batch_size: int, order: Sequence[int] | torch.Tensor | None = None
    ) -> Iterator[tuple[list[int], list[torch.Tensor], list[float]]]:
        """(indices, uint8 images, scales) per batch, in `order` (default: all in order)."""
        indices = [int(i) for i in (range(len(self)) if order is None else order)]
        for start in range(0, len(indices), batch_size):
            chunk = indices[start : start + batch_size]
            loaded = [self.image(i) for i in chunk]
            yield chunk, [image for image, _ in loaded], [scale for _, scale in loaded]


def augmentation() -> v2.Transform:
    """Horizontal flip and, sometimes, a zoom-out (the image smaller on a wider canvas); the boxes follow.
    The detectors' own scale jitter (a random input side per step) does the rest."""
    return v2.Compose(
        [
            v2.RandomHorizontalFlip(0.5),
            v2.RandomApply([v2.RandomZoomOut(fill=114, side_range=ZOOM_OUT_SIDES)], p=ZOOM_OUT_CHANCE),
        ]
    )


def augmented(transform: v2.Transform, image: torch.Tensor, target: Target) -> tuple[torch.Tensor, Target]:
    """One training image and its target through `transform`, boxes as tv_tensors so they move along."""
    boxes = tv_tensors.BoundingBoxes(
        target["boxes"], format="XYXY", canvas_size=(image.shape[1], image.shape[2])
    )
    image, boxes = transform(tv_tensors.Image(image), boxes)
    return image.as_subclass(torch.Tensor), {
        "boxes": boxes.as_subclass(torch.Tensor),
        "labels": target["labels"],
    }
