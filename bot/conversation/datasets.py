"""Dataset folders under DATA_ROOT: safe path resolution and a cheap summary (file listing only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from training.contract import class_folders, image_files, split_layout

DATA_ROOT_PREFIXES = ("$DATA_ROOT", "${DATA_ROOT}", "<DATA_ROOT>", "DATA_ROOT")
UPLOADS_FOLDER = "uploads"  # zips attached in Slack are unpacked to DATA_ROOT/uploads/<name>


class DatasetPathError(ValueError):
    """A dataset path the bot will not use. `message` is user-readable (English); `reason` is one of
    "outside" (escapes DATA_ROOT), "not_found" (with `available` datasets) or "empty" (no class folders)."""

    def __init__(self, message: str, *, reason: str, available: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.available = available or []


@dataclass(frozen=True)
class DatasetSummary:
    classes: list[str]
    counts: dict[str, int]  # images per class over all splits
    splits: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> class -> images

    @property
    def total_images(self) -> int:
        return sum(self.counts.values())


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


def summarize_dataset(path: Path) -> DatasetSummary:
    """Classes and image counts of an ImageFolder dataset, with optional train/val/test splits, read with
    the trainer's own layout rules (training/contract.py).

    Raises DatasetPathError(reason="empty") when there is no class folder holding images.
    """
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
