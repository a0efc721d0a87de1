"""What the detection dataset readers (yolo.py, coco.py, voc.py) share: the images they read with their
boxes, the problems they gather, and the folder rules of the layouts. No torch, no image reads."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from training.contract import (
    TEST_SPLIT,
    TRAIN_SPLIT,
    VAL_SPLITS,
    class_folders,
    is_image_name,
    is_visible,
    split_layout,
)
from training.errors import DatasetError

Box = tuple[float, float, float, float]  # x1, y1, x2, y2
EXAMPLES_SHOWN = 3  # problems of one kind named in a message; the rest are counted


class Problems:
    """Problems gathered over the whole dataset, by kind; `raise_any` refuses the dataset with the first
    kind's message, "kind: place; place; place and 9 more" (its first EXAMPLES_SHOWN places named)."""

    def __init__(self) -> None:
        self._found: dict[str, list[str]] = {}

    def add(self, kind: str, example: str) -> None:
        self._found.setdefault(kind, []).append(example)

    def raise_any(self) -> None:
        for kind, examples in self._found.items():
            raise DatasetError(f"{kind}: {named(examples)}")


def named(examples: list[str]) -> str:
    """'a; b; c and 4 more' (all of them when few)."""
    shown = "; ".join(examples[:EXAMPLES_SHOWN])
    more = len(examples) - EXAMPLES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def relative(path: Path, root: Path) -> str:
    """`path` as a message names it: relative to the dataset folder (string work: Path.relative_to
    costs more than reading a label file)."""
    text, prefix = str(path), os.path.join(str(root), "")
    return text[len(prefix) :].replace(os.sep, "/") if text.startswith(prefix) else text


@dataclass
class Entry:
    """One image as its annotation describes it, before its file is looked at."""

    path: Path
    split: str | None  # train, val, test; None when the dataset has no split
    boxes: list[Box] = field(default_factory=list)  # pixels, or 0-1 of the image's size when normalised
    labels: list[int] = field(default_factory=list)  # indices into Read.classes
    places: list[str] = field(default_factory=list)  # where each box is written, for messages
    stated_size: tuple[int, int] | None = None  # the width and height the annotation states (COCO, VOC)
    normalised: bool = False  # YOLO's boxes are fractions of the image's size

    def add(self, box: Box, label: int, place: str) -> None:
        self.boxes.append(box)
        self.labels.append(label)
        self.places.append(place)


@dataclass
class Read:
    """A reader's result: the images with their boxes, the class names, and what it counted. The lists
    of missing files name them (relative to the dataset folder) for the warnings."""

    classes: list[str]
    entries: list[Entry]
    labels_without_images: list[str] = field(default_factory=list)
    images_without_labels: list[str] = field(default_factory=list)
    crowd_boxes: int = 0
    notes: list[tuple[str, str]] = field(default_factory=list)  # reader-specific warnings (code, message)


# --- folders ------------------------------------------------------------------------------------------


def child(folder: Path, name: str) -> Path | None:
    """The visible sub-folder of `folder` called `name` in any letter case."""
    return next((sub for sub in class_folders(folder) if sub.name.lower() == name.lower()), None)


def split_of(name: str) -> str | None:
    """The split a folder or file name stands for (train, val, test), from contract's split names
    (`instances_train2017` → train, `valid` → val); None when it names none."""
    for word in re.findall(r"[a-z]+", name.lower()):
        if word == TRAIN_SPLIT:
            return TRAIN_SPLIT
        if word in VAL_SPLITS:
            return "val"
        if word == TEST_SPLIT:
            return TEST_SPLIT
    return None


def split_folders(root: Path) -> list[tuple[str, Path]]:
    """(split, folder) for the train/val/test folders of `root`; empty without a train folder."""
    return list(split_layout(root).splits().items())


def files(folder: Path, suffix: str) -> list[Path]:
    """Visible files directly in `folder` whose name ends in `suffix` (any letter case), sorted."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(
        Path(e.path)
        for e in entries
        if is_visible(e.name) and e.name.lower().endswith(suffix) and e.is_file()
    )


def files_below(folder: Path, suffix: str) -> list[Path]:
    """Every visible file below `folder` (any depth) whose name ends in `suffix`, sorted."""
    found: list[Path] = []
    for current, dirs, names in os.walk(folder):
        dirs[:] = [name for name in dirs if is_visible(name)]
        found += [Path(current, name) for name in names if is_visible(name) and name.lower().endswith(suffix)]
    return sorted(found)


def direct_images(folder: Path) -> list[Path]:
    """The images directly in `folder` (not below it), sorted."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(Path(e.path) for e in entries if is_image_name(e.name) and e.is_file())


def annotated_beside_images(folder: Path, suffix: str) -> bool:
    """`folder` holds images and an annotation file (`suffix`) named like one of them."""
    stems = {path.stem for path in direct_images(folder)}
    return any(path.stem in stems for path in files(folder, suffix))
