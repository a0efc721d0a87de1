"""Follow one trainer: tail OUT/events.jsonl from a byte offset and notice when its job ends.

Tailing the file (not stdout) works the same for a run we just launched and for one re-attached
after a restart, and the offset stored with each applied event means nothing is applied twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from bot.runs.launcher import Job, JobState
from training.events import Event, MalformedEvent, is_terminal, parse_event

log = logging.getLogger(__name__)

ApplyEvent = Callable[[int, Event | None, int], None]  # (run_id, event or None for a bad line, new offset)
OnExit = Callable[[int, int | None, bool], None]  # (run_id, return code if known, saw a terminal event)
OnState = Callable[[int, JobState], None]  # (run_id, the live job's new state)


class EventTail:
    """Complete new lines of a growing file, from a byte offset. A partial last line waits."""

    def __init__(self, path: Path, offset: int) -> None:
        self.path = path
        self.offset = offset
        self._buffer = b""
        self._handle: BinaryIO | None = None

    def read_lines(self) -> list[tuple[bytes, int]]:
        """New complete lines, each with the offset just after it."""
        if self._handle is None:
            try:
                self._handle = self.path.open("rb")
            except FileNotFoundError:
                return []
            self._handle.seek(self.offset)
        chunk = self._handle.read()
        if not chunk:
            return []
        self._buffer += chunk
        lines: list[tuple[bytes, int]] = []
        position = self.offset
        *complete, self._buffer = self._buffer.split(b"\n")
        for line in complete:
            position += len(line) + 1
            lines.append((line, position))
        self.offset = position
        return lines

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class RunFollower:
    """A thread per handed-off trainer: applies its events in order, reports changes of its job's state
    (waiting in a scheduler's queue, started), then reports its exit once."""

    def __init__(
        self,
        run_id: int,
        tail: EventTail,
        process: Job,
        *,
        apply_event: ApplyEvent,
        on_exit: OnExit,
        poll_interval: float,
        exit_grace_seconds: float,
        on_state: OnState | None = None,
    ) -> None:
        self.run_id = run_id
        self.tail = tail
        self.process = process
        self._apply_event = apply_event
        self._on_exit = on_exit
        self._on_state = on_state
        self._state: JobState | None = None
        self._poll_interval = poll_interval
        self._exit_grace_seconds = exit_grace_seconds
        self._stop = threading.Event()
        self._terminal_at: float | None = None
        self._pending: deque[tuple[bytes, int]] = deque()
        self._thread = threading.Thread(target=self._run, name=f"run-{run_id}-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait: bool = True) -> None:
        """Stop following (the trainer keeps running)."""
        self._stop.set()
        if wait and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def drain(self) -> bool:
        """Apply every complete line written so far; True once a terminal event has been applied.

        A line leaves the pending queue only once applied, so a failed apply is retried next time."""
        self._pending.extend(self.tail.read_lines())
        while self._pending:
            line, offset = self._pending[0]
            self._apply_line(line, offset)
            self._pending.popleft()
        return self._terminal_at is not None

    def _apply_line(self, line: bytes, offset: int) -> None:
        if not line.strip():
            self._apply_event(self.run_id, None, offset)
            return
        try:
            event = parse_event(line)
        except MalformedEvent as exc:
            log.warning("run %s: skipping a malformed trainer line: %s", self.run_id, exc)
            self._apply_event(self.run_id, None, offset)
            return
        self._apply_event(self.run_id, event, offset)
        if is_terminal(event) and self._terminal_at is None:
            self._terminal_at = time.monotonic()

    def _report_state(self, state: JobState) -> None:
        assert self._on_state is not None
        try:
            self._on_state(self.run_id, state)
            self._state = state
        except Exception:
            log.exception("run %s: recording the job's state failed; retrying", self.run_id)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                state = self.process.state()
                if state.alive and state != self._state and self._on_state is not None:
                    self._report_state(state)
                try:
                    saw_terminal = self.drain()
                except Exception:
                    # a database hiccup must not end the follower, nor report the exit before the final
                    # event is recorded: the line stays pending and is retried
                    log.exception("run %s: applying trainer events failed; retrying", self.run_id)
                    self._stop.wait(self._poll_interval)
                    continue
                if not state.alive:
                    self._on_exit(self.run_id, state.returncode, saw_terminal)
                    return
                if saw_terminal and time.monotonic() - (self._terminal_at or 0) > self._exit_grace_seconds:
                    log.warning("run %s: trainer still alive after its final event; killing it", self.run_id)
                    self.process.kill()
                self._stop.wait(self._poll_interval)
        finally:
            self.tail.close()
