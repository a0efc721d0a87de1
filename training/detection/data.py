"""Object-detection datasets: YOLO, COCO and Pascal VOC, recognised by their layout, read, checked, split
and reported. No torch here: the bot imports this module to recognise and describe detection datasets.

The layouts and how each is read: yolo.py (`images/` + `labels/`, data.yaml or classes.txt), coco.py (an
instances JSON per split or one in all), voc.py (`Annotations/` + `JPEGImages/`, ImageSets), tried in that
order; split folder names as training.contract declares them, in any letter case.

Boxes are (x1, y1, x2, y2) in pixels of the image as decoded with its EXIF orientation applied
(training.data.open_rgb). Without a val split the dataset is split by itself (contract.split_groups,
grouping images by their rarest class, images without boxes a group of their own).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import pydantic
from PIL import Image

from training.contract import TEST_SPLIT, TRAIN_SPLIT, split_groups
from training.detection import coco, voc, yolo
from training.detection.annotations import Box, Entry, Problems, Read, named, relative
from training.errors import DatasetError

DetectionFormat = Literal["yolo", "coco", "voc"]

CLIP_TOLERANCE_PX = 1.0  # a box out of its image by up to this is clipped without being counted (rounding)
MIN_INSIDE_SHARE = 0.5  # a box with less than this share of its area inside its image is refused
TINY_BOX_SHARE = 0.01  # a box whose side sqrt(w*h) is under this share of its image's longer side is tiny
HEADER_THREADS = 8  # image headers read at once (file opening, mostly waiting on the disk)
EXIF_ORIENTATION = 0x0112
EXIF_TURNED = (5, 6, 7, 8)  # orientations that swap width and height


@dataclass(frozen=True)
class BoxedImage:
    path: Path
    width: int
    height: int
    boxes: tuple[Box, ...]  # x1, y1, x2, y2 in pixels of the original image, clipped to it
    labels: tuple[int, ...]  # 0-based contiguous class indices into DetectionPlan.classes


class DetectionReport(pydantic.BaseModel):
    """What the dataset holds, for the trainer's `start` event (the classifier's class counts' equivalent).
    Counts are over every split (after unreadable images are left out)."""

    format: DetectionFormat
    images: int
    boxes: int
    boxes_per_class: dict[str, int]
    images_without_boxes: int  # kept: they train as images without objects
    # sqrt(w * h) of the boxes in pixels of their images: min, p10, median, p90, max (empty without boxes)
    box_sides: dict[str, float]
    split_images: dict[str, int]  # images per split: train, val and test when there is one
    auto_split: bool  # the val split was drawn from train by the trainer
    labels_without_images: int = 0  # label files / image entries / XMLs whose image is missing
    images_without_labels: int = 0  # image files no annotation mentions
    clipped_boxes: int = 0  # out of their image by more than CLIP_TOLERANCE_PX, clipped
    tiny_boxes: int = 0  # side under TINY_BOX_SHARE of their image's longer side
    duplicate_boxes: int = 0  # the same class and box twice in one image: one kept
    unreadable_images: int = 0  # left out, as the classifier leaves out images it cannot decode
    resized_annotations: int = 0  # COCO/VOC images whose stated size differs from the file: boxes scaled
    crowd_boxes: int = 0  # COCO iscrowd annotations, left out


@dataclass
class DetectionPlan:
    format: DetectionFormat
    classes: list[str]
    train: list[BoxedImage]
    val: list[BoxedImage]
    test: list[BoxedImage] | None
    report: DetectionReport
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (warning code, message)


# --- reading image sizes, checking boxes --------------------------------------------------------------


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) as decoded with the EXIF orientation applied, from the header alone."""
    with Image.open(path) as image:
        width, height = image.size
        if image.getexif().get(EXIF_ORIENTATION) in EXIF_TURNED:
            return height, width
    return width, height


