"""Helpers the conversation test modules share."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from bot.conversation import ConversationService, Turn


def say(service: ConversationService, *texts: str) -> Turn:
    """Play `texts` as one thread's messages; the last turn."""
    turn = None
    for text in texts:
        turn = service.handle_message(team_id="T", channel_id="C", thread_ts="1", user_id="U", text=text)
    assert turn is not None
    return turn


def same(expected: Any, actual: Any) -> bool:
    """A parsed value equals the expected one (floats up to rounding, ints are not floats)."""
    if isinstance(expected, float) or isinstance(actual, float):
        return isinstance(actual, int | float) and math.isclose(expected, actual, rel_tol=1e-9)
    return type(expected) is type(actual) and expected == actual


def typed_lines(lines: Iterable[str]) -> Callable[[str], str]:
    """The console's `read_line` fed `lines`, then the end of input (EOFError, as input() at the end of
    stdin)."""
    feed = iter(lines)

    def read_line(_prompt: str) -> str:
        line = next(feed, None)
        if line is None:
            raise EOFError
        return line

    return read_line
