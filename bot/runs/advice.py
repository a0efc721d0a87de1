"""Classify a trainer failure as a reason code; the words for each code are in the catalogue
(`failure_<code>` in bot/i18n/runs.py), and the raw detail stays in the run record."""

from __future__ import annotations

import errno
import re

from pydantic import ValidationError

FAILURE_CODES = (
    "out_of_memory",
    "dataset",
    "config",
    "killed",
    "internal",
    "interrupted",
    "storage",  # the run folder could not be written when the run was launched
    "launch",  # the trainer's process or job could not be started (or its start not recorded)
)
# OSError numbers that mean the disk is full or read-only, whichever step of a launch met them
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})

_OOM_PATTERN = re.compile(r"out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED", re.IGNORECASE)
_DATASET_PATTERN = re.compile(
    r"no such file|not a directory|cannot identify image|found no (valid )?images?|empty dataset|"
    r"Found 0 files|unidentifiedimageerror|truncated",
    re.IGNORECASE,
)
_GUESSED = ("out_of_memory", "dataset", "config", "killed", "internal")  # codes a failure's text can have


def failure_code(kind: str | None, message: str) -> str:
    """The reason code: the trainer's own kind (training.contract.FailureKind) wins, otherwise a guess
    from the error text."""
    if kind in _GUESSED and kind != "internal":
        return kind
    if _OOM_PATTERN.search(message):
        return "out_of_memory"
    if _DATASET_PATTERN.search(message):
        return "dataset"
    return kind if kind in _GUESSED else "internal"


def last_line(message: str) -> str:
    """The last non-empty line of an error text (the trainer's own words, kept short)."""
    line = next((line.strip() for line in message.strip().splitlines()[::-1] if line.strip()), "")
    return line[:300]


def launch_failure_code(exc: Exception, *, writing_folder: bool) -> str:
    """The reason code of a launch that failed with `exc`: the settings were refused, the run folder
    could not be written (`writing_folder`: the step that writes it), or the trainer could not be started."""
    if isinstance(exc, ValidationError):
        return "config"
    if isinstance(exc, OSError) and (writing_folder or exc.errno in _DISK_ERRNOS):
        return "storage"
    return "launch"


def launch_failure_detail(step: str, exc: Exception) -> str:
    """The run record's detail of a failed launch, one line (its last line is shown to English threads)."""
    if isinstance(exc, ValidationError):
        said = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
    else:
        said = next(iter(str(exc).strip().splitlines()), "") or type(exc).__name__
    return f"launch failed while {step}: {type(exc).__name__}: {said}"
