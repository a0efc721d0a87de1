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
