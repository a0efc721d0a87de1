"""Run manager figures, with the fake trainer (tests/fake_trainer.py), no torch:

1. event-to-subscriber latency: from each event's `time` (set by the trainer as it writes the line)
   to the subscriber callback, p50 / p95 / max;
2. the cost of following an idle run (a trainer that sends nothing): manager CPU while it polls;
3. manager overhead with N queued runs: time to submit N, manager CPU and RSS while they queue and
   run through one at a time, and the gap between one trainer ending and the next starting.

Usage: .venv/bin/python benchmarks/run_events_latency.py [--runs 20] [--poll-interval 0.02]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import itertools

from bot.runs import RunManager, RunUpdate
from bot.storage import Database, RunStatus
from tests.runs_support import fake_command, make_request, make_settings, managers, wait_until


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # this process only: the trainers are children
    return usage.ru_utime + usage.ru_stime


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def start_manager(root: Path, db: Database, poll_interval: float, *flags: str) -> RunManager:
    manager = RunManager(
        db, make_settings(root), trainer_command=fake_command(*flags), poll_interval=poll_interval
    )
    manager.start()
    return manager


def measure_latency(root: Path, poll_interval: float) -> dict[str, float]:
    db = Database(f"sqlite:///{root / 'latency.db'}")
    db.create_all()
    latencies: list[float] = []
    lock = threading.Lock()

    def on_update(update: RunUpdate) -> None:
        if update.event is not None:
            with lock:
                latencies.append(time.time() - update.event.time)

    with managers(db) as created:
        manager = start_manager(root / "latency", db, poll_interval, "--epoch-seconds", "0.1")
        created.append(manager)
        manager.subscribe(on_update)
        run = manager.submit(make_request("latency", epochs=40))
        wait_until(lambda: manager.get(run.id).status == RunStatus.COMPLETED, timeout=120)
        time.sleep(0.2)
    ms = [value * 1000 for value in latencies]
    return {
        "events": len(ms),
        "p50_ms": statistics.median(ms),
        "p95_ms": percentile(ms, 0.95),
        "max_ms": max(ms),
    }


def measure_idle_follow(root: Path, poll_interval: float, seconds: float = 5.0) -> dict[str, float]:
    db = Database(f"sqlite:///{root / 'idle.db'}")
    db.create_all()
    with managers(db) as created:
        manager = start_manager(root / "idle", db, poll_interval, "--mode", "hang")
        created.append(manager)
        run = manager.submit(make_request("idle", epochs=1))
        wait_until(lambda: manager.get(run.id).status == RunStatus.RUNNING)
        time.sleep(0.5)
        before = cpu_seconds()
        time.sleep(seconds)
        used = cpu_seconds() - before
        manager.stop(run.id, "UOWNER")
        wait_until(lambda: manager.get(run.id).status == RunStatus.STOPPED)
    return {"idle_follow_cpu_percent": 100 * used / seconds}


def measure_queue(root: Path, runs: int, poll_interval: float) -> dict[str, float]:
    db = Database(f"sqlite:///{root / 'queue.db'}")
    db.create_all()
    with managers(db) as created:
        manager = start_manager(root / "queue", db, poll_interval, "--epoch-seconds", "0.05")
        created.append(manager)
        finished_ids: set[int] = set()
        all_finished = threading.Event()

        def on_update(update: RunUpdate) -> None:  # waits without polling the manager
            if update.run.status.is_terminal:
                finished_ids.add(update.run.id)
                if len(finished_ids) == runs:
                    all_finished.set()

        manager.subscribe(on_update)
        rss_before = rss_mib()
        cpu_before = cpu_seconds()
        wall_before = time.perf_counter()
        views = [manager.submit(make_request(f"queued-{n}", epochs=2)) for n in range(runs)]
        submit_seconds = time.perf_counter() - wall_before
        peak_rss = rss_mib()
        while not all_finished.wait(0.5):
            peak_rss = max(peak_rss, rss_mib())
        wall = time.perf_counter() - wall_before
        cpu = cpu_seconds() - cpu_before
        finished = [manager.get(view.id) for view in views]
    gaps = [
        (later.started_at - earlier.completed_at).total_seconds()
        for earlier, later in itertools.pairwise(finished)
        if later.started_at and earlier.completed_at
    ]
    return {
        "runs": runs,
        "completed": sum(view.status == RunStatus.COMPLETED for view in finished),
        "submit_total_ms": submit_seconds * 1000,
        "submit_each_ms": submit_seconds * 1000 / runs,
        "wall_seconds": wall,
        "manager_cpu_seconds": cpu,
        "manager_cpu_percent": 100 * cpu / wall,
        "rss_before_mib": rss_before,
        "rss_peak_mib": peak_rss,
        "handoff_gap_ms_median": statistics.median(gaps) * 1000,
        "handoff_gap_ms_max": max(gaps) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--poll-interval", type=float, default=0.02)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, figures in (
            ("latency", measure_latency(root, args.poll_interval)),
            ("idle follow", measure_idle_follow(root, args.poll_interval)),
            (f"{args.runs} queued runs", measure_queue(root, args.runs, args.poll_interval)),
        ):
            print(f"{name}:")
            for key, value in figures.items():
                print(f"  {key}: {value:.2f}" if isinstance(value, float) else f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