def _sizes(paths: list[Path]) -> list[tuple[int, int] | None]:
    """Each image's size, None for one PIL cannot read; HEADER_THREADS chunks read at once."""

    def read(chunk: list[Path]) -> list[tuple[int, int] | None]:
        sizes: list[tuple[int, int] | None] = []
        for path in chunk:
            try:
                sizes.append(image_size(path))
            except Exception:
                sizes.append(None)
        return sizes

    step = max(1, -(-len(paths) // HEADER_THREADS))
    with ThreadPoolExecutor(max_workers=HEADER_THREADS) as pool:
        return [
            size
            for sizes in pool.map(read, [paths[i : i + step] for i in range(0, len(paths), step)])
            for size in sizes
        ]


@dataclass
class _Tally:
    clipped: int = 0
    tiny: int = 0
    duplicates: int = 0
    resized: int = 0
    resized_examples: list[str] = field(default_factory=list)


def _boxed(entry: Entry, size: tuple[int, int], root: Path, problems: Problems, tally: _Tally) -> BoxedImage:
    """The entry's boxes in pixels of its image, clipped to it; absurd ones are problems."""
    width, height = size
    scale_x = scale_y = 1.0
    if entry.normalised:
        scale_x, scale_y = width, height
    elif entry.stated_size is not None and entry.stated_size != size:
        scale_x, scale_y = width / entry.stated_size[0], height / entry.stated_size[1]
        tally.resized += 1
        tally.resized_examples.append(
            f"{relative(entry.path, root)} ({entry.stated_size[0]}x{entry.stated_size[1]} stated, "
            f"{width}x{height} on disk)"
        )
    # a YOLO file in pixels instead of fractions is the usual cause of boxes far outside
    hint = (
        " (YOLO's coordinates are fractions 0-1 of the image's width and height)" if entry.normalised else ""
    )
    boxes: list[Box] = []
    labels: list[int] = []
    seen: set[tuple[int, ...]] = set()
    for (x1, y1, x2, y2), label, place in zip(entry.boxes, entry.labels, entry.places, strict=True):
        x1, x2, y1, y2 = x1 * scale_x, x2 * scale_x, y1 * scale_y, y2 * scale_y
        clipped = (max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2))
        area = (x2 - x1) * (y2 - y1)
        inside = max(0.0, clipped[2] - clipped[0]) * max(0.0, clipped[3] - clipped[1])
        where = f"{place}: ({x1:g}, {y1:g}, {x2:g}, {y2:g}) in a {width}x{height} image"
        if x2 <= x1 or y2 <= y1:
            problems.add("boxes with no width or height", where)
            continue
        if inside < MIN_INSIDE_SHARE * area:
            problems.add(f"boxes mostly outside their image{hint}", where)
            continue
        if max(-x1, -y1, x2 - width, y2 - height) > CLIP_TOLERANCE_PX:
            tally.clipped += 1
        key = (label, *(round(value * 10) for value in clipped))
        if key in seen:
            tally.duplicates += 1
            continue
        seen.add(key)
        side = math.sqrt((clipped[2] - clipped[0]) * (clipped[3] - clipped[1]))
        tally.tiny += side < TINY_BOX_SHARE * max(width, height)
        boxes.append(clipped)
        labels.append(label)
    return BoxedImage(entry.path, width, height, tuple(boxes), tuple(labels))


# --- the plan -----------------------------------------------------------------------------------------


class _Reader(Protocol):  # yolo.py, coco.py, voc.py
    def looks_like(self, root: Path) -> bool: ...  # cheap: folder listings, no image read

    def read(self, root: Path, problems: Problems) -> Read: ...


READERS: dict[DetectionFormat, _Reader] = {"yolo": yolo, "coco": coco, "voc": voc}  # in the order tried


def detection_format(root: Path) -> DetectionFormat | None:
    """The detection format the folder's layout shows (YOLO, then COCO, then VOC), without reading any
    image; None when it is none of them."""
    if not root.is_dir():
        return None
    return next((name for name, reader in READERS.items() if reader.looks_like(root)), None)


def discover_detection(root: Path, seed: int) -> DetectionPlan:
    """Read, check and split the detection dataset at `root`; raises DatasetError naming the problem."""
    if not root.exists():
        raise DatasetError(f"dataset folder {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"dataset path {root} is not a folder")
    found = detection_format(root)
    if found is None:
        raise DatasetError(
            f"no detection dataset in {root}: expected YOLO (images/ and labels/ folders), COCO (an "
            "instances .json beside or above the images) or Pascal VOC (Annotations/ and JPEGImages/)"
        )
    problems = Problems()
    read: Read = READERS[found].read(root, problems)
    problems.raise_any()
    if not read.entries:
        raise DatasetError(f"no images found in the {found.upper()} dataset at {root}")
    tally = _Tally()
    boxed: list[tuple[str | None, BoxedImage]] = []
    unreadable = []
    for entry, size in zip(read.entries, _sizes([entry.path for entry in read.entries]), strict=True):
        if size is None:
            unreadable.append(entry.path)
            continue
        boxed.append((entry.split, _boxed(entry, size, root, problems, tally)))
    problems.raise_any()
    if not boxed:
        raise DatasetError(f"none of the {len(unreadable)} images in {root} can be read")
    _check_classes(read.classes, [image for _, image in boxed])
    train, val, test, auto = _splits(boxed, read.classes, seed)
    if not val:
        raise DatasetError("not enough images to validate: a detection dataset needs at least 2 images")
    images = [image for _, image in boxed]
    report = _report(found, read, images, {"train": train, "val": val, "test": test or []}, auto, tally)
    report.unreadable_images = len(unreadable)
    warnings = _warnings(read, report, tally, unreadable, train, root)
    return DetectionPlan(found, read.classes, train, val, test, report, warnings)


def _check_classes(classes: list[str], images: list[BoxedImage]) -> None:
    counts = Counter(label for image in images for label in image.labels)
    if not counts:
        raise DatasetError("the dataset has no boxes at all: a detector needs boxes to learn from")
    empty = [name for index, name in enumerate(classes) if counts[index] == 0]
    if empty:
        raise DatasetError(
            f"class(es) with no boxes at all: {named(empty)}; "
            "add boxes for them or take them out of the class names"
        )


def _splits(
    boxed: list[tuple[str | None, BoxedImage]], classes: list[str], seed: int
) -> tuple[list[BoxedImage], list[BoxedImage], list[BoxedImage] | None, bool]:
    """(train, val, test or None, whether val was drawn from train)."""
    by_split: dict[str | None, list[BoxedImage]] = {}
    for split, image in boxed:
        by_split.setdefault(split, []).append(image)
    if None in by_split or TRAIN_SPLIT not in by_split:
        unsplit = by_split.get(None, []) + by_split.get(TRAIN_SPLIT, [])
        test = by_split.get(TEST_SPLIT)
        if "val" in by_split:  # val without train: the val images validate, the rest train
            return unsplit, by_split["val"], test, False
        train, val = _auto_split(unsplit, classes, seed)
        return train, val, test, True
    if "val" not in by_split:
        train, val = _auto_split(by_split[TRAIN_SPLIT], classes, seed)
        return train, val, by_split.get(TEST_SPLIT), True
    return by_split[TRAIN_SPLIT], by_split["val"], by_split.get(TEST_SPLIT), False


def _auto_split(
    images: list[BoxedImage], classes: list[str], seed: int
) -> tuple[list[BoxedImage], list[BoxedImage]]:
    """contract.split_groups over the images grouped by their rarest class (images without boxes a group
    of their own), so that every class with two images or more has one in val. Groups and images are
    taken in name order: the same data splits alike in every format."""
    frequency = Counter(label for image in images for label in image.labels)
    groups: dict[str, list[BoxedImage]] = {}
    for image in sorted(images, key=lambda image: (image.path.name, image.path)):
        rarest = min(image.labels, key=lambda label: (frequency[label], classes[label]), default=None)
        groups.setdefault("" if rarest is None else classes[rarest], []).append(image)
    halves = split_groups([groups[name] for name in sorted(groups)], seed)
    order = {image.path: index for index, image in enumerate(images)}
    train = sorted((image for kept, _ in halves for image in kept), key=lambda image: order[image.path])
    val = sorted((image for _, held in halves for image in held), key=lambda image: order[image.path])
    return train, val


def _report(
    found: DetectionFormat,
    read: Read,
    images: list[BoxedImage],
    splits: dict[str, list[BoxedImage]],
    auto: bool,
    tally: _Tally,
) -> DetectionReport:
    counts = Counter(label for image in images for label in image.labels)
    sides = sorted(math.sqrt((b[2] - b[0]) * (b[3] - b[1])) for image in images for b in image.boxes)
    spread = {}
    if sides:
        deciles = statistics.quantiles(sides, n=10) if len(sides) > 1 else [sides[0]] * 9
        spread = {
            "min": sides[0],
            "p10": deciles[0],
            "median": statistics.median(sides),
            "p90": deciles[8],
            "max": sides[-1],
        }
    return DetectionReport(
        format=found,
        images=len(images),
        boxes=sum(counts.values()),
        boxes_per_class={name: counts[index] for index, name in enumerate(read.classes)},
        images_without_boxes=sum(1 for image in images if not image.boxes),
        box_sides={key: round(value, 2) for key, value in spread.items()},
        split_images={name: len(split) for name, split in splits.items() if split or name != TEST_SPLIT},
        auto_split=auto,
        labels_without_images=len(read.labels_without_images),
        images_without_labels=len(read.images_without_labels),
        clipped_boxes=tally.clipped,
        tiny_boxes=tally.tiny,
        duplicate_boxes=tally.duplicates,
        resized_annotations=tally.resized,
        crowd_boxes=read.crowd_boxes,
    )


def _warnings(
    read: Read,
    report: DetectionReport,
    tally: _Tally,
    unreadable: list[Path],
    train: list[BoxedImage],
    root: Path,
) -> list[tuple[str, str]]:
    warnings = list(read.notes)
    if unreadable:
        names = named([relative(path, root) for path in unreadable])
        warnings.append(("corrupt_images", f"skipped {len(unreadable)} unreadable image(s): {names}"))
    if read.images_without_labels:
        warnings.append(
            (
                "images_without_labels",
                f"{len(read.images_without_labels)} image(s) have no annotation"
                + (" and train as images without objects" if report.format == "yolo" else " and are left out")
                + f": {named(read.images_without_labels)}",
            )
        )
    if read.labels_without_images:
        warnings.append(
            (
                "labels_without_images",
                f"{len(read.labels_without_images)} annotation(s) have no image and are left out: "
                f"{named(read.labels_without_images)}",
            )
        )
    if tally.clipped:
        warnings.append(("clipped_boxes", f"{tally.clipped} box(es) reached outside their image: clipped"))
    if tally.duplicates:
        warnings.append(("duplicate_boxes", f"{tally.duplicates} duplicate box(es) left out"))
    if tally.tiny:
        warnings.append(
            (
                "tiny_boxes",
                f"{tally.tiny} box(es) are tiny (under {TINY_BOX_SHARE:.0%} of their image's side): "
                "a larger --image-size helps to find them",
            )
        )
    if tally.resized:
        warnings.append(
            (
                "resized_annotations",
                f"{tally.resized} image(s) differ in size from their annotation, boxes scaled to the file: "
                f"{named(tally.resized_examples)}",
            )
        )
    if read.crowd_boxes:
        warnings.append(("crowd_boxes", f"{read.crowd_boxes} crowd annotation(s) (iscrowd) left out"))
    trained = {label for image in train for label in image.labels}
    untrained = [name for index, name in enumerate(read.classes) if index not in trained]
    if untrained:
        warnings.append(("tiny_class", f"class(es) with no box in the train split: {', '.join(untrained)}"))
    return warnings
