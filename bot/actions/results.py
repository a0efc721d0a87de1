"""What an action hands back to a front end: typed, neutral results that Slack and the console only
render and send. A `Refusal` (bot/policy.py) is said privately to the person who asked; `Said` is a
sentence (already in the person's language, neutral markup) for the thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.runs import RunError, RunView
from training.export_report import OnnxReport


@dataclass(frozen=True)
class Thread:
    """A conversation thread: a Slack thread, or the console's current setup."""

    team_id: str
    channel: str
    thread_ts: str


@dataclass(frozen=True)
class Said:
    """Nothing was done; `text` says why (the run is not finished, there is no model, ...)."""

    text: str


@dataclass(frozen=True)
class Failed:
    """The run manager refused (no such run, wrong state): present.run_error words it."""

    error: RunError


@dataclass(frozen=True)
class Started:
    run: RunView
    at: datetime | None  # scheduled for then; None: queued now


@dataclass(frozen=True)
class Stopped:
    run: RunView


@dataclass(frozen=True)
class Resumed:
    run: RunView


@dataclass(frozen=True)
class Cancelled:
    session_id: int
    by: str


@dataclass(frozen=True)
class ModelOf:
    """A completed run whose model may be used (downloaded, predicted with) by the person who asked."""

    run: RunView


@dataclass(frozen=True)
class Exported:
    run: RunView
    report: OnnxReport
    offered: Path | None  # the verified .onnx file to hand over, None when it did not pass
