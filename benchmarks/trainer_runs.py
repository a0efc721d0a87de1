"""Shared by the trainer benchmarks: run `python -m training` in a subprocess, time its events as they
arrive, and sample its peak memory (VmHWM: resident incl. mapped file pages; peak RssAnon: its own heap).
run_warm() does the same through the bot's local backend with a warm spare, as a Start click does."""

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

from bot.runs.launcher import LaunchSpec
from bot.runs.process import LocalLauncher, proc_stat
from training.contract import EVENTS_FILE


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


def _cpu_ticks(pid: int) -> int:
    fields = proc_stat(pid)
    assert fields is not None, "the spare died"
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def _wait_until_idle(pid: int) -> None:
    """Until the spare has done its imports and waits on stdin, as one does long before a user's Start."""
    last = -1
    while (ticks := _cpu_ticks(pid)) != last:
        last = ticks
        time.sleep(1.0)


def run_warm(flags: list[str], out: Path, stop_after: str | None, timeout: float = 3600) -> TrainerRun:
    """The run handed to an idle warm spare by the bot's LocalLauncher, timed from submit() to each event
    as it reaches OUT/events.jsonl (the bot reads that file, not stdout) and to its exit; with
    `stop_after` (an event type) SIGTERM it as soon as that event arrives."""
    launcher = LocalLauncher()
    trainer = [sys.executable, "-m", "training"]
    launcher.prepare(trainer)
    assert launcher.spare is not None
    _wait_until_idle(launcher.spare.pid)
    out.mkdir(parents=True)
    started = time.perf_counter()
    job = launcher.submit(LaunchSpec(run_id=0, args=[*trainer, *flags, "--out", str(out)], output_dir=out))
    launcher.close()  # ends only the next spare, which would compete for the CPU
    peaks: dict[str, float] = {}
    done = threading.Event()
    assert job.pid is not None
    sampler = threading.Thread(target=_memory_sampler, args=(job.pid, peaks, done), daemon=True)
    sampler.start()
    events, arrived, seen = [], [], 0
    deadline = started + timeout
    running = True
    while running and time.perf_counter() < deadline:
        running = job.is_running()  # before reading, so the last read sees every event
        lines = (out / EVENTS_FILE).read_text().splitlines() if (out / EVENTS_FILE).exists() else []
        for line in lines[seen:]:
            events.append(json.loads(line))
            arrived.append(time.perf_counter() - started)
            if events[-1]["type"] == stop_after:
                job.terminate(grace_seconds=60)
        seen = len(lines)
        time.sleep(0.01)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    code = job.returncode if job.returncode is not None else -1
    run = TrainerRun(code, events, arrived, wall, peaks.get("VmHWM", 0.0), peaks.get("RssAnon", 0.0))
    if code not in (0, 5):
        raise SystemExit(f"warm trainer failed ({code}): {flags}\n{(out / 'stderr.log').read_text()[-3000:]}")
    return run
