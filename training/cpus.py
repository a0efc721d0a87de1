"""The CPUs a process may use, and how many threads a run puts on them.

Torch-free: the bot's CPU inventory (bot/runs/cpus.py) reads the same limits. What bounds a process:
its affinity mask (taskset, a cpuset cgroup, the bot's share, Slurm's task/affinity), a CPU quota
(cgroup cpu.max, or cpu.cfs_quota_us under cgroup v1), and a Slurm job's CPU count. On top of that the
trainer looks at the load on its CPUs for a moment at start: OpenMP threads that find their core taken
stall every step for all the others (one epoch measured 18x slower with one of two cores busy).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from training.events import ThreadPlan, ThreadReason

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")
PROC_STAT = Path("/proc/stat")
LOAD_SAMPLE_S = 0.2  # how long the trainer looks at its CPUs' load at start
# /proc/stat columns that count as another process holding a core: user, system, irq, softirq, steal.
# `nice` is left out on purpose: niced work (the bot's warm spare importing) yields to a run.
BUSY_COLUMNS = (0, 2, 5, 6, 7)


def affinity(pid: int = 0) -> list[int]:
    """The CPUs `pid` (0: this process) may run on, in order."""
    return sorted(os.sched_getaffinity(pid))


def _cgroup_paths(proc_cgroup: Path) -> dict[str, str]:
    """Controller ("" for cgroup v2) -> this process's cgroup path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def _quota(folder: Path) -> float | None:
    """CPUs' worth of time a cgroup folder allows, or None without a limit there."""
    try:
        quota, _, period = (folder / "cpu.max").read_text().partition(" ")
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((folder / "cpu.cfs_quota_us").read_text())
        period_us = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """The tightest CPU quota on this process's cgroup and its parents (v2 cpu.max, or v1 cpu.cfs_*), in
    CPUs (1.5 = one and a half cores' time); None without one. Inside a container the cgroup's own folder
    is often mounted at `root` itself, so `root` counts too."""
    paths = _cgroup_paths(proc_cgroup)
    candidates = [(root, paths.get(""))]
    candidates += [(root / name, paths.get("cpu")) for name in ("cpu", "cpu,cpuacct")]
    limits: list[float] = []
    for base, path in candidates:
        parts = Path(path or "/").parts[1:]
        for depth in range(len(parts) + 1):
            found = _quota(base.joinpath(*parts[:depth]))
            if found is not None:
                limits.append(found)
    return min(limits, default=None)


def slurm_cpus(environ: Mapping[str, str] = os.environ) -> int | None:
    """The CPUs a Slurm job step may use: SLURM_CPUS_PER_TASK, else --cpus-per-gpu times the GPUs on this
    node; None outside a Slurm job or when the job did not ask for a count."""
    if "SLURM_JOB_ID" not in environ:
        return None
    try:
        if "SLURM_CPUS_PER_TASK" in environ:
            return max(1, int(environ["SLURM_CPUS_PER_TASK"]))
        if "SLURM_CPUS_PER_GPU" in environ:
            gpus = environ.get("SLURM_GPUS_ON_NODE") or "1"
            return max(1, int(environ["SLURM_CPUS_PER_GPU"]) * int(gpus))
    except ValueError:
        return None
    return None


def _busy_ticks(cpus: Sequence[int], stat: Path) -> int:
    """Ticks the given CPUs spent on non-niced work since boot, from /proc/stat."""
    wanted = {f"cpu{cpu}" for cpu in cpus}
    total = 0
    for line in stat.read_text().splitlines():
        name, *values = line.split()
        if name in wanted:
            total += sum(int(values[column]) for column in BUSY_COLUMNS if column < len(values))
    return total


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


def other_load(
    cpus: Sequence[int],
    seconds: float = LOAD_SAMPLE_S,
    stat: Path = PROC_STAT,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> float:
    """How many of `cpus` other processes kept busy over `seconds` (1.0 = one core's worth), this process's
    own CPU time taken out. 0.0 when /proc/stat cannot be read."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        busy_before, own_before, started = _busy_ticks(cpus, stat), _own_seconds(), clock()
        sleep(seconds)
        busy_after, own_after, elapsed = _busy_ticks(cpus, stat), _own_seconds(), clock() - started
    except (OSError, ValueError):
        return 0.0
    others = (busy_after - busy_before) / ticks - (own_after - own_before)
    return max(0.0, others / max(elapsed, 1e-3))


def plan_threads(
    requested: int | None,
    workers: int | None,
    *,
    cpus: int,
    quota: float | None = None,
    slurm: int | None = None,
    busy: float = 0.0,
) -> ThreadPlan:
    """Threads for a run allowed `cpus` CPUs under a `quota` (CPUs) and a Slurm count, with `busy` CPUs'
    worth of other work seen on them; `requested` (--threads) and `workers` (--workers) win when given."""
    limits: list[tuple[int, ThreadReason, str]] = [(cpus, "cpus", f"{cpus} CPU(s) allowed")]
    if quota is not None:
        limits.append((max(1, math.floor(quota)), "cgroup", f"a CPU quota of {quota:g} CPUs"))
    if slurm is not None:
        limits.append((slurm, "slurm", f"{slurm} CPU(s) in the Slurm allocation"))
    cap, reason, detail = min(limits, key=lambda limit: limit[0])
    free = max(1, round(cpus - busy))
    if free < cap:
        cap, reason = free, "load"
        detail = f"{cpus} CPU(s) allowed, {busy:.1f} busy with other work at start"
    if requested is not None:
        cap, reason, detail = requested, "flag", f"--threads {requested}"
    interop = max(1, min(4, cap // 4))
    return ThreadPlan(
        compute=cap,
        interop=interop,
        decode=workers or cap,
        cpus=cpus,
        busy=round(busy, 2),
        reason=reason,
        detail=detail,
    )


def host_plan(requested: int | None, workers: int | None) -> ThreadPlan:
    """plan_threads for this process, from its affinity, cgroup, Slurm job and the load now (the load is
    not sampled when --threads says the count)."""
    allowed = affinity()
    busy = other_load(allowed) if requested is None else 0.0
    return plan_threads(
        requested, workers, cpus=len(allowed), quota=cgroup_cpu_limit(), slurm=slurm_cpus(), busy=busy
    )
