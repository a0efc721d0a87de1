"""Classify a trainer failure as a reason code; the words for each code are in the catalogue
(`failure_<code>` in bot/i18n/runs.py), and the raw detail stays in the run record."""

from __future__ import annotations

import re

FAILURE_CODES = ("out_of_memory", "dataset", "config", "killed", "internal", "interrupted")

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
