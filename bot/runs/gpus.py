"""The GPUs runs may use: read once when the manager starts (and again on demand), never under its lock.
Reading them can mean running nvidia-smi, which may take seconds on a busy host.

A GPU no run holds may be lent to a prediction worker; a run that is given it takes it back first (the
borrower stops using it), so a trainer and a prediction worker never share a GPU.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Collection, Sequence

from bot.settings import visible_gpu_indices

TakeBack = Callable[[str], None]  # called with the GPU a run needs; returns once the borrower let go of it


class GpuInventory:
    def __init__(self, read: Callable[[], list[str]] = visible_gpu_indices) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._indices: tuple[str, ...] | None = None
        self._lent: dict[str, TakeBack] = {}

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
        with self._lock:
            lent = set(self._lent)
        # among GPUs as busy with runs, one not lent: taking a GPU back stops a prediction worker
        chosen = set(sorted(self.indices, key=lambda index: (load[index], index in lent))[:count])
        return ",".join(index for index in self.indices if index in chosen)

    def lend(self, in_use: Collection[str], take_back: TakeBack) -> str | None:
        """A GPU that no run (`in_use`) holds and nobody borrowed, lent until given back, or until a run
        needs it: then `take_back(gpu)` is called. None when there is no such GPU."""
        free = [index for index in self.indices if index not in in_use]
        with self._lock:
            gpu = next((index for index in free if index not in self._lent), None)
            if gpu is not None:
                self._lent[gpu] = take_back
        return gpu

    def give_back(self, gpu: str) -> None:
        with self._lock:
            self._lent.pop(gpu, None)

    def take_back(self, gpus: str | None) -> None:
        """Before a run starts on `gpus` ("0,1"): each of them that is lent is taken back from its
        borrower (slow: it waits for the borrower; call it outside any other lock)."""
        with self._lock:
            taken = [(gpu, self._lent.pop(gpu)) for gpu in (gpus or "").split(",") if gpu in self._lent]
        for gpu, take_back in taken:
            take_back(gpu)
