"""Event output: one JSON line on stdout (flushed at once), also appended to OUT/events.jsonl."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from training.contract import EVENTS_FILE
from training.events import Event


class EventWriter:
    def __init__(self, out_dir: Path | None, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._log_path = out_dir / EVENTS_FILE if out_dir is not None else None
        self.emitted: list[Event] = []

    def emit(self, event: Event) -> None:
        line = event.to_json_line()
        stream = self._stream or sys.stdout  # looked up late so pytest's capture sees it
        stream.write(line)
        stream.flush()
        if self._log_path is not None:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            with self._log_path.open("a", encoding="utf-8") as handle:
                handle.write(line)
        self.emitted.append(event)
