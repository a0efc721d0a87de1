"""The dataset the benchmarks run on: the one asked for, ../shared's hymenoptera when present, or a
generated train/val set of 256 px JPEGs (a fresh clone has no ../shared)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASET = REPO.parent / "shared" / "datasets" / "hymenoptera"


def ensure_dataset(requested: Path | None) -> Path:
    if requested is not None:
        return requested.resolve()
    if SHARED_DATASET.is_dir():
        return SHARED_DATASET.resolve()
    target = Path(tempfile.gettempdir()) / "trainbot-bench-data"
    if not (target / "val").is_dir():
        sys.path.insert(0, str(REPO))
        from tests.imagegen import make_image_folder

        make_image_folder(target / "train", classes=("a", "b"), per_class=150, size=256, ext="jpg")
        make_image_folder(target / "val", classes=("a", "b"), per_class=40, size=256, seed=1, ext="jpg")
    return target


def generated_photos(count: int, width: int = 500, height: int = 375, classes: int = 5) -> Path:
    """`count` photo-sized JPEGs (noise under a coloured shape, so they decode like real photos do, not
    like flat colour) in `classes` class folders; written once to the temp folder and reused."""
    target = Path(tempfile.gettempdir()) / f"trainbot-bench-photos-{count}-{width}x{height}"
    marker = target / ".complete"
    if marker.exists():
        return target
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(0)
    canvas = Image.merge("RGB", [Image.effect_noise((2 * width, 2 * height), 40 + 10 * c) for c in range(3)])
    for index in range(count):
        label = index % classes
        folder = target / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        left, top = rng.randint(0, width), rng.randint(0, height)
        image = canvas.crop((left, top, left + width, top + height))
        draw = ImageDraw.Draw(image)
        x, y = rng.randint(0, width // 2), rng.randint(0, height // 2)
        colour = tuple((label * 50 + 40 * c) % 256 for c in range(3))
        draw.ellipse((x, y, x + width // 3, y + height // 3), fill=colour)
        image.save(folder / f"{index:05d}.jpg", quality=90)
    marker.touch()
    return target
