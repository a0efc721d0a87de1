"""Safe extraction of an uploaded dataset .zip under DATA_ROOT/uploads.

The whole zip is refused when it holds more files than UPLOAD_MAX_FILES or declares more than UPLOAD_MAX_BYTES
unpacked (counted from its end record and directory headers before zipfile opens it: bot/zip_census.py),
when any member would land outside the target folder or is a symlink, and when the bytes actually written
pass UPLOAD_MAX_BYTES (a zip bomb can lie in its headers). Only image files and label files (.txt, .json,
.xml, .yaml: a detection dataset's annotations) are kept; folders, hidden files and macOS metadata are
dropped. The result must be an ImageFolder layout or a detection dataset (YOLO, COCO or VOC) the trainer
accepts; single wrapping folders are stepped into.
"""

from __future__ import annotations

import lzma
import re
import shutil
import stat
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from bot.conversation.datasets import (
    UPLOADS_FOLDER,
    DatasetPathError,
    DatasetSummary,
    summarize_dataset,
)
from bot.i18n import DEFAULT_LANGUAGE, t
from bot.settings import Settings
from bot.upload_quota import record_upload, used_by
from bot.zip_census import NotAZip, count_zip
from training.contract import is_image_path, is_visible

COPY_CHUNK = 1024 * 1024
SUPPORTED_COMPRESSION = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
# APPNOTE.TXT 4.4.5 names of methods users meet that zipfile cannot read (Deflate64: Windows Explorer's
# large zips, the others from 7-Zip and WinZip); zipfile.compressor_names is not public API
UNSUPPORTED_NAMES = {
    9: "Deflate64",
    18: "IBM TERSE",
    93: "Zstandard",
    95: "XZ",
    96: "JPEG",
    97: "WavPack",
    98: "PPMd",
}
# the annotation files of the detection formats (YOLO .txt + data.yaml, COCO .json, VOC .xml), kept
# beside the images
LABEL_SUFFIXES = frozenset({".txt", ".json", ".xml", ".yaml", ".yml"})
SHOWN_NAME_MAX = 80  # a name longer than this is cut in the middle when a reply echoes it


class UploadError(Exception):
    """The upload was refused: `code` (the catalogue's `upload_<code>`) and its values say why;
    `words(language)` in words a user can act on, `.message` in English (logs)."""

    def __init__(self, code: str, **values: Any) -> None:
        self.code = code
        self.values = values
        super().__init__(self.message)

    def words(self, language: str) -> str:
        return t(language, f"upload_{self.code}", **self.values)

    @property
    def message(self) -> str:
        return self.words(DEFAULT_LANGUAGE)


def shown_name(name: str) -> str:
    """A file or member name as a reply may echo it: one line, no backticks, cut in the middle when long.
    Escaping it for a front end (Slack's mrkdwn) stays that front end's job."""
    name = re.sub(r"[\x00-\x1f\x7f`]+", " ", name).strip() or "?"
    if len(name) <= SHOWN_NAME_MAX:
        return name
    half = (SHOWN_NAME_MAX - 1) // 2
    return f"{name[:half]}…{name[-half:]}"


@dataclass(frozen=True)
class ExtractedDataset:
    path: Path  # absolute path of the ImageFolder root
    relative_path: str  # the same, relative to DATA_ROOT (what a user would type)
    summary: DatasetSummary
    images: int
    dropped: int  # members that were not images (or were hidden / metadata) and were left out


