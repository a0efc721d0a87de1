"""Shared by the trainer benchmarks: run `python -m training` in a subprocess, time its events as they
arrive, and sample its peak memory (VmHWM: resident incl. mapped file pages; peak RssAnon: its own heap)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench_data import REPO


@dataclass
class TrainerRun:
    code: int
    events: list[dict]
    arrived: list[float]  # seconds after launch at which each event was read
    wall: float
    peak_rss_mb: float
    peak_anon_mb: float
    stderr: str = field(repr=False, default="")

    def first(self, kind: str) -> tuple[dict, float]:
        index = next(i for i, e in enumerate(self.events) if e["type"] == kind)
        return self.events[index], self.arrived[index]

    def steady_images_per_sec(self) -> float:
        """Training images/s over the epochs after the first (all when there is one), from `epoch` events."""
        start = self.first("start")[0]
        images = start["counts"]["train"]
        epochs = [images / e["images_per_sec"] for e in self.events if e["type"] == "epoch"]
        later = epochs[1:] or epochs
        return len(later) * images / sum(later)


def _memory_sampler(pid: int, peaks: dict[str, float], done: threading.Event) -> None:
    while not done.is_set():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmHWM", "RssAnon"):
                    peaks[key] = max(peaks.get(key, 0.0), int(value.split()[0]) / 1024)
        except (OSError, ValueError):
            pass
        done.wait(0.05)


def run_trainer(flags: list[str], stop_after: str | None = None, timeout: float = 3600) -> TrainerRun:
    """Launch the trainer; with `stop_after` (an event type) SIGTERM it as soon as that event arrives."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "training", *flags],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peaks: dict[str, float] = {}
    done = threading.Event()
    sampler = threading.Thread(target=_memory_sampler, args=(process.pid, peaks, done), daemon=True)
    sampler.start()
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.append(process.stderr.read()), daemon=True)
    reader.start()
    events, arrived = [], []
    for line in process.stdout:
        if not line.startswith("{"):
            continue
        events.append(json.loads(line))
        arrived.append(time.perf_counter() - started)
        if stop_after is not None and events[-1]["type"] == stop_after:
            process.send_signal(signal.SIGTERM)
            stop_after = None
    code = process.wait(timeout)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    reader.join()
    run = TrainerRun(
        code, events, arrived, wall, peaks.get("VmHWM", 0.0), peaks.get("RssAnon", 0.0), "".join(stderr)
    )
    if code not in (0, 5):
        raise SystemExit(f"trainer failed ({code}): {flags}\n{run.stderr[-3000:]}")
    return run
