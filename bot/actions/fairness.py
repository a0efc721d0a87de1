"""Per-user rate limits: at most N requests of a kind per user in a sliding minute, so one person cannot
spend the bot's Claude budget or its prediction and export workers for everyone else."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

WINDOW_S = 60.0


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._recent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def take(self, user: str) -> int | None:
        """Count one request of `user`; None when allowed, else the seconds until the next one is."""
        now = self._clock()
        with self._lock:
            recent = self._recent[user]
            while recent and recent[0] <= now - WINDOW_S:
                recent.popleft()
            if len(recent) >= self._per_minute:
                return max(1, math.ceil(recent[0] + WINDOW_S - now))
            recent.append(now)
            return None