def extract_dataset_zip(
    zip_path: Path, settings: Settings, original_name: str, owner: str | None = None
) -> ExtractedDataset:
    """Unpack a dataset zip under DATA_ROOT/uploads; one `owner` sent counts against their quota."""
    uploads = (settings.data_root / UPLOADS_FOLDER).resolve()
    uploads.mkdir(parents=True, exist_ok=True)
    name = shown_name(original_name)
    allowance = _allowance(uploads, settings, owner, name)
    _check_census(zip_path, settings, name, allowance)
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise UploadError("not_zip", name=name) from exc
    with archive:
        members, dropped = _image_members(archive, name)
        staging = uploads / f".incoming-{uuid.uuid4().hex}"
        try:
            written = _extract(archive, members, staging, allowance, name)
            root = _dataset_root(staging)
            if _check_dataset(root, name).detection is None:  # class folders: the images are the labels
                dropped += _remove_label_files(staging)
            final = uploads / _folder_name(original_name)
            root.rename(final)
            if owner is not None:
                record_upload(uploads, final.name, owner, written)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return ExtractedDataset(
        path=final,
        relative_path=f"{UPLOADS_FOLDER}/{final.name}",
        summary=summarize_dataset(final),
        images=sum(is_image_path(path) for _, path in members),
        dropped=dropped,
    )


def _check_dataset(root: Path, name: str) -> DatasetSummary:
    """A usable dataset: two classes or more in class folders, or a detection dataset the trainer
    accepts (its refusal is passed on)."""
    try:
        summary = summarize_dataset(root)
    except DatasetPathError as error:
        if error.reason == "detection_invalid":
            raise UploadError(
                "detection_invalid", name=name, format=error.format, reason=error.message
            ) from error
        raise UploadError("no_classes", name=name) from error
    if len(summary.classes) < 2 and summary.detection is None:
        raise UploadError("no_classes", name=name)
    return summary


def _remove_label_files(folder: Path) -> int:
    """Delete the label files kept for a detection layout; how many."""
    labels = [
        path for path in folder.rglob("*") if path.is_file() and not is_image_path(path.relative_to(folder))
    ]
    for path in labels:
        path.unlink()
    return len(labels)


def _is_label_path(path: PurePosixPath) -> bool:
    return all(is_visible(part) for part in path.parts) and path.suffix.lower() in LABEL_SUFFIXES


def _image_members(
    archive: zipfile.ZipFile, name: str
) -> tuple[list[tuple[zipfile.ZipInfo, PurePosixPath]], int]:
    """The image and label members to extract. Anything that makes the zip unusable as a whole (a path
    out, a link, a password, a compression zipfile cannot read) refuses it before a byte is written."""
    members: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    dropped = 0
    for info in archive.infolist():
        member = shown_name(info.filename)
        path = _safe_member_path(info.filename)
        if path is None:
            raise UploadError("outside", name=name, member=member)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UploadError("symlink", name=name, member=member)
        if info.is_dir():
            continue
        if not (is_image_path(path) or _is_label_path(path)):
            dropped += 1
            continue
        if info.flag_bits & 0x1:
            raise UploadError("encrypted", name=name, member=member)
        if info.compress_type not in SUPPORTED_COMPRESSION:
            method = UNSUPPORTED_NAMES.get(info.compress_type, f"method {info.compress_type}")
            raise UploadError("compression", name=name, member=member, method=method)
        members.append((info, path))
    if not any(is_image_path(path) for _, path in members):
        raise UploadError("no_images", name=name)
    return members, dropped


def _safe_member_path(name: str) -> PurePosixPath | None:
    """The member's relative path, or None when it is absolute or climbs out with `..`."""
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or re.match(r"^[A-Za-z]:", normalized):
        return None
    path = PurePosixPath(normalized)
    if ".." in path.parts:
        return None
    return path


@dataclass(frozen=True)
class _Allowance:
    """The bytes this upload may unpack to, and the refusal that goes with passing them."""

    limit: int
    quota: int | None = None  # set when the person's quota, not UPLOAD_MAX_BYTES, is the tighter limit
    used: int = 0

    def refusal(self, name: str, size: str) -> UploadError:
        if self.quota is None:
            return UploadError("too_big", name=name, size=size, limit=size_text(self.limit))
        return UploadError(
            "quota", name=name, size=size, used=size_text(self.used), quota=size_text(self.quota)
        )

    def passed_while_unpacking(self, name: str) -> UploadError:
        """More bytes came out than the headers declared (a zip bomb) and the limit was passed."""
        if self.quota is None:
            return UploadError("bomb", name=name, limit=size_text(self.limit))
        return self.refusal(name, f"> {size_text(self.limit)}")


