"""The project's own worker pool: listeners ack at once and hand their work here.

Bolt's listener pool is small (5 threads) and shared with acks; anything that may take longer than a
moment (the conversation engine, Claude, downloads, starting runs, uploads) runs on this pool instead.
Work for one conversation thread goes into that thread's lane (`submit_in_order`): it runs one item
after the other, so two messages sent a few milliseconds apart cannot both load the session, parse for
seconds and save over each other. Slack hands events to several threads at once, so they may arrive
here out of order: a lane waits GATHER_S before it starts and always runs the earliest-sent item next
(by Slack's timestamp).

Slow jobs (predictions, ONNX exports, dataset uploads) run on their own small pools (`submit_heavy`), one
per kind, so however many of them wait, conversations and clicks keep their workers.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger(__name__)

GATHER_S = 0.05
HEAVY_KINDS = ("predict", "export", "upload")
HEAVY_WORKERS = (
    2  # per kind  # how long a new lane waits for items sent at the same moment but handed over later
)

Work = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]
Queued = tuple[float, int, Work]  # (when it was sent, arrival number, work)


class WorkExecutor:
    def __init__(self, max_workers: int = 8, heavy_workers: int = HEAVY_WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="trainbot-work")
        self._heavy = {
            kind: ThreadPoolExecutor(max_workers=heavy_workers, thread_name_prefix=f"trainbot-{kind}")
            for kind in HEAVY_KINDS
        }
        self._lanes: dict[Hashable, list[Queued]] = {}  # a heap per lane, while its work runs or waits
        self._lanes_lock = threading.Lock()
        self._arrivals = itertools.count()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = self._pool.submit(fn, *args, **kwargs)
        future.add_done_callback(_log_failure)
        return future

    def submit_heavy(self, kind: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run a slow job of `kind` (one of HEAVY_KINDS) on that kind's own pool."""
        future = self._heavy[kind].submit(fn, *args, **kwargs)
        future.add_done_callback(_log_failure)
        return future

    def submit_in_order(
        self,
        lane: Hashable,
        fn: Callable[..., Any],
        /,
        *args: Any,
        sent_at: float | None = None,
        **kwargs: Any,
    ) -> None:
        """Run `fn` in `lane`: one item at a time, the earliest `sent_at` (Slack's ts) first."""
        item = (time.time() if sent_at is None else sent_at, next(self._arrivals), (fn, args, kwargs))
        with self._lanes_lock:
            waiting = self._lanes.get(lane)
            if waiting is not None:
                heapq.heappush(waiting, item)
                return
            self._lanes[lane] = [item]
        self.submit(self._run_lane, lane)

    def _run_lane(self, lane: Hashable) -> None:
        time.sleep(GATHER_S)
        while True:
            with self._lanes_lock:
                waiting = self._lanes[lane]
                if not waiting:
                    del self._lanes[lane]
                    return
                _sent, _arrival, (fn, args, kwargs) = heapq.heappop(waiting)
            try:
                fn(*args, **kwargs)
            except Exception:
                log.exception("background work failed")

    def shutdown(self, wait: bool = True) -> None:
        for pool in (*self._heavy.values(), self._pool):
            pool.shutdown(wait=wait, cancel_futures=not wait)


def _log_failure(future: Future[Any]) -> None:
    if not future.cancelled() and (error := future.exception()) is not None:
        log.error("background work failed", exc_info=error)
