"""Typed start requests in a confirming conversation: "start", "시작", "start at 02:00", "새벽 2시에 시작".

Decided once, in the conversation (ConversationService.start_order), for every front end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.runs.when import parse_start_time

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
