"""The one way tests wait: on a condition, never for a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def wait_until(
    condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02, what: str = "condition"
) -> Any:
    """Poll `condition` until it is truthy and return its value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(interval)


def process_gone(pid: int) -> bool:
    """The process has ended: no such process, or a zombie its parent has not reaped yet. A thread-group
    leader shows as a zombie as soon as its own thread exits, while its other threads may still be dying
    (a killed warm spare's niced import thread): ended means no thread is left but the leader."""
    try:
        zombie = "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
        return zombie and len(list(Path(f"/proc/{pid}/task").iterdir())) <= 1
    except FileNotFoundError:
        return True
