"""Failures become reason codes (worded by the catalogue, in the thread's language)."""

from __future__ import annotations

import pytest

from bot.i18n import t
from bot.runs.advice import FAILURE_CODES, failure_code, last_line


@pytest.mark.parametrize(
    ("kind", "message", "expected"),
    [
        ("out_of_memory", "CUDA out of memory while training", "out_of_memory"),
        (None, "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB", "out_of_memory"),
        ("internal", "RuntimeError: CUDA error: out of memory", "out_of_memory"),
        ("dataset", "no images found in /data/cats", "dataset"),
        (None, "FileNotFoundError: [Errno 2] No such file or directory: '/data/x'", "dataset"),
        ("config", "unknown model 'resnet5000'", "config"),
        ("killed", "", "killed"),
        (None, "ZeroDivisionError: division by zero", "internal"),
        ("something new", "", "internal"),
    ],
)
def test_failures_get_a_reason_code(kind: str | None, message: str, expected: str) -> None:
    assert failure_code(kind, message) == expected


@pytest.mark.parametrize("code", FAILURE_CODES)
def test_every_reason_has_advice_in_both_languages(code: str) -> None:
    assert t("en", f"failure_{code}") != t("ko", f"failure_{code}")


def test_the_last_error_line_is_kept_short() -> None:
    assert last_line("Traceback...\n  File x\ntorch.OutOfMemoryError: CUDA out of memory\n\n") == (
        "torch.OutOfMemoryError: CUDA out of memory"
    )
    assert len(last_line("x" * 1000)) == 300 and last_line("") == ""
