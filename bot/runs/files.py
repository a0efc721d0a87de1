"""Files the run manager writes into a run folder, whole or not at all."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def copy_atomically(source: Path, target: Path) -> None:
    """Copy `source` to `target` through a temporary file in the target's folder, flushed to disk before
    it takes the target's name: a crash mid-copy leaves no partial `target`, only the temporary file
    (named for this process, so two bot processes copying at once never write the same one)."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.partial")
    with source.open("rb") as reader, temporary.open("wb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
        writer.flush()
        os.fsync(writer.fileno())
    shutil.copystat(source, temporary)
    os.replace(temporary, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the new name survives a power cut too
    finally:
        os.close(folder)
