"""Dataset folders under DATA_ROOT: safe path resolution and a cheap summary: the file listing of a
class-folder dataset, or the trainer's own check of a detection dataset (YOLO, COCO or VOC; it reads
label files and image headers only)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from training.contract import class_folders, image_files, split_layout
from training.detection.data import DetectionReport, detection_format, discover_detection
from training.errors import DatasetError

DATA_ROOT_PREFIXES = ("$DATA_ROOT", "${DATA_ROOT}", "<DATA_ROOT>", "DATA_ROOT")
UPLOADS_FOLDER = "uploads"  # zips attached in Slack are unpacked to DATA_ROOT/uploads/<name>


class DatasetPathError(ValueError):
    """A dataset path the bot will not use. `message` is user-readable (English); `reason` is one of
    "outside" (escapes DATA_ROOT), "not_found" (with `available` datasets), "empty" (no class folders
    and no detection layout) or "detection_invalid" (a detection layout the trainer refuses: `message` is
    its reason, `format` the layout)."""

    def __init__(
        self, message: str, *, reason: str, available: list[str] | None = None, format: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.available = available or []
        self.format = format


@dataclass(frozen=True)
class DatasetSummary:
    classes: list[str]
    counts: dict[str, int]  # images per class over all splits (boxes per class for detection)
    splits: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> class -> images
    detection: DetectionReport | None = None  # the trainer's report of a detection dataset

    @property
    def task(self) -> str:
        return "classification" if self.detection is None else "detection"

    @property
    def total_images(self) -> int:
        return sum(self.counts.values()) if self.detection is None else self.detection.images


def _strip_data_root_prefix(text: str, data_root: Path) -> str:
    for prefix in (*DATA_ROOT_PREFIXES, str(data_root)):
        if prefix and (text == prefix or text.startswith(prefix.rstrip("/") + "/")):
            return text[len(prefix.rstrip("/")) :].lstrip("/") or "."
    return text


def resolve_dataset_path(user_path: str, data_root: Path, *, must_exist: bool = True) -> Path:
    """The absolute folder `user_path` names under DATA_ROOT.

    "cats", "./cats", "DATA_ROOT/cats" and an absolute path inside DATA_ROOT all name the same folder.
    Symlinks are followed before the containment check, so a link pointing outside is refused too.
    With must_exist=False only the containment check applies (for the offline `parse` tool).
    """
    root = data_root.expanduser().resolve()
    text = user_path.strip().strip("'\"`")
    if not text:
        raise DatasetPathError(
            "The dataset path is empty.", reason="not_found", available=list_datasets(root)
        )
    text = _strip_data_root_prefix(text, data_root)
    try:
        candidate = Path(text).expanduser()
        resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
        exists = resolved.is_dir()
    except (OSError, RuntimeError, ValueError):  # name too long, symlink loop, NUL byte
        resolved, exists = root / text, False
    if resolved == root or not resolved.is_relative_to(root) or ".." in Path(text).parts:
        raise DatasetPathError(
            f"'{user_path}' is outside the data folder; give a folder inside DATA_ROOT (e.g. 'cats').",
            reason="outside",
        )
    if must_exist and not exists:
        available = list_datasets(root)
        listing = ", ".join(available) if available else "none yet"
        raise DatasetPathError(
            f"No dataset folder '{user_path}' under DATA_ROOT. Available datasets: {listing}.",
            reason="not_found",
            available=available,
        )
    return resolved


def list_datasets(data_root: Path) -> list[str]:
    """Dataset folders under DATA_ROOT, uploaded ones as "uploads/<name>"; hidden folders left out."""
    names = [folder.name for folder in class_folders(data_root)]
    if UPLOADS_FOLDER in names:
        names.remove(UPLOADS_FOLDER)
        names += [f"{UPLOADS_FOLDER}/{folder.name}" for folder in class_folders(data_root / UPLOADS_FOLDER)]
    return sorted(names)


def _class_counts(folder: Path) -> dict[str, int]:
    """Images per class folder, leaving out class folders without any."""
    counts = {class_dir.name: len(image_files(class_dir)) for class_dir in class_folders(folder)}
    return {name: images for name, images in counts.items() if images}


# A detection check reads every label file and image header (about a second for 2,000 images) and one
# conversation turn looks at its dataset several times: a result is reused while the folders' times are
# unchanged, for at most REPORT_REUSE_S (a label file rewritten in place changes no folder's time).
REPORT_REUSE_S = 30.0
_REPORTS_KEPT = 8
_reports: dict[Path, tuple[tuple[int, ...], float, DatasetSummary | DatasetPathError | None]] = {}
_reports_lock = threading.Lock()


def _folder_times(path: Path) -> tuple[int, ...]:
    """Modification times of the folder and of the folders two levels below it (images/train, ...)."""
    times = [path.stat().st_mtime_ns]
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            times.append(entry.stat().st_mtime_ns)
            times += [
                sub.stat().st_mtime_ns for sub in os.scandir(entry.path) if sub.is_dir(follow_symlinks=False)
            ]
    return tuple(times)


def summarize_detection(path: Path) -> DatasetSummary | None:
    """summarize_detection_now, reused for a folder that has not changed (see REPORT_REUSE_S)."""
    try:
        stamp = _folder_times(path)
    except OSError:
        return summarize_detection_now(path)
    with _reports_lock:
        kept = _reports.get(path)
    if kept is not None and kept[0] == stamp and time.monotonic() - kept[1] < REPORT_REUSE_S:
        outcome = kept[2]
    else:
        try:
            outcome = summarize_detection_now(path)
        except DatasetPathError as error:
            outcome = error
        with _reports_lock:
            if len(_reports) >= _REPORTS_KEPT:
                _reports.pop(next(iter(_reports)))
            _reports[path] = (stamp, time.monotonic(), outcome)
    if isinstance(outcome, DatasetPathError):
        raise outcome
    return outcome


def summarize_detection_now(path: Path) -> DatasetSummary | None:
    """The trainer's check of a detection dataset (None when the folder has no detection layout).

    Raises DatasetPathError(reason="detection_invalid") with the trainer's reason when it refuses it.
    """
    found = detection_format(path)
    if found is None:
        return None
    try:
        plan = discover_detection(path, seed=0)
    except DatasetError as error:
        reason = str(error).replace(str(path), path.name)  # the server's paths stay on the server
        raise DatasetPathError(reason, reason="detection_invalid", format=found.upper()) from error
    report = plan.report
    return DatasetSummary(classes=plan.classes, counts=dict(report.boxes_per_class), detection=report)


def summarize_dataset(path: Path) -> DatasetSummary:
    """Classes and image counts of an ImageFolder dataset, with optional train/val/test splits, read with
    the trainer's own layout rules (training/contract.py), or the report of a detection dataset.

    Raises DatasetPathError(reason="empty") when there is no class folder holding images and no
    detection layout.
    """
    detection = summarize_detection(path)
    if detection is not None:
        return detection
    splits = {name: _class_counts(folder) for name, folder in split_layout(path).splits().items()}
    splits = {name: counts for name, counts in splits.items() if counts}
    if splits:
        counts: dict[str, int] = {}
        for split_counts in splits.values():
            for name, images in split_counts.items():
                counts[name] = counts.get(name, 0) + images
    else:
        counts = _class_counts(path)
    if not counts:
        raise DatasetPathError(
            f"'{path.name}' has no class folders with images (expected {path.name}/<class>/<image>.jpg).",
            reason="empty",
        )
    return DatasetSummary(classes=sorted(counts), counts=dict(sorted(counts.items())), splits=splits)


def shown_dataset_path(path: str, data_root: Path) -> str:
    """The dataset as users name it (relative to DATA_ROOT), not the server's absolute path."""
    try:
        return str(Path(path).relative_to(data_root.resolve()))
    except ValueError:
        return path
