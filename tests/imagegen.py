"""Tiny generated ImageFolder datasets for tests: each class is a colour plus a shape, easy to learn."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

CLASS_STYLES = [
    ((220, 40, 40), "ellipse"),
    ((40, 200, 60), "rectangle"),
    ((40, 70, 220), "triangle"),
    ((230, 200, 40), "ellipse"),
    ((160, 50, 200), "rectangle"),
    ((40, 200, 200), "triangle"),
    ((240, 120, 30), "ellipse"),
    ((120, 120, 120), "rectangle"),
]


def draw_sample(class_index: int, size: int, rng: random.Random) -> Image.Image:
    colour, shape = CLASS_STYLES[class_index % len(CLASS_STYLES)]
    background = tuple(rng.randint(0, 60) for _ in range(3))
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    margin = rng.randint(2, max(3, size // 6))
    box = (margin, margin, size - rng.randint(2, max(3, size // 6)), size - margin)
    jitter = tuple(max(0, min(255, c + rng.randint(-25, 25))) for c in colour)
    if shape == "ellipse":
        draw.ellipse(box, fill=jitter)
    elif shape == "rectangle":
        draw.rectangle(box, fill=jitter)
    else:
        draw.polygon([(box[0], box[3]), ((box[0] + box[2]) // 2, box[1]), (box[2], box[3])], fill=jitter)
    return image


def make_image_folder(
    root: Path,
    classes: list[str] | tuple[str, ...] = ("circle", "square", "triangle"),
    per_class: int = 12,
    size: int = 32,
    seed: int = 0,
    ext: str = "png",
) -> Path:
    """Write root/<class>/<n>.<ext> images and return root."""
    rng = random.Random(seed)
    for index, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(per_class):
            draw_sample(index, size, rng).save(folder / f"{name}_{n:03d}.{ext}")
    return root


def make_split_folder(
    root: Path,
    classes: list[str] | tuple[str, ...] = ("circle", "square", "triangle"),
    train_per_class: int = 10,
    val_per_class: int = 4,
    size: int = 32,
    val_name: str = "val",
) -> Path:
    """Write root/train/<class>/... and root/<val_name>/<class>/... and return root."""
    make_image_folder(root / "train", classes, train_per_class, size, seed=1)
    make_image_folder(root / val_name, classes, val_per_class, size, seed=2)
    return root
