"""The GPUs runs may use: read once when the manager starts (and again on demand), never under its lock.

Reading them can mean running nvidia-smi, which may take seconds on a busy host.
"""

from __future__ import annotations

import threading
from collections import Counter
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

    def pick(self, in_use: Sequence[str | None], count: int = 1) -> str | None:
        """The `count` GPUs with the fewest runs on them, as CUDA_VISIBLE_DEVICES ("0,1"); None without
        GPUs. `in_use` holds what running runs were given (one GPU, or several joined by commas)."""
        if not self.indices:
            return None
        load = Counter(index for given in in_use if given for index in given.split(","))
        chosen = set(sorted(self.indices, key=lambda index: load[index])[:count])
        return ",".join(index for index in self.indices if index in chosen)
