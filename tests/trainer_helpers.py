"""Shared helpers for the trainer tests: run `python -m training` in-process and read its events."""

from __future__ import annotations

from pathlib import Path

from training.cli import main
from training.events import parse_event

FAST_FLAGS = [
    "--model",
    "resnet18",
    "--no-pretrained",
    "--image-size",
    "32",
    "--batch-size",
    "16",
    "--workers",
    "1",
    "--no-onnx",  # tests/test_export.py covers the export
]


def run_trainer(data: Path, out: Path, *extra: str, epochs: int = 1) -> tuple[int, list]:
    code = main(["--data", str(data), "--out", str(out), "--epochs", str(epochs), *FAST_FLAGS, *extra])
    return code, read_events(out)


def read_events(out: Path) -> list:
    path = out / "events.jsonl"
    return [parse_event(line) for line in path.read_text().splitlines()] if path.exists() else []


def after_preparing(events: list) -> list:
    """The events from `start` (or an early `error`) on: the `preparing` ones only ever lead."""
    first = next((i for i, e in enumerate(events) if e.type != "preparing"), len(events))
    assert all(e.type != "preparing" for e in events[first:]), "a preparing event after the run began"
    return events[first:]
