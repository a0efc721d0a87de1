"""COCO detection datasets: an instances JSON (`images`, `annotations` with `bbox` as x, y, w, h in
pixels, `categories` with any ids) beside or above its images. One file per split, told by its folder or
its name (Roboflow's `train/_annotations.coco.json`, `valid/...`; COCO's
`annotations/instances_train2017.json`), or a single file. Crowd annotations (`iscrowd`) are left out
and counted; a category without annotations that is another's supercategory (Roboflow's parent
category) is no class. Classes are the categories by name, in id order, the train file's first."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from training.contract import image_files
from training.detection.annotations import (
    Entry,
    Problems,
    Read,
    child,
    files,
    named,
    relative,
    split_folders,
    split_of,
)
from training.errors import DatasetError

SNIFF_BYTES = 1 << 16  # an instances file names `images` or `annotations` this early
SPLIT_ORDER = ("train", "val", "test")


def _candidates(root: Path) -> list[Path]:
    """JSON files where an instances file may be: the dataset folder, its annotations/ folder, its split
    folders."""
    folders = [root, child(root, "annotations"), *(folder for _, folder in split_folders(root))]
    return [path for folder in folders if folder is not None for path in files(folder, ".json")]


def _looks_like_instances(path: Path) -> bool:
    try:
        with path.open("rb") as opened:
            head = opened.read(SNIFF_BYTES)
    except OSError:
        return False
    return b'"images"' in head or b'"annotations"' in head


def _instances_files(root: Path) -> list[Path]:
    return [path for path in _candidates(root) if _looks_like_instances(path)]


def looks_like(root: Path) -> bool:
    return bool(_instances_files(root))


def _split_files(root: Path) -> list[tuple[str | None, Path]]:
    """(split, file) in split order; a single file of no split is (None, file)."""
    found = _instances_files(root)
    splits = [
        (split_of(path.parent.name) if path.parent != root else None) or split_of(path.stem) for path in found
    ]
    if len(found) == 1:
        return [(splits[0], found[0])]
    untold = [relative(path, root) for path, split in zip(found, splits, strict=True) if split is None]
    if untold:
        raise DatasetError(
            f"{len(found)} COCO annotation files and no split told for {named(untold)}: name each file "
            "or its folder after its split (train, val, test), or keep a single file"
        )
    counts = Counter(splits)
    if twice := [split for split, count in counts.items() if count > 1]:
        shared = [relative(path, root) for path, split in zip(found, splits, strict=True) if split in twice]
        raise DatasetError(f"more than one COCO annotation file for the {twice[0]} split: {named(shared)}")
    return sorted(zip(splits, found, strict=True), key=lambda pair: SPLIT_ORDER.index(pair[0] or "train"))


def _document(path: Path, root: Path) -> dict[str, list[Any]]:
    where = relative(path, root)
    try:
        document = json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"malformed JSON in {where} line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except (UnicodeDecodeError, RecursionError) as exc:
        raise DatasetError(f"malformed JSON in {where}: {exc}") from None
    if not isinstance(document, dict):
        raise DatasetError(f"{where} is not a COCO instances file: it holds no JSON object")
    missing = [
        key for key in ("images", "annotations", "categories") if not isinstance(document.get(key), list)
    ]
    if missing:
        raise DatasetError(f"{where} is not a COCO instances file: it has no {' or '.join(missing)} list")
    return document


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _side(value: object) -> int | None:
    """A stated width or height: a positive number."""
    return (
        int(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else None
    )


@dataclass
class _File:
    split: str | None
    path: Path
    document: dict[str, list[Any]]
    categories: dict[int, str]  # category id -> name


class _ImageIndex:
    """Every image below the dataset folder, to find a `file_name` near its JSON or by its name."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.paths = set(image_files(root))
        self.by_name: dict[str, list[Path]] = {}
        for path in sorted(self.paths):
            self.by_name.setdefault(path.name, []).append(path)

    def find(self, file_name: str, near: Path, split: str | None) -> Path | None:
        relative_name = PurePosixPath(file_name.replace("\\", "/"))
        for base in (near, near / "images", near.parent, self.root, self.root / "images"):
            if (path := base / relative_name) in self.paths:
                return path
        matches = self.by_name.get(relative_name.name, [])
        in_split = [m for m in matches if any(split_of(part) == split for part in m.parent.parts)]
        return next(iter(in_split or matches), None)


