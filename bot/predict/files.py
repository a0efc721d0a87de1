"""The images a user sends for prediction: JPEG, PNG or WebP files, or a .zip of them.

Everything is checked before a worker sees it, from headers only (no pixel is decoded here): the format,
the byte size, the pixel count (decompression bombs), the number of images, and zip members (declared and
actual sizes, no paths kept). A refused file becomes an ImageProblem with a code the front ends word.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image

from bot.zip_census import NotAZip, count_zip

FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
ZIP_SUFFIX = ".zip"


@dataclass(frozen=True)
class Limits:
    max_images: int = 20  # per request, zip members included
    max_bytes: int = 20 * 1024 * 1024  # per image
    max_pixels: int = 40_000_000  # width x height from the header; more is treated as a decompression bomb
    max_zip_bytes: int = 200 * 1024 * 1024  # downloaded, and declared unpacked
    max_zip_files: int = 1000  # members of one zip; more and it is refused before it is opened


@dataclass(frozen=True)
class Problem:
    name: str  # as the user named it (file name, or zip member)
    code: str  # not_image | corrupt | too_large | too_many_pixels | too_many | bad_zip | zip_too_many
    detail: str = ""


@dataclass(frozen=True)
class Accepted:
    name: str
    path: Path


def gather_images(
    files: list[tuple[str, Path]], scratch: Path, limits: Limits
) -> tuple[list[Accepted], list[Problem]]:
    """Check (display name, local path) pairs; zips are unpacked into `scratch` (a private temp folder)."""
    accepted: list[Accepted] = []
    problems: list[Problem] = []
    for name, path in files:
        if name.lower().endswith(ZIP_SUFFIX):
            members, refused = _unpack_zip(
                name, path, scratch / f"zip{len(accepted) + len(problems)}", limits
            )
            problems += refused
            candidates = members
        else:
            candidates = [Accepted(name, path)]
        for candidate in candidates:
            if len(accepted) >= limits.max_images:
                problems.append(Problem(candidate.name, "too_many", str(limits.max_images)))
                continue
            problem = check_image(candidate.name, candidate.path, limits)
            if problem is None:
                accepted.append(candidate)
            else:
                problems.append(problem)
    return accepted, problems


def check_image(name: str, path: Path, limits: Limits) -> Problem | None:
    try:
        size = path.stat().st_size
    except OSError:
        return Problem(name, "corrupt")
    if size > limits.max_bytes:
        return Problem(name, "too_large", _size(limits.max_bytes))
    try:
        with Image.open(path) as image:
            if image.format not in FORMATS:
                return Problem(name, "not_image", image.format or "")
            width, height = image.size
            if width * height > limits.max_pixels:
                return Problem(name, "too_many_pixels", f"{width}x{height}")
            image.verify()  # structure and checksums, without decoding the pixels
    except Image.DecompressionBombError:
        return Problem(name, "too_many_pixels")
    except Image.UnidentifiedImageError:
        return Problem(name, "not_image")
    except Exception as exc:  # truncated, bad checksums
        return Problem(name, "corrupt", str(exc)[:200])
    return None


def _unpack_zip(name: str, path: Path, folder: Path, limits: Limits) -> tuple[list[Accepted], list[Problem]]:
    """Image members written as numbered files (member paths are never used on disk); other members are
    reported as not images, hidden files and folders skipped. The members are counted and their declared
    sizes summed from the zip's directory headers before zipfile reads them all (bot/zip_census.py)."""
    try:
        census = count_zip(path, limits.max_zip_files)
    except NotAZip:
        return [], [Problem(name, "bad_zip")]
    if census.over_limit:
        return [], [Problem(name, "zip_too_many", f"{limits.max_zip_files:,}")]
    if census.declared_bytes > limits.max_zip_bytes:
        return [], [Problem(name, "too_large", _size(limits.max_zip_bytes))]
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return [], [Problem(name, "bad_zip")]
    members: list[Accepted] = []
    problems: list[Problem] = []
    folder.mkdir(parents=True, exist_ok=True)
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir() and _visible(i.filename)]
        for info in infos:
            shown = f"{name}/{info.filename}"
            suffix = PurePosixPath(info.filename).suffix.lower()
            if suffix not in IMAGE_SUFFIXES:
                problems.append(Problem(shown, "not_image"))
                continue
            if len(members) >= limits.max_images:
                problems.append(Problem(shown, "too_many", str(limits.max_images)))
                continue
            if info.file_size > limits.max_bytes:
                problems.append(Problem(shown, "too_large", _size(limits.max_bytes)))
                continue
            try:
                with archive.open(info) as member:
                    data = member.read(limits.max_bytes + 1)  # the declared size may lie
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:  # CRC errors, encrypted members
                problems.append(Problem(shown, "corrupt", str(exc)[:200]))
                continue
            if len(data) > limits.max_bytes:
                problems.append(Problem(shown, "too_large", _size(limits.max_bytes)))
                continue
            target = folder / f"{len(members):04d}{suffix}"
            target.write_bytes(data)
            members.append(Accepted(shown, target))
    return members, problems


def _visible(member: str) -> bool:
    return not any(part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(member).parts)


def _size(limit: int) -> str:
    return f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit} B"
