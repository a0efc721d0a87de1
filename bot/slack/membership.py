"""Channel membership through the Slack client (conversations.members, paged), for bot/policy.py: who may
see a run, use its model or download it. Answers are kept for a short while per channel."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

KEEP_S = 60.0
PAGE = 1000


class ChannelMembers:
    def __init__(self, client: WebClient, keep_s: float = KEEP_S) -> None:
        self._client = client
        self._keep_s = keep_s
        self._known: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def __call__(self, channel: str, user: str) -> bool:
        return user in self.members(channel)

    def members(self, channel: str) -> frozenset[str]:
        with self._lock:
            known = self._known.get(channel)
        if known is not None and time.monotonic() - known[0] < self._keep_s:
            return known[1]
        members = self._fetch(channel)
        with self._lock:
            self._known[channel] = (time.monotonic(), members)
        return members

    def _fetch(self, channel: str) -> frozenset[str]:
        """Nobody, when Slack does not say (a channel the bot is not in, or gone): nothing is shown."""
        found: set[str] = set()
        client = self._client
        try:
            for page in client.conversations_members(channel=channel, limit=PAGE):
                found.update(page.get("members") or [])
        except SlackApiError as exc:
            log.warning("could not list the members of %s: %s", channel, exc.response.get("error"))
            return frozenset()
        return frozenset(found)
