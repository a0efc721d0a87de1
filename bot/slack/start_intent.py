"""Typed start requests in a confirming conversation: "start", "시작", "start at 02:00", "새벽 2시에 시작".

Shared by the Slack threads and the console; no Slack imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from bot.conversation.datasets import DatasetPathError, resolve_dataset_path
from bot.conversation.service import config_key
from bot.runs.when import parse_start_time
from bot.storage import ChatSession
from training.config import TrainingConfig

START_NOW = re.compile(
    r"^\s*(start|start now|go|시작|지금 시작|시작해|시작해줘|시작하자)[.!]?\s*$", re.IGNORECASE
)
START_WORD = re.compile(r"\bstart\b|시작", re.IGNORECASE)


@dataclass(frozen=True)
class StartIntent:
    at: datetime | None  # None: start now


def start_intent(text: str, tz: str, now: datetime | None = None) -> StartIntent | None:
    """A start request, with its time when one is given; None when the text is not a start request."""
    if START_NOW.match(text):
        return StartIntent(at=None)
    if not START_WORD.search(text):
        return None
    at = parse_start_time(text, now or datetime.now(UTC), tz)
    return StartIntent(at=at) if at is not None else None


def confirmed_config(session: ChatSession, data_root: Path) -> tuple[TrainingConfig, str] | None:
    """The complete config of a confirming session and its start key (the same ones its summary's Start
    button carries), read from the stored draft: a typed "start" is not sent through the parser."""
    draft = dict(session.draft or {})
    try:
        draft["dataset_path"] = str(resolve_dataset_path(str(draft.get("dataset_path", "")), data_root))
        config = TrainingConfig.model_validate(draft)
    except (DatasetPathError, ValidationError):
        return None
    return config, config_key(session.id, config)
