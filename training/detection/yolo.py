"""YOLO detection datasets: `images/` + `labels/` (each optionally split into train/, val/, test/), the
Ultralytics layout (`train/images` + `train/labels`, ...), or label files beside their images (Darknet,
labelImg). One `class cx cy w h` line per box, normalised 0-1; a segment line `class x1 y1 x2 y2 ...`
stands for its polygon's bounding box. Class names from data.yaml's `names` (a list, or an id → name
map) or classes.txt. An image without a label file has no objects, as Ultralytics reads it."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from training.contract import image_files
from training.detection.annotations import (
    Box,
    Entry,
    Problems,
    Read,
    annotated_beside_images,
    child,
    direct_images,
    files,
    files_below,
    relative,
    split_folders,
)
from training.errors import DatasetError

CLASSES_TXT = "classes.txt"
YAML_NAMES = ("data.yaml", "dataset.yaml", "data.yml", "dataset.yml")  # read first, then any other .yaml


@dataclass(frozen=True)
class _Part:
    images: Path
    labels: Path  # the images' own folder when label files sit beside them
    split: str | None


def _parts(root: Path) -> list[_Part]:
    """Where the images and label files are, per split; empty when `root` is no YOLO dataset."""
    images, labels = child(root, "images"), child(root, "labels")
    if images is not None and labels is not None:
        inner = split_folders(images)
        if inner:
            return [_Part(path, labels / path.name, split) for split, path in inner]
        return [_Part(images, labels, None)]
    parts = []
    for split, folder in split_folders(root):
        images, labels = child(folder, "images"), child(folder, "labels")
        if images is not None and labels is not None:
            parts.append(_Part(images, labels, split))
        elif annotated_beside_images(folder, ".txt"):
            parts.append(_Part(folder, folder, split))
    if parts:
        return parts
    return [_Part(root, root, None)] if annotated_beside_images(root, ".txt") else []


def looks_like(root: Path) -> bool:
    return bool(_parts(root))


def _names(root: Path, parts: list[_Part]) -> tuple[list[str], list[int]] | None:
    """Class names and the class id each stands for: data.yaml's `names`, else classes.txt's lines."""
    yaml_files = [root / name for name in YAML_NAMES if (root / name).is_file()]
    yaml_files += [path for path in files(root, ".yaml") + files(root, ".yml") if path not in yaml_files]
    for path in yaml_files:
        names = _yaml_names(path, root)
        if names is not None:
            return names
    for folder in [root, *dict.fromkeys(part.labels for part in parts)]:
        path = folder / CLASSES_TXT
        if path.is_file():
            listed = [
                line.strip()
                for line in path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
                if line.strip()
            ]
            if not listed:
                raise DatasetError(f"{relative(path, root)} names no class")
            return listed, list(range(len(listed)))
    return None


def _yaml_names(path: Path, root: Path) -> tuple[list[str], list[int]] | None:
    import yaml  # only YOLO datasets need it

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8-sig", errors="replace"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DatasetError(f"malformed YAML in {relative(path, root)}{where}: {problem}") from None
    if not isinstance(document, dict) or "names" not in document:
        return None
    names = document["names"]
    if isinstance(names, list) and names:
        return [str(name) for name in names], list(range(len(names)))
    if isinstance(names, dict) and names:
        try:
            by_id = {int(key): str(value) for key, value in names.items()}
        except (TypeError, ValueError):
            raise DatasetError(
                f"{relative(path, root)}: `names` maps class ids to names, so its keys must be whole numbers"
            ) from None
        ids = sorted(by_id)
        return [by_id[i] for i in ids], ids
    raise DatasetError(f"{relative(path, root)}: `names` must be a list of class names or an id: name map")


def _line(line: str) -> tuple[int, Box] | None:
    """(class id, normalised x1, y1, x2, y2) of one label line; None when it is not one."""
    values = line.split()
    if len(values) < 5 or len(values) % 2 == 0:
        return None
    try:
        number = float(values[0])
        coordinates = [float(value) for value in values[1:]]
    except ValueError:
        return None
    if not number.is_integer() or not all(math.isfinite(value) for value in coordinates):
        return None
    if len(coordinates) == 4:
        cx, cy, w, h = coordinates
        return int(number), (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    xs, ys = coordinates[0::2], coordinates[1::2]
    return int(number), (min(xs), min(ys), max(xs), max(ys))


def _id_range(ids: list[int]) -> str:
    contiguous = ids == list(range(ids[0], ids[0] + len(ids)))
    return f"{ids[0]}-{ids[-1]}" if contiguous and len(ids) > 1 else ", ".join(map(str, ids))


def read(root: Path, problems: Problems) -> Read:
    parts = _parts(root)
    names = _names(root, parts)
    index_of = {class_id: index for index, class_id in enumerate(names[1])} if names else None
    entries, labels_without_images, images_without_labels = [], [], []
    for part in parts:
        beside = part.labels == part.images
        label_files = files(part.labels, ".txt") if beside else files_below(part.labels, ".txt")
        unmatched = {str(path): path for path in label_files if path.name != CLASSES_TXT}
        for image in direct_images(part.images) if beside else image_files(part.images):
            # images/a/b.jpg -> labels/a/b.txt, in strings: Path arithmetic is slow over many files
            in_part = relative(image, part.images)
            label_file = unmatched.pop(
                os.path.join(str(part.labels), os.path.splitext(in_part)[0] + ".txt"), None
            )
            entry = Entry(image, part.split, normalised=True)
            entries.append(entry)
            if label_file is None:
                images_without_labels.append(relative(image, root))
            else:
                _read_labels(label_file, entry, index_of, root, problems)
        labels_without_images += [relative(path, root) for path in unmatched.values()]
    notes = []
    if names is None:
        notes.append(
            ("no_class_names", "no data.yaml or classes.txt names the classes: they are called by id")
        )
        classes = [str(i) for i in range(max((max(e.labels, default=-1) for e in entries), default=-1) + 1)]
    else:
        classes = names[0]
    return Read(classes, entries, labels_without_images, images_without_labels, notes=notes)


def _read_labels(
    path: Path, entry: Entry, index_of: dict[int, int] | None, root: Path, problems: Problems
) -> None:
    """The boxes of one label file into `entry`; class ids become class indices (without class names,
    the ids are the indices)."""
    where = relative(path, root)
    for number, line in enumerate(
        path.read_text(encoding="utf-8-sig", errors="replace").splitlines(), start=1
    ):
        if not line.strip():
            continue
        parsed = _line(line)
        if parsed is None:
            problems.add(
                "malformed label lines (expected `class cx cy w h`, normalised 0-1)",
                f"{where} line {number}: {line.strip()[:60]!r}",
            )
            continue
        class_id, box = parsed
        label = class_id if index_of is None and class_id >= 0 else (index_of or {}).get(class_id)
        if label is None:
            known = f"the class names know ids {_id_range(list(index_of))}" if index_of else "ids start at 0"
            problems.add(f"unknown class ids ({known})", f"{where} line {number}: class {class_id}")
            continue
        entry.add(box, label, f"{where} line {number}")
