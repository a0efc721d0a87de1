"""Pascal VOC detection datasets: `Annotations/*.xml` + `JPEGImages/`, split by `ImageSets/Main/train.txt`,
`val.txt` (`trainval.txt`, `test.txt`) when present; or each XML beside its image (Roboflow's export), in
train/, valid/, test/ folders or not. VOC's 1-based pixel corners become x1 = xmin - 1, y1 = ymin - 1,
x2 = xmax, y2 = ymax, as Detectron2 reads them. Classes are the objects' names, sorted. XML with a DOCTYPE
or entities is refused (they can expand without bound or read other files)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from xml.etree import ElementTree

from training.contract import image_files
from training.detection.annotations import (
    Entry,
    Problems,
    Read,
    annotated_beside_images,
    child,
    direct_images,
    files,
    relative,
    split_folders,
)

IMAGE_SETS = {
    "train": "train",
    "trainval": "train",
    "val": "val",
    "test": "test",
}  # ImageSets/Main file → split
UNSAFE_XML = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _devkit(root: Path) -> Path | None:
    """The Annotations/ folder when it holds XML files."""
    annotations = child(root, "Annotations")
    return annotations if annotations is not None and files(annotations, ".xml") else None


def _flat_folders(root: Path) -> list[tuple[str | None, Path]]:
    """(split, folder) of folders holding XML files beside their images."""
    folders: list[tuple[str | None, Path]] = [
        (split, folder) for split, folder in split_folders(root) if annotated_beside_images(folder, ".xml")
    ]
    if not folders and annotated_beside_images(root, ".xml"):
        folders = [(None, root)]
    return folders


def looks_like(root: Path) -> bool:
    return _devkit(root) is not None or bool(_flat_folders(root))


def _image_sets(root: Path) -> dict[str, str] | None:
    """Image id (file stem) → split from ImageSets/Main; None without split lists."""
    main = child(root, "ImageSets")
    main = child(main, "Main") if main is not None else None
    if main is None:
        return None
    split_of_id: dict[str, str] = {}
    found = False
    for name in ("trainval", "train", "val", "test"):  # train.txt and val.txt win over trainval.txt
        path = main / f"{name}.txt"
        if path.is_file():
            found = True
            for line in path.read_text(encoding="utf-8-sig", errors="replace").split("\n"):
                if image_id := line.strip():
                    split_of_id[image_id.split()[0]] = IMAGE_SETS[name]
    return split_of_id if found else None


def read(root: Path, problems: Problems) -> Read:
    annotations = _devkit(root)
    xmls: list[tuple[str | None, Path, Path]]  # (split, annotation, the folder of its image)
    if annotations is not None:
        images_folder = child(root, "JPEGImages") or root
        xmls = [(None, path, images_folder) for path in files(annotations, ".xml")]
        found = image_files(images_folder) if images_folder != root else direct_images(root)
        candidates = [(images_folder, path) for path in found]
    else:
        flat = _flat_folders(root)
        xmls = [(split, path, folder) for split, folder in flat for path in files(folder, ".xml")]
        candidates = [(folder, image) for _, folder in flat for image in direct_images(folder)]
    sets = _image_sets(root) if annotations is not None else None
    by_name = {(folder, path.name): path for folder, path in candidates}
    by_stem = {(folder, path.stem): path for folder, path in candidates}
    result = Read([], [])
    names: list[list[str]] = []
    unlisted = 0
    for split, xml, folder in xmls:
        if sets is not None:
            if xml.stem not in sets:
                unlisted += 1
                continue
            split = sets[xml.stem]
        parsed = _parse(xml, root, problems)
        if parsed is None:
            continue
        file_name, entry, object_names = parsed
        image = by_name.get((folder, file_name or "")) or by_stem.get((folder, xml.stem))
        if image is None:
            result.labels_without_images.append(relative(xml, root))
            continue
        entry.path, entry.split = image, split
        result.entries.append(entry)
        names.append(object_names)
    result.classes = sorted({name for object_names in names for name in object_names})
    index_of = {name: i for i, name in enumerate(result.classes)}
    for entry, object_names in zip(result.entries, names, strict=True):
        entry.labels = [index_of[name] for name in object_names]
    annotated = {(folder, xml.stem) for _, xml, folder in xmls}
    result.images_without_labels = [
        relative(path, root) for folder, path in candidates if (folder, path.stem) not in annotated
    ]
    if unlisted:
        result.notes.append(
            ("unlisted_annotations", f"{unlisted} annotation(s) in no ImageSets/Main list are left out")
        )
    return result


def _parse(path: Path, root: Path, problems: Problems) -> tuple[str | None, Entry, list[str]] | None:
    """(the <filename>, an entry with the boxes, the boxes' class names); None when malformed."""
    where = relative(path, root)
    data = path.read_bytes()
    if UNSAFE_XML.search(data):
        problems.add("XML annotations with a DOCTYPE or entities (refused)", where)
        return None
    try:
        annotation = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        line, column = exc.position
        problems.add("malformed XML annotations", f"{where} line {line} column {column}: {exc.msg}")
        return None
    entry = Entry(path, None, stated_size=_size(annotation))
    object_names: list[str] = []
    for number, obj in enumerate(annotation.iter("object"), start=1):
        place = f"{where} object {number}"
        name = (obj.findtext("name") or "").strip()
        corners = [_float(obj.findtext(f"bndbox/{tag}")) for tag in ("xmin", "ymin", "xmax", "ymax")]
        if not name:
            problems.add("malformed XML objects (no <name>)", place)
            continue
        if any(value is None for value in corners):
            problems.add("malformed XML objects (need <bndbox> with numbers xmin, ymin, xmax, ymax)", place)
            continue
        xmin, ymin, xmax, ymax = (value or 0.0 for value in corners)
        entry.add((xmin - 1, ymin - 1, xmax, ymax), 0, place)
        object_names.append(name)
    file_name = (annotation.findtext("filename") or "").strip() or None
    return file_name, entry, object_names


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _size(annotation: ElementTree.Element) -> tuple[int, int] | None:
    width, height = _float(annotation.findtext("size/width")), _float(annotation.findtext("size/height"))
    return (int(width), int(height)) if width and height and width > 0 and height > 0 else None
