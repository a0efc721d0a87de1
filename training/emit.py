"""Event output: one JSON line on stdout (flushed at once), also appended to OUT/events.jsonl."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from training.contract import EVENTS_FILE
from training.events import Event, PreparingEvent, PreparingPhase

PREPARING_SECONDS = 0.25  # `preparing` events: at most ~4 per second


class EventWriter:
    def __init__(self, out_dir: Path | None, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._log_path = out_dir / EVENTS_FILE if out_dir is not None else None
        self._lock = threading.Lock()  # events may come from more than one thread (decoding, model building)
        self.emitted: list[Event] = []

    def emit(self, event: Event) -> None:
        line = event.to_json_line()
        with self._lock:
            stream = self._stream or sys.stdout  # looked up late so pytest's capture sees it
            stream.write(line)
            stream.flush()
            if self._log_path is not None:
                self._log_path.parent.mkdir(parents=True, exist_ok=True)
                with self._log_path.open("a", encoding="utf-8") as handle:
                    handle.write(line)
            self.emitted.append(event)


class SilentWriter(EventWriter):
    """The writer of every rank but rank 0 of a multi-GPU run: rank 0 alone tells the bot."""

    def __init__(self) -> None:
        super().__init__(None)

    def emit(self, event: Event) -> None:
        pass


class PreparingReporter:
    """Throttled `preparing` events: the first of a phase and a phase's last count (done == total) always
    go out; in between at most one per `interval` seconds, so reporting every image costs nothing."""

    def __init__(
        self,
        writer: EventWriter,
        interval: float = PREPARING_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._writer, self._interval, self._clock = writer, interval, clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}  # phase -> when its latest event went out

    def report(
        self, phase: PreparingPhase, done: int = 0, total: int = 0, message: str | None = None
    ) -> None:
        with self._lock:  # held while emitting, so the events of a phase go out in the order reported
            now, last = self._clock(), self._last.get(phase)
            if last is not None and now - last < self._interval and not (total and done >= total):
                return
            self._last[phase] = now
            self._writer.emit(PreparingEvent(phase=phase, done=done, total=total, message=message))

    def counter(self, phase: PreparingPhase, total: int) -> Callable[[int], None]:
        """A callback for work done in steps: call it with how many items each step finished."""
        done = 0
        lock = threading.Lock()

        def advance(count: int = 1) -> None:
            nonlocal done
            with lock:
                done += count
                self.report(phase, done, total)

        return advance