def read(root: Path, problems: Problems) -> Read:
    loaded = [_File(split, path, *_categories(path, root, problems)) for split, path in _split_files(root)]
    problems.raise_any()
    classes = _classes(loaded)
    images = _ImageIndex(root)
    result = Read(classes, [])
    for item in loaded:
        entries = _entries(item, images, root, problems, result)
        known = {image.get("id") for image in item.document["images"] if isinstance(image, dict)}
        index_of = {name: i for i, name in enumerate(classes)}
        for position, annotation in enumerate(item.document["annotations"]):
            _annotation(
                annotation,
                f"{relative(item.path, root)}",
                position,
                item,
                entries,
                known,
                index_of,
                problems,
                result,
            )
        result.entries += entries.values()
    referenced = {entry.path for entry in result.entries}
    folders = {path.parent for path in referenced}
    result.images_without_labels = [
        relative(path, root) for path in sorted(images.paths - referenced) if path.parent in folders
    ]
    return result


def _entries(
    item: _File, images: _ImageIndex, root: Path, problems: Problems, result: Read
) -> dict[object, Entry]:
    """The file's images by id; one whose file is missing is counted as a label without its image."""
    where = relative(item.path, root)
    entries: dict[object, Entry] = {}
    for position, image in enumerate(item.document["images"]):
        if not (
            isinstance(image, dict)
            and isinstance(image.get("id"), int | str)
            and isinstance(image.get("file_name"), str)
        ):
            problems.add(
                "malformed image entries (need an `id` and a `file_name`)", f"{where} images[{position}]"
            )
            continue
        path = images.find(image["file_name"], item.path.parent, item.split)
        if path is None:
            result.labels_without_images.append(f"{where} image id {image['id']}: {image['file_name']}")
            continue
        width, height = _side(image.get("width")), _side(image.get("height"))
        stated = (width, height) if width and height else None
        entries[image["id"]] = Entry(path, item.split, stated_size=stated)
    return entries


def _categories(path: Path, root: Path, problems: Problems) -> tuple[dict[str, list[Any]], dict[int, str]]:
    document = _document(path, root)
    categories: dict[int, str] = {}
    for position, category in enumerate(document["categories"]):
        if isinstance(category, dict) and isinstance(category.get("id"), int) and "name" in category:
            categories[category["id"]] = str(category["name"])
        else:
            problems.add(
                "malformed categories (need an integer `id` and a `name`)",
                f"{relative(path, root)} categories[{position}]",
            )
    return document, categories


def _classes(loaded: list[_File]) -> list[str]:
    """Category names in id order, the first file's first; Roboflow's parent category (no annotations,
    the supercategory of others) is left out."""
    used = {
        (index, annotation.get("category_id"))
        for index, item in enumerate(loaded)
        for annotation in item.document["annotations"]
        if isinstance(annotation, dict)
    }
    parents = {
        str(category.get("supercategory"))
        for item in loaded
        for category in item.document["categories"]
        if isinstance(category, dict) and category.get("supercategory") != category.get("name")
    }
    classes: list[str] = []
    for index, item in enumerate(loaded):
        for category_id, name in sorted(item.categories.items()):
            if name in parents and (index, category_id) not in used:
                continue
            if name not in classes:
                classes.append(name)
    return classes


def _annotation(
    annotation: object,
    where: str,
    position: int,
    item: _File,
    entries: dict[object, Entry],
    known_images: set[object],
    index_of: dict[str, int],
    problems: Problems,
    result: Read,
) -> None:
    if not isinstance(annotation, dict):
        problems.add("malformed annotations", f"{where} annotations[{position}]")
        return
    place = f"{where} annotation id {annotation.get('id', f'#{position}')}"
    bbox, category_id, image_id = (
        annotation.get("bbox"),
        annotation.get("category_id"),
        annotation.get("image_id"),
    )
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_number(value) for value in bbox)):
        problems.add("malformed annotations (`bbox` must be [x, y, width, height] in pixels)", place)
        return
    if annotation.get("iscrowd"):
        result.crowd_boxes += 1
        return
    name = item.categories.get(category_id) if isinstance(category_id, int) else None
    if name is None or name not in index_of:
        problems.add("annotations with unknown category ids", f"{place}: category_id {category_id!r}")
        return
    if not isinstance(image_id, int | str) or image_id not in known_images:
        problems.add("annotations with unknown image ids", f"{place}: image_id {image_id!r}")
        return
    if (entry := entries.get(image_id)) is not None:  # else its image's file is missing, counted with it
        x, y, w, h = (float(value) for value in bbox)
        entry.add((x, y, x + w, y + h), index_of[name], place)
