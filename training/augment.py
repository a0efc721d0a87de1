"""Batched augmentation on uint8 image tensors, on whichever device the batch lives on.

Crop boxes and flips are drawn on the CPU from a seeded generator (same choices on every device),
then one affine_grid + grid_sample does random-resized-crop, flip and resize for the whole batch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

CROP_SCALE = (0.35, 1.0)  # timm's 0.08 is for ImageNet; small datasets keep more of each image
CROP_RATIO = (3 / 4, 4 / 3)


class Normalizer:
    """uint8 NCHW -> float NCHW normalised with the model's mean/std (given as 0..1 fractions)."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...], device: torch.device) -> None:
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1) * 255

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float() - self.mean) / self.std


def crop_and_flip_thetas(count: int, generator: torch.Generator) -> torch.Tensor:
    """Per-sample 2x3 affine matrices in affine_grid's normalised coordinates."""
    uniform = lambda: torch.rand(count, generator=generator)  # noqa: E731
    area = CROP_SCALE[0] + (CROP_SCALE[1] - CROP_SCALE[0]) * uniform()
    log_ratio = math.log(CROP_RATIO[0]) + (math.log(CROP_RATIO[1]) - math.log(CROP_RATIO[0])) * uniform()
    ratio = torch.exp(log_ratio)
    width = torch.sqrt(area * ratio).clamp(max=1.0)
    height = torch.sqrt(area / ratio).clamp(max=1.0)
    centre_x = (1 - width) * (2 * uniform() - 1)  # box stays inside the image
    centre_y = (1 - height) * (2 * uniform() - 1)
    flip = torch.where(uniform() < 0.5, -1.0, 1.0)
    zeros = torch.zeros(count)
    return torch.stack(
        [torch.stack([width * flip, zeros, centre_x], 1), torch.stack([zeros, height, centre_y], 1)], 1
    )


def augment_batch(
    images: torch.Tensor, size: int, normalize: Normalizer, generator: torch.Generator
) -> torch.Tensor:
    """Random-resized-crop + horizontal flip to size x size, normalised; uint8 NCHW in, float NCHW out."""
    thetas = crop_and_flip_thetas(images.shape[0], generator).to(images.device)
    grid = F.affine_grid(thetas, [images.shape[0], 3, size, size], align_corners=False)
    resized = F.grid_sample(images.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
    return (resized - normalize.mean) / normalize.std
