"""Coalesced, throttled chat.update edits of messages that show something changing (a run's progress, a
sweep's table): callers record the newest state per message, one thread edits each message at most once
per `min_interval` (`tick_interval` for a state that is only a step tick), and the newest state is always
the one shown. A 429 is waited out by slack_sdk's RateLimitErrorRetryHandler (bot/slack/app.py) inside
the edit, and the next edit of that message is spaced from the end of that wait; a state still
rate-limited after those retries is tried again at the next turn unless a newer one came meanwhile.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.executor import WorkExecutor
from bot.slack.render import Rendered

log = logging.getLogger(__name__)

Draw = Callable[[], Rendered]  # the state to show, drawn when its edit is made


@dataclass
class _Message:
    channel: str
    ts: str
    draw: Draw | None = None  # the newest state not shown yet
    urgent: bool = False  # a change worth showing within min_interval (not just a step tick)
    then: Callable[[], None] | None = None  # run (on the executor) once the newest state is shown
    last_edit: float = -math.inf


class ThrottledEdits:
    def __init__(
        self, client: WebClient, executor: WorkExecutor, *, min_interval: float, tick_interval: float
    ) -> None:
        self._client = client
        self._executor = executor
        self._min_interval = min_interval
        self._tick_interval = max(tick_interval, min_interval)
        self._messages: dict[Hashable, _Message] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="slack-edits", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def posted(self, key: Hashable, channel: str, ts: str) -> None:
        """The message `key` was just posted (its first state shown): edits are spaced from now."""
        with self._cond:
            message = self._messages.setdefault(key, _Message(channel, ts))
            message.channel, message.ts = channel, ts
            message.last_edit = time.monotonic()

    def show(
        self,
        key: Hashable,
        draw: Draw,
        *,
        urgent: bool = True,
        then: Callable[[], None] | None = None,
        where: tuple[str, str] | None = None,
    ) -> bool:
        """Show `draw()` in message `key` (placed at `where`, (channel, ts), when not known yet) at its
        next edit; `then` runs after that edit (a later show keeps it). False when the message is unknown."""
        with self._cond:
            message = self._messages.get(key)
            if message is None:
                if where is None:
                    return False
                message = self._messages[key] = _Message(*where)
            message.draw = draw
            message.urgent |= urgent
            message.then = then or message.then
            self._cond.notify_all()
            return True

    def _loop(self) -> None:
        while True:
            with self._cond:
                due = self._wait_for_due()
                if due is None:
                    return
                key, message = due
                draw, then = message.draw, message.then
                message.draw, message.then, message.urgent = None, None, False
            assert draw is not None
            shown = self._edit(key, message, draw)
            with self._cond:
                message.last_edit = time.monotonic()  # after the call: a 429 wait also spaces the edits
                if not shown and message.draw is None:
                    message.draw, message.then, message.urgent = draw, then, True
                    then = None
            if then is not None:
                self._executor.submit(then)

    def _wait_for_due(self) -> tuple[Hashable, _Message] | None:
        while not self._closed:
            now = time.monotonic()
            next_due = math.inf
            for key, message in self._messages.items():
                if message.draw is None:
                    continue
                due_at = message.last_edit + (self._min_interval if message.urgent else self._tick_interval)
                if due_at <= now:
                    return key, message
                next_due = min(next_due, due_at)
            self._cond.wait(None if next_due == math.inf else next_due - now)
        return None

    def _edit(self, key: Hashable, message: _Message, draw: Draw) -> bool:
        """False when Slack still rate-limits the edit after slack_sdk's retries (worth another try)."""
        try:
            rendered = draw()
            self._client.chat_update(channel=message.channel, ts=message.ts, **rendered.as_kwargs())
        except SlackApiError as exc:
            log.warning("could not edit message %s: %s", key, exc.response.get("error"))
            return exc.response.get("error") != "ratelimited"
        except Exception:
            # e.g. the connection is down after slack_sdk's retries: this thread edits every message
            log.exception("could not edit message %s", key)
        return True
