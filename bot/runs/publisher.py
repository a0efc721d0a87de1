"""Deliver run updates to subscribers on one thread, in order, so a slow or failing subscriber
(a Slack API call) never holds up the followers or the manager."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from bot.runs.views import RunUpdate

log = logging.getLogger(__name__)

Subscriber = Callable[[RunUpdate], None]


class Publisher:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[RunUpdate | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._deliver, name="run-updates", daemon=True)
        self._thread.start()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, update: RunUpdate) -> None:
        self._queue.put(update)

    def close(self, wait: bool = True) -> None:
        """Deliver what is queued, then stop."""
        self._queue.put(None)
        if wait and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _deliver(self) -> None:
        while (update := self._queue.get()) is not None:
            with self._lock:
                subscribers = list(self._subscribers)
            for callback in subscribers:
                try:
                    callback(update)
                except Exception:
                    log.exception("a run-update subscriber failed; the others still get updates")
