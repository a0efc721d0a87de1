"""Failures become plain advice."""

from __future__ import annotations

import pytest

from bot.runs import explain_failure


@pytest.mark.parametrize(
    ("kind", "message", "expected"),
    [
        ("out_of_memory", "CUDA out of memory while training", "smaller batch size"),
        (
            None,
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
            "smaller batch size",
        ),
        ("internal", "RuntimeError: CUDA error: out of memory", "smaller batch size"),
        ("dataset", "no images found in /data/cats", "one sub-folder per class"),
        (
            None,
            "FileNotFoundError: [Errno 2] No such file or directory: '/data/x'",
            "one sub-folder per class",
        ),
        ("config", "unknown model 'resnet5000'", "model name"),
        ("killed", "", "ran out of RAM"),
        (None, "ZeroDivisionError: division by zero", "unexpectedly"),
    ],
)
def test_failures_get_advice(kind: str | None, message: str, expected: str) -> None:
    assert expected in explain_failure(kind, message)


def test_advice_quotes_the_last_error_line_and_speaks_korean() -> None:
    text = explain_failure(
        "out_of_memory", "Traceback...\n  File x\ntorch.OutOfMemoryError: CUDA out of memory", "ko"
    )
    assert "배치 크기" in text
    assert text.endswith("> torch.OutOfMemoryError: CUDA out of memory")