def _allowance(uploads: Path, settings: Settings, owner: str | None, name: str) -> _Allowance:
    quota = settings.upload_quota_bytes
    if owner is None or not quota:
        return _Allowance(settings.upload_max_bytes)
    used = used_by(uploads, owner)
    if quota - used < settings.upload_max_bytes:
        if used >= quota:
            raise UploadError("quota_full", name=name, used=size_text(used), quota=size_text(quota))
        return _Allowance(quota - used, quota, used)
    return _Allowance(settings.upload_max_bytes)


def _check_census(zip_path: Path, settings: Settings, name: str, allowance: _Allowance) -> None:
    """The file count and declared size, from the zip's end record and central directory headers,
    before zipfile reads the whole directory into memory."""
    try:
        census = count_zip(zip_path, settings.upload_max_files)
    except NotAZip as exc:
        raise UploadError("not_zip", name=name) from exc
    if census.over_limit:
        raise UploadError(
            "too_many_files", name=name, count=f"{census.files:,}", limit=f"{settings.upload_max_files:,}"
        )
    if census.declared_bytes > allowance.limit:
        raise allowance.refusal(name, size_text(census.declared_bytes))


def _extract(
    archive: zipfile.ZipFile,
    members: list[tuple[zipfile.ZipInfo, PurePosixPath]],
    staging: Path,
    allowance: _Allowance,
    name: str,
) -> int:
    """Write the members, counting the bytes really produced (headers can lie: zip bombs); how many."""
    written = 0
    for info, path in members:
        target = staging.joinpath(*path.parts)
        member = shown_name(info.filename)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with _open_member(archive, info, name, member) as source, target.open("wb") as sink:
                while chunk := _read(source, name, member):
                    written += len(chunk)
                    if written > allowance.limit:
                        raise allowance.passed_while_unpacking(name)
                    sink.write(chunk)
        except OSError as exc:  # writing: `a.png` both a file and a folder, a name too long, a full disk
            reason = exc.strerror or type(exc).__name__
            raise UploadError("unwritable", name=name, member=member, reason=reason) from exc
    return written


# What reading a member can raise on a damaged archive: zipfile's own checks (CRC, sizes), each
# decompressor's error, a password it was not given, a method it lacks.
DAMAGED = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError)


def _open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, member: str) -> IO[bytes]:
    try:
        return archive.open(info)
    except NotImplementedError as exc:  # a method zipfile names but this Python lacks
        raise UploadError("compression", name=name, member=member, method=str(exc)) from exc
    except RuntimeError as exc:  # encrypted without the flag zipfile reads first
        raise UploadError("encrypted", name=name, member=member) from exc
    except DAMAGED as exc:
        raise UploadError("damaged", name=name, member=member) from exc


def _read(source: IO[bytes], name: str, member: str) -> bytes:
    try:
        return source.read(COPY_CHUNK)
    except DAMAGED as exc:  # zipfile stops at the declared size and then fails the CRC check when longer
        raise UploadError("damaged", name=name, member=member) from exc


def _dataset_root(staging: Path) -> Path:
    """Step into single wrapping folders (`pets/cat/1.jpg`, `parts/_annotations.coco.json`) down to the
    class or split folders, or the detection dataset."""
    root = staging
    while True:
        entries = list(root.iterdir())
        if len(entries) == 1 and entries[0].is_dir():
            root = entries[0]
        else:
            return root


def _folder_name(original_name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(original_name).stem).strip("-")[:40] or "dataset"
    return f"{stem}-{uuid.uuid4().hex[:6]}"


def size_text(num_bytes: float) -> str:
    """A byte count as people read it (bytes, KB, MB, GB)."""
    if num_bytes < 1024:
        return f"{num_bytes:.0f} bytes"
    for unit in ("KB", "MB"):
        num_bytes /= 1024
        if num_bytes < 1024:
            return f"{num_bytes:.1f} {unit}"
    return f"{num_bytes / 1024:.1f} GB"
