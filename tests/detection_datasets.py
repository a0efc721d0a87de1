"""Tiny generated object-detection datasets for tests: filled shapes (one class per shape, each in its own
colour) at random places and sizes on plain or noisy backgrounds, with exact boxes, written as JPEGs in
the YOLO, COCO or Pascal VOC layout. The same arguments give the same images and boxes in every layout.

Boxes are integer pixels (x1, y1, x2, y2) with x2, y2 exclusive: a shape covers columns x1..x2-1, so
its box's width is x2 - x1 and the box is exact in all three formats (VOC's 1-based xmin = x1 + 1).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from xml.etree import ElementTree

from PIL import Image, ImageDraw

CLASSES = ("square", "circle", "triangle")
SHAPES = {  # class name -> fill colour, far from the backgrounds' dark greys and from each other
    "square": (230, 40, 40),
    "circle": (40, 210, 60),
    "triangle": (50, 90, 240),
}
COCO_CATEGORY_IDS = (3, 7, 11)  # arbitrary, non-contiguous ids as real COCO files have

Box = tuple[int, int, int, int]
Size = int | tuple[int, int]  # a square side, or (width, height)


@dataclass(frozen=True)
class TruthImage:
    """One generated image: its file name (the same in every layout), size, boxes and class indices."""

    name: str
    width: int
    height: int
    boxes: tuple[Box, ...]
    labels: tuple[int, ...]  # indices into GroundTruth.classes
    split: str | None  # "train", "val" or None when the dataset has no split


@dataclass
class GroundTruth:
    classes: list[str]
    images: list[TruthImage] = field(default_factory=list)

    def by_name(self) -> dict[str, TruthImage]:
        return {image.name: image for image in self.images}

    def boxes(self) -> int:
        return sum(len(image.boxes) for image in self.images)

    def negatives(self) -> int:
        return sum(1 for image in self.images if not image.boxes)

    def boxes_per_class(self) -> dict[str, int]:
        counts = dict.fromkeys(self.classes, 0)
        for image in self.images:
            for label in image.labels:
                counts[self.classes[label]] += 1
        return counts

    def split(self, name: str) -> list[TruthImage]:
        return [image for image in self.images if image.split == name]


def _wh(size: Size) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else size


def _overlaps(box: Box, others: list[Box]) -> bool:
    return any(box[0] < o[2] and o[0] < box[2] and box[1] < o[3] and o[1] < box[3] for o in others)


def draw_scene(
    width: int, height: int, rng: random.Random, shapes: int, noisy: bool
) -> tuple[Image.Image, list[Box], list[int]]:
    """A background with `shapes` non-overlapping filled shapes (fewer when they don't fit)."""
    grey = rng.randint(10, 60)
    image = Image.new("RGB", (width, height), (grey, grey, grey))
    if noisy:
        noise = Image.frombytes("L", (width, height), rng.randbytes(width * height)).convert("RGB")
        image = Image.blend(image, noise, 0.2)
    draw = ImageDraw.Draw(image)
    boxes: list[Box] = []
    labels: list[int] = []
    short = min(width, height)
    for _ in range(shapes):
        for _attempt in range(20):
            w = rng.randint(max(6, short // 6), max(7, short * 2 // 5))
            h = rng.randint(max(6, short // 6), max(7, short * 2 // 5))
            x1, y1 = rng.randint(0, width - w), rng.randint(0, height - h)
            box = (x1, y1, x1 + w, y1 + h)
            if not _overlaps(box, boxes):
                break
        else:
            continue
        label = rng.randrange(len(CLASSES))
        colour = SHAPES[CLASSES[label]]
        inside = (box[0], box[1], box[2] - 1, box[3] - 1)  # PIL's corners are inclusive
        if CLASSES[label] == "square":
            draw.rectangle(inside, fill=colour)
        elif CLASSES[label] == "circle":
            draw.ellipse(inside, fill=colour)
        else:
            draw.polygon(
                [(inside[0], inside[3]), ((inside[0] + inside[2]) / 2, inside[1]), inside[2:]], colour
            )
        boxes.append(box)
        labels.append(label)
    return image, boxes, labels


def generate(
    n_images: int, size: Size, seed: int, negatives: int, split: bool, noisy: bool = True
) -> list[tuple[TruthImage, Image.Image]]:
    """The images and their truth: the first `negatives` have no shapes; with `split`, every fourth image
    is in val. Seeded: the same arguments give the same pixels and boxes."""
    rng = random.Random(seed)
    width, height = _wh(size)
    out = []
    for index in range(n_images):
        shapes = 0 if index < negatives else rng.randint(1, 3)
        image, boxes, labels = draw_scene(width, height, rng, shapes, noisy and index % 2 == 0)
        name = f"img_{index:04d}.jpg"
        in_split = ("val" if index % 4 == 3 else "train") if split else None
        truth = TruthImage(name, width, height, tuple(boxes), tuple(labels), in_split)
        out.append((truth, image))
    return out


def _save(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=95)


def _truth(generated: list[tuple[TruthImage, Image.Image]]) -> GroundTruth:
    return GroundTruth(list(CLASSES), [truth for truth, _ in generated])


def write_yolo(
    root: Path,
    n_images: int = 24,
    size: Size = 64,
    seed: int = 0,
    negatives: int = 3,
    split: bool = False,
    layout: Literal["images_labels", "ultralytics"] = "images_labels",
    names: Literal["yaml_list", "yaml_map", "classes_txt"] = "yaml_list",
) -> GroundTruth:
    """YOLO: images/ + labels/ (split: images/train, labels/train, ...; the ultralytics layout:
    train/images, train/labels, ...), one `class cx cy w h` line per box, normalised, an empty label
    file for a negative image; class names in data.yaml (a list or a map) or classes.txt."""
    generated = generate(n_images, size, seed, negatives, split)
    for truth, image in generated:
        if truth.split is None:
            images, labels = root / "images", root / "labels"
        elif layout == "ultralytics":
            images, labels = root / truth.split / "images", root / truth.split / "labels"
        else:
            images, labels = root / "images" / truth.split, root / "labels" / truth.split
        _save(image, images / truth.name)
        lines = []
        for (x1, y1, x2, y2), label in zip(truth.boxes, truth.labels, strict=True):
            cx, cy = (x1 + x2) / 2 / truth.width, (y1 + y2) / 2 / truth.height
            w, h = (x2 - x1) / truth.width, (y2 - y1) / truth.height
            lines.append(f"{label} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
        labels.mkdir(parents=True, exist_ok=True)
        (labels / truth.name).with_suffix(".txt").write_text("".join(lines))
    if names == "classes_txt":
        (root / "classes.txt").write_text("".join(f"{name}\n" for name in CLASSES))
    elif names == "yaml_map":
        (root / "data.yaml").write_text(
            "path: .\nnames:\n" + "".join(f"  {i}: {name}\n" for i, name in enumerate(CLASSES))
        )
    else:
        (root / "data.yaml").write_text(f"nc: {len(CLASSES)}\nnames: [{', '.join(CLASSES)}]\n")
    return _truth(generated)


def coco_document(truths: list[TruthImage], file_prefix: str = "") -> dict[str, object]:
    """An instances JSON for `truths`, with COCO_CATEGORY_IDS as category ids."""
    images, annotations = [], []
    for image_id, truth in enumerate(truths, start=1):
        images.append(
            {
                "id": image_id,
                "file_name": file_prefix + truth.name,
                "width": truth.width,
                "height": truth.height,
            }
        )
        for (x1, y1, x2, y2), label in zip(truth.boxes, truth.labels, strict=True):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": COCO_CATEGORY_IDS[label],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "segmentation": [[x1, y1, x2, y1, x2, y2, x1, y2]],  # the box as a polygon
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                }
            )
    categories = [
        {"id": category_id, "name": name, "supercategory": "shape"}
        for category_id, name in zip(COCO_CATEGORY_IDS, CLASSES, strict=True)
    ]
    return {"images": images, "annotations": annotations, "categories": categories}


def write_coco(
    root: Path,
    n_images: int = 24,
    size: Size = 64,
    seed: int = 0,
    negatives: int = 3,
    split: bool = False,
    layout: Literal["roboflow", "coco"] = "roboflow",
) -> GroundTruth:
    """COCO: Roboflow's layout puts `_annotations.coco.json` beside the images (of each split folder,
    `train/`, `valid/`); the COCO layout has `annotations/instances_<split>2017.json` above `<split>2017/`
    (no split: `annotations/instances.json` and `images/`). A negative image has no annotation."""
    generated = generate(n_images, size, seed, negatives, split)
    splits: dict[str | None, list[TruthImage]] = {}
    for truth, image in generated:
        splits.setdefault(truth.split, []).append(truth)
        if layout == "roboflow":
            folder = root if truth.split is None else root / ("valid" if truth.split == "val" else "train")
        else:
            folder = root / ("images" if truth.split is None else f"{truth.split}2017")
        _save(image, folder / truth.name)
    for split_name, truths in splits.items():
        if layout == "roboflow":
            folder = root if split_name is None else root / ("valid" if split_name == "val" else "train")
            path = folder / "_annotations.coco.json"
        else:
            path = (
                root
                / "annotations"
                / ("instances.json" if split_name is None else f"instances_{split_name}2017.json")
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(coco_document(truths)))
    return _truth(generated)


def voc_xml(truth: TruthImage, classes: list[str] | tuple[str, ...] = CLASSES) -> str:
    annotation = ElementTree.Element("annotation")
    ElementTree.SubElement(annotation, "folder").text = "JPEGImages"
    ElementTree.SubElement(annotation, "filename").text = truth.name
    size = ElementTree.SubElement(annotation, "size")
    for tag, value in (("width", truth.width), ("height", truth.height), ("depth", 3)):
        ElementTree.SubElement(size, tag).text = str(value)
    for (x1, y1, x2, y2), label in zip(truth.boxes, truth.labels, strict=True):
        obj = ElementTree.SubElement(annotation, "object")
        ElementTree.SubElement(obj, "name").text = classes[label]
        ElementTree.SubElement(obj, "difficult").text = "0"
        bndbox = ElementTree.SubElement(obj, "bndbox")
        for tag, value in (("xmin", x1 + 1), ("ymin", y1 + 1), ("xmax", x2), ("ymax", y2)):
            ElementTree.SubElement(bndbox, tag).text = str(value)
    return ElementTree.tostring(annotation, encoding="unicode")


def write_voc(
    root: Path,
    n_images: int = 24,
    size: Size = 64,
    seed: int = 0,
    negatives: int = 3,
    split: bool = False,
    layout: Literal["devkit", "flat"] = "devkit",
) -> GroundTruth:
    """Pascal VOC: `Annotations/<name>.xml` + `JPEGImages/<name>.jpg`, with `ImageSets/Main/train.txt` and
    `val.txt` when split (devkit); or Roboflow's flat layout, each XML beside its image in `train/` and
    `valid/` (or the dataset folder when not split). A negative image's XML has no object."""
    generated = generate(n_images, size, seed, negatives, split)
    sets: dict[str, list[str]] = {}
    for truth, image in generated:
        if layout == "devkit":
            image_path = root / "JPEGImages" / truth.name
            xml_path = root / "Annotations" / truth.name
            if truth.split is not None:
                sets.setdefault(truth.split, []).append(Path(truth.name).stem)
        else:
            folder = root if truth.split is None else root / ("valid" if truth.split == "val" else "train")
            image_path = xml_path = folder / truth.name
        _save(image, image_path)
        xml_path.parent.mkdir(parents=True, exist_ok=True)
        xml_path.with_suffix(".xml").write_text(voc_xml(truth))
    for split_name, stems in sets.items():
        folder = root / "ImageSets" / "Main"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{split_name}.txt").write_text("".join(f"{stem}\n" for stem in stems))
    return _truth(generated)
