"""The CPU cores the bot hands out, as it hands out GPUs: every run, prediction and export worker gets a
share, set as the process's affinity when it starts, so none of them oversubscribes a core another holds.

The cores are the bot's own (its affinity, trimmed to its cgroup's CPU quota), less the first
CPU_CORES_RESERVED ones, kept for the bot itself and the system. On a GPU host each GPU slot owns an
equal block of them; on a CPU host a starting run gets an even part of the cores no run holds yet (the
free cores over the free run slots). A helper (a prediction or export worker) gets the cores no run
holds, else the reserved ones, else (every core busy, none reserved) all of them. The warm spare is not
given a share: it imports at the lowest priority (training/warm.py) and takes its run's share when it
becomes that run.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from training.cpus import affinity, cgroup_cpu_limit

log = logging.getLogger(__name__)

Share = tuple[int, ...]


def usable_cpus() -> list[int]:
    """This process's cores, no more than its cgroup's CPU quota allows (a quota of 4 CPUs on a 16-core
    host: the first 4): jobs spread over more cores than the quota pays for are throttled in bursts."""
    cores = affinity()
    quota = cgroup_cpu_limit()
    return cores[: max(1, math.floor(quota))] if quota is not None else cores


def set_affinity(pid: int, cores: Iterable[int]) -> None:
    """Put every thread of `pid` on `cores` (threads it starts later inherit it). A process that has
    already exited is left alone."""
    wanted = set(cores)
    try:
        threads = [int(name) for name in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return
    for thread in threads:
        try:
            os.sched_setaffinity(thread, wanted)
        except ProcessLookupError:
            continue


def affinity_of(pid: int) -> Share | None:
    """The cores `pid` runs on, or None when it is gone."""
    try:
        return tuple(sorted(os.sched_getaffinity(pid)))
    except OSError:
        return None


def cores_text(cores: Sequence[int]) -> str:
    """The compact list form (`0-3,8`), as taskset and /proc/PID/status write it."""
    parts: list[str] = []
    for core in sorted(cores):
        if parts and core == int(parts[-1].rpartition("-")[2]) + 1:
            parts[-1] = f"{parts[-1].partition('-')[0]}-{core}"
        else:
            parts.append(str(core))
    return ",".join(parts)


def allowed_list(pid: int) -> str:
    """`Cpus_allowed_list` of /proc/PID/status ("" when the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return ""
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("Cpus_allowed_list")), "")


class CpuInventory:
    def __init__(self, read: Callable[[], list[int]] = usable_cpus, reserved: int = 0) -> None:
        self._read = read
        self._reserved = reserved
        self._lock = threading.Lock()
        self._cores: list[int] | None = None

    def refresh(self) -> list[int]:
        cores = sorted(self._read())
        if self._reserved >= len(cores):
            log.warning(
                "CPU_CORES_RESERVED=%s leaves none of the %s usable core(s) to runs; they get the last one",
                self._reserved, len(cores),
            )  # fmt: skip
        with self._lock:
            self._cores = cores
        return cores

    def _all(self) -> list[int]:
        with self._lock:
            cores = self._cores
        return self.refresh() if cores is None else cores

    @property
    def reserved(self) -> Share:
        """The cores kept for the bot and the system (CPU_CORES_RESERVED)."""
        cores = self._all()
        return tuple(cores[: min(self._reserved, len(cores) - 1)])

    @property
    def cores(self) -> Share:
        """The cores runs and workers may be given."""
        cores = self._all()
        return tuple(cores[min(self._reserved, len(cores) - 1) :])

    def split(self, parts: int) -> list[Share]:
        """The cores in `parts` contiguous blocks as even as can be; with more parts than cores, blocks
        of one core, shared round the parts."""
        cores = self.cores
        if parts >= len(cores):
            return [(cores[index % len(cores)],) for index in range(parts)]
        bounds = [round(index * len(cores) / parts) for index in range(parts + 1)]
        return [cores[bounds[index] : bounds[index + 1]] for index in range(parts)]

    def for_run(self, gpu: str | None, gpus: Sequence[str], held: Sequence[Share], slots: int) -> Share:
        """The share of a run starting now. `gpu`: its CUDA_VISIBLE_DEVICES among `gpus` (the host's), or
        None on the CPU; `held`: the shares of the runs already running; `slots`: runs at once."""
        indices = gpu.split(",") if gpu else []
        if indices and all(index in gpus for index in indices):
            blocks = self.split(len(gpus))
            return tuple(sorted({core for index in indices for core in blocks[gpus.index(index)]}))
        cores = self.cores
        holders = Counter(core for share in held for core in share)
        free = [core for core in cores if not holders[core]]
        open_slots = max(1, slots - len(held))
        count = max(1, len(free) // open_slots) if free else max(1, len(cores) // max(1, slots))
        # the free cores first, then the least held ones, each in order
        ranked = sorted(cores, key=lambda core: (holders[core], cores.index(core)))
        return tuple(sorted(ranked[:count]))

    def for_helper(self, held: Sequence[Share]) -> Share:
        """The share of a prediction or export worker starting now, while runs hold `held`."""
        taken = {core for share in held for core in share}
        free = tuple(core for core in self.cores if core not in taken)
        return free or self.reserved or self.cores
