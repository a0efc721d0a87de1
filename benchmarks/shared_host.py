"""The same training job alone and on a shared host, side by side in one run (rounds alternate, so the
host's own background load hits every case alike):

  alone          the trainer on all the cores
  alone, half    the trainer pinned to the half of the cores a neighbour leaves (the speed to keep)
  neighbour      a CPU-bound neighbour holds the other half; the trainer as it is now (all cores allowed:
                 it sees the load at start, and its OpenMP threads wait passively)
  neighbour, before  the same, with the trainer as it was: one compute thread per allowed core, OpenMP's
                 default spin-waiting (`--threads N`, OMP_WAIT_POLICY left to libgomp's default)
  spare importing    alone, while the bot's warm spare (`python -m training.warm`) imports again and again
  two runs       two trainers at once, each on the half of the cores the bot's CPU inventory gives it

    python benchmarks/shared_host.py [--data DIR] [--model resnet18] [--image-size 64]
        [--batch-size 16] [--epochs 3] [--repeats 2]

Reported: steady training img/s (epochs after the first, from the `epoch` events), best of the repeats,
and the ratios the targets are set on: neighbour / alone-half (≥ 0.8), neighbour / before (≥ 2).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from bench_data import REPO, ensure_dataset
from trainer_runs import TrainerRun, run_trainer

from bot.runs.cpus import CpuInventory

# busy on one core until its parent (this script) is gone, even when the script is killed
HOG = "import os, sys\nos.sched_setaffinity(0, {int(sys.argv[1])})\nparent = int(sys.argv[2])\n" + (
    "while os.getppid() == parent: pass\n"
)
# an invalid value: libgomp warns once and keeps its default (spin, then sleep): the trainer before
DEFAULT_WAIT_POLICY = {"OMP_WAIT_POLICY": ""}


@contextlib.contextmanager
def pinned(cpus: set[int]) -> Iterator[None]:
    """This process (and so the trainers it starts) on `cpus` for a while."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def neighbour(cpus: list[int]) -> Iterator[None]:
    """One CPU-bound process pinned to each of `cpus`."""
    hogs = [subprocess.Popen([sys.executable, "-c", HOG, str(cpu), str(os.getpid())]) for cpu in cpus]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


@contextlib.contextmanager
def spare_importing() -> Iterator[None]:
    """The warm spare importing, again as soon as it is done (stdin at its end: it exits after them)."""
    done = threading.Event()

    def loop() -> None:
        while not done.is_set():
            spare = subprocess.Popen(
                [sys.executable, "-m", "training.warm"], cwd=REPO, stdin=subprocess.DEVNULL
            )
            while spare.poll() is None and not done.wait(0.1):
                pass
            spare.kill()
            spare.wait()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def flags(args: argparse.Namespace, out: Path) -> list[str]:
    return ["--data", str(args.data), "--model", args.model, "--no-pretrained", "--epochs", str(args.epochs),
            "--batch-size", str(args.batch_size), "--image-size", str(args.image_size), "--device", "cpu",
            "--seed", "0", "--no-onnx", "--cache-dir", str(out.parent / "cache"),
            "--out", str(out)]  # fmt: skip


def two_runs(args: argparse.Namespace, work: Path, shares: list[tuple[int, ...]]) -> list[TrainerRun]:
    """Two trainers at once, each started on its share of the cores."""
    results: list[TrainerRun] = [None, None]  # type: ignore[list-item]

    def one(index: int) -> None:
        results[index] = run_trainer(flags(args, work / f"two-{index}"))

    threads = []
    for index, share in enumerate(shares):
        with pinned(set(share)):  # the child takes the affinity it is started with
            thread = threading.Thread(target=one, args=(index,))
            thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    args.data = ensure_dataset(args.data)
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise SystemExit("needs at least 2 cores")
    kept, taken = cores[: len(cores) // 2], cores[len(cores) // 2 :]
    shares = CpuInventory(lambda: cores).split(2)
    before_flags = {"--threads": str(len(cores))}

    cases: dict[str, Callable[[Path], float]] = {
        "alone": lambda out: run_trainer(flags(args, out)).steady_images_per_sec(),
        "alone, half": lambda out: half(out),
        "neighbour": lambda out: with_neighbour(out, {}),
        "neighbour, before": lambda out: with_neighbour(out, before_flags),
        "spare importing": lambda out: importing(out),
    }

    def half(out: Path) -> float:
        with pinned(set(kept)):
            return run_trainer(flags(args, out)).steady_images_per_sec()

    def with_neighbour(out: Path, extra: dict[str, str]) -> float:
        env = DEFAULT_WAIT_POLICY if extra else {}
        command = flags(args, out) + [item for pair in extra.items() for item in pair]
        with neighbour(taken), environment(env):
            return run_trainer(command).steady_images_per_sec()

    def importing(out: Path) -> float:
        with spare_importing():
            return run_trainer(flags(args, out)).steady_images_per_sec()

    results: dict[str, list[float]] = {name: [] for name in [*cases, "two runs (each)"]}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run_trainer(flags(args, work / "warm-cache"))  # writes the decoded cache every case then maps
        for repeat in range(args.repeats):
            for name, case in cases.items():
                results[name].append(case(work / f"{name}-{repeat}".replace(" ", "_").replace(",", "")))
                print(f"{name}: {results[name][-1]:.1f} img/s", flush=True)
            pair = two_runs(args, work / f"pair-{repeat}", shares)
            results["two runs (each)"].append(min(run.steady_images_per_sec() for run in pair))
            print(f"two runs: {[round(run.steady_images_per_sec(), 1) for run in pair]} img/s", flush=True)

    report(args, len(cores), results)


def report(args: argparse.Namespace, cores: int, results: dict[str, list[float]]) -> None:
    best = {name: max(values) for name, values in results.items()}
    job = f"{args.model}, {args.image_size} px, batch {args.batch_size}"
    print(f"\n{job}, {cores} cores, best of {args.repeats}")
    print("| case | img/s | all runs |\n|---|---|---|")
    for name, values in results.items():
        print(f"| {name} | {best[name]:.1f} | {', '.join(f'{v:.1f}' for v in values)} |")
    ratios = {
        "neighbour / alone on the cores left (target ≥ 0.8)": ("neighbour", "alone, half"),
        "neighbour / before (target ≥ 2)": ("neighbour", "neighbour, before"),
        "spare importing / alone": ("spare importing", "alone"),
        "two runs, the slower / alone on half the cores": ("two runs (each)", "alone, half"),
    }
    for label, (top, bottom) in ratios.items():
        print(f"{label}: {best[top] / best[bottom]:.2f}")


if __name__ == "__main__":
    main()
