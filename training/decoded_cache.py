"""The persistent decoded cache: each split's resized uint8 images in one memory-mappable .npy file, shared
by every later run on the same files at the same preprocessing, whatever the model.

An entry is `<name>.npy` (N x 3 x S x S uint8) plus `<name>.json` (labels, skipped files, what it was built
from); the .json is written last, so an entry without one is unfinished. The key hashes the split's files
(paths relative to the dataset, sizes, mtimes, labels) and the preprocessing parameters, so a changed file,
another seed's split or another image size is another entry. Builders take a per-entry file lock, so two
runs starting together decode once (the second waits, then maps). Entries are evicted least recently used
first to stay under the size limit; a mapped entry that is deleted stays readable to the runs mapping it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from training.contract import DECODED_CACHE_MAX_MB

log = logging.getLogger(__name__)

FORMAT_VERSION = 1  # bump when the decoding or the file layout changes: older entries are then misses
WAIT_POLL_SECONDS = 0.2
NPY_HEADER_BYTES = 128  # what a .npy file holds besides its pixels
DEFAULT_MAX_BYTES = DECODED_CACHE_MAX_MB * 2**20

Sample = tuple[Path, int]
Decoder = Callable[
    [Sequence[Sample], torch.Tensor, Callable[[int], None] | None], tuple[list[int], list[Path]]
]


class CacheUnavailable(Exception):
    """The cache cannot hold this split (too large for the limit, disk full, not writable)."""


@dataclass(frozen=True)
class Variant:
    """What the cached pixels depend on besides the files."""

    kind: str  # "train" (cached a little larger, cropped per batch) or "eval" (timm's eval transform)
    side: int  # the cached square's side in pixels
    image_size: int
    crop_pct: float | None = None  # eval only
    decoder: str = "pil"  # or "decode_jpeg" (on the GPU): their pixels differ slightly


@dataclass
class CachedSplit:
    images: torch.Tensor  # memory-mapped, read-only in practice (copy-on-write mapping)
    labels: torch.Tensor
    skipped: list[Path]  # files that could not be decoded when the entry was built
    hit: bool  # mapped from an existing entry (False: built by this run)


def fingerprint(root: Path, samples: Sequence[Sample], variant: Variant) -> str:
    digest = hashlib.sha256(json.dumps([FORMAT_VERSION, asdict(variant)]).encode())
    for path, label in samples:
        stat = path.stat()
        relative = path.relative_to(root).as_posix()
        digest.update(f"\n{relative}\0{label}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:40] or "dataset"


class DecodedCache:
    def __init__(self, folder: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.folder, self.max_bytes = folder, max_bytes

    def load_or_build(
        self,
        root: Path,
        split: str,
        samples: Sequence[Sample],
        variant: Variant,
        decode: Decoder,
        progress: Callable[[int], None] | None = None,
        waiting: Callable[[], None] | None = None,
    ) -> CachedSplit:
        """Map the entry for these files, or decode them into a new one (`decode(samples, out, progress)`
        fills `out` and returns the kept labels and the skipped files). Raises CacheUnavailable."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheUnavailable(
                f"cache folder {self.folder} is not usable: {exc.strerror or exc}"
            ) from exc
        try:
            key = fingerprint(root, samples, variant)
        except OSError as exc:  # a file went away since the dataset was listed
            raise CacheUnavailable(f"the dataset changed while it was read: {exc}") from exc
        name = f"{_slug(root.name)}-{split}-{variant.kind}{variant.side}-{key}"
        if (found := self._open(name, root)) is not None:
            return found
        with self._lock(name, waiting):
            if (found := self._open(name, root)) is not None:  # another run built it while this one waited
                return found
            return self._build(name, root, split, samples, variant, decode, progress)

    # ---- reading ---------------------------------------------------------------------------------------

    def _open(self, name: str, root: Path) -> CachedSplit | None:
        meta_path, data_path = self.folder / f"{name}.json", self.folder / f"{name}.npy"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            array = np.load(data_path, mmap_mode="c")  # private mapping: pages stay shared, no write-back
            os.utime(meta_path)  # the LRU clock
        except (OSError, ValueError) as exc:
            if meta_path.exists():
                log.warning("decoded cache entry %s is unreadable (%s); rebuilding it", name, exc)
            return None
        count = int(meta["count"])
        if array.ndim != 4 or array.shape[0] < count or len(meta["labels"]) != count:
            log.warning("decoded cache entry %s is inconsistent; rebuilding it", name)
            return None
        images = torch.from_numpy(array)[:count]
        labels = torch.tensor(meta["labels"], dtype=torch.long)
        return CachedSplit(images, labels, [root / p for p in meta["skipped"]], hit=True)

    # ---- building --------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self, name: str, waiting: Callable[[], None] | None) -> Iterator[None]:
        with open(self.folder / f"{name}.lock", "a+") as handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if waiting is not None:
                        waiting()
                    time.sleep(WAIT_POLL_SECONDS)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _build(
        self,
        name: str,
        root: Path,
        split: str,
        samples: Sequence[Sample],
        variant: Variant,
        decode: Decoder,
        progress: Callable[[int], None] | None,
    ) -> CachedSplit:
        shape = (len(samples), 3, variant.side, variant.side)
        needed = int(np.prod(shape))
        if needed > self.max_bytes:
            raise CacheUnavailable(
                f"the {split} split needs {needed / 2**20:,.0f} MiB, over the cache limit of "
                f"{self.max_bytes / 2**20:,.0f} MiB"
            )
        self.evict(room_for=needed + NPY_HEADER_BYTES, keep={name})
        for stale in self.folder.glob(
            f"{name}.npy.tmp*"
        ):  # left by a run killed mid-build (we hold the lock)
            stale.unlink(missing_ok=True)
        log.info("decoding %d %s images into the decoded cache (%.0f MB)", len(samples), split, needed / 1e6)
        temporary = self.folder / f"{name}.npy.tmp{os.getpid()}"
        try:
            array = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.uint8, shape=shape)
            with open(
                temporary, "r+b"
            ) as handle:  # reserve the blocks: a full disk fails here, not as SIGBUS
                os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            raise CacheUnavailable(f"could not write the decoded cache in {self.folder}: {reason}") from exc
        try:
            labels, skipped = decode(samples, torch.from_numpy(array), progress)
            array.flush()
            del array
            os.replace(temporary, self.folder / f"{name}.npy")
            meta = {
                "format": FORMAT_VERSION,
                "dataset": str(root),
                "split": split,
                "variant": asdict(variant),
                "count": len(labels),
                "labels": labels,
                "skipped": [p.relative_to(root).as_posix() for p in skipped],
                "bytes": needed,
                "created": time.time(),
            }
            meta_temporary = self.folder / f"{name}.json.tmp{os.getpid()}"
            meta_temporary.write_text(json.dumps(meta), encoding="utf-8")
            os.replace(meta_temporary, self.folder / f"{name}.json")
        finally:
            temporary.unlink(missing_ok=True)
        self._drop_older_versions(name, root, split, variant)
        log.info("decoded cache: wrote %s (%d images, %.0f MB)", name, len(labels), needed / 1e6)
        found = self._open(name, root)
        if found is None:
            raise CacheUnavailable(f"the decoded cache entry {name} could not be read back")
        found.hit = False
        return found

    def _drop_older_versions(self, name: str, root: Path, split: str, variant: Variant) -> None:
        """Entries for the same dataset folder, split and preprocessing but other files: the dataset
        changed since they were written."""
        for meta_path in self.folder.glob("*.json"):
            if meta_path.stem == name:
                continue
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            same = (meta.get("dataset"), meta.get("split"), meta.get("variant")) == (
                str(root),
                split,
                asdict(variant),
            )
            if same:
                log.info("decoded cache: dropping %s, the dataset changed since", meta_path.stem)
                self._remove(meta_path.stem)

    # ---- size limit ------------------------------------------------------------------------------------

    def entries(self) -> list[tuple[float, int, str]]:
        """(last used, bytes, name) of every finished entry, least recently used first."""
        found = []
        for meta_path in self.folder.glob("*.json"):
            data_path = meta_path.with_suffix(".npy")
            try:
                found.append((meta_path.stat().st_mtime, data_path.stat().st_size, meta_path.stem))
            except OSError:
                continue  # removed meanwhile, or unfinished
        return sorted(found)

    def evict(self, room_for: int = 0, keep: frozenset[str] | set[str] = frozenset()) -> list[str]:
        """Remove least recently used entries until `room_for` more bytes fit under the limit."""
        removed = []
        with open(self.folder / ".evict.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            entries = self.entries()
            total = sum(size for _, size, _ in entries)
            for _, size, name in entries:
                if total + room_for <= self.max_bytes:
                    break
                if name in keep:
                    continue
                self._remove(name)
                removed.append(name)
                total -= size
        if removed:
            log.info(
                "decoded cache: evicted %s to stay under %.0f MB", ", ".join(removed), self.max_bytes / 1e6
            )
        return removed

    def _remove(self, name: str) -> None:
        (self.folder / f"{name}.json").unlink(missing_ok=True)  # first: without it the entry is not used
        (self.folder / f"{name}.npy").unlink(missing_ok=True)
