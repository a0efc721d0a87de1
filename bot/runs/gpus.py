"""The GPUs runs may use: read once when the manager starts (and again on demand), never under its lock.

Reading them can mean running nvidia-smi, which may take seconds on a busy host.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from bot.settings import visible_gpu_indices


class GpuInventory:
    def __init__(self, read: Callable[[], list[str]] = visible_gpu_indices) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._indices: tuple[str, ...] | None = None

    def refresh(self) -> tuple[str, ...]:
        """Read the GPUs again (slow: call it outside any other lock)."""
        indices = tuple(self._read())
        with self._lock:
            self._indices = indices
        return indices

    @property
    def indices(self) -> tuple[str, ...]:
        """The GPUs from the last read (read now if there was none yet)."""
        with self._lock:
            indices = self._indices
        return self.refresh() if indices is None else indices

    def pick(self, in_use: Sequence[str | None]) -> str | None:
        """The GPU with the fewest runs on it (None without GPUs)."""
        if not self.indices:
            return None
        return min(self.indices, key=list(in_use).count)
