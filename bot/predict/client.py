"""Prediction workers (`python -m training.serve`) seen from the bot: start, ask, keep warm, stop.

One worker per device at most: one on the CPU, and one on a GPU the run manager lends (one no training
run holds; requests go to the CPU worker when there is none). A training run that needs the lent GPU
takes it back: its worker stops, and later requests go elsewhere. A worker loads each model once and
stays up for `idle_seconds` after its last request. A CPU worker's address space is capped at
`memory_mb` (RLIMIT_AS; CUDA needs a large virtual space, so GPU workers are not capped): a model that
does not fit fails with a clear message instead of pushing the bot's host into swap. A worker starts on
the cores the run manager gives helpers (`cpus`: those no run holds, when there are any; bot/runs/cpus.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from bot.child_env import child_environment
from bot.predict.files import Accepted, Problem
from bot.runs.cpus import set_affinity

log = logging.getLogger(__name__)

IDLE_SECONDS = 600.0
MEMORY_MB = 8192
START_TIMEOUT_S = 120.0  # importing torch and timm on a cold, busy host
REQUEST_TIMEOUT_S = 300.0  # the first request also loads the model


class PredictError(Exception):
    """The worker could not answer at all. `code`: no_model | worker_failed | timeout | internal."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class GpuLender(Protocol):
    """Where prediction workers get a GPU: the run manager (bot/runs/gpus.py)."""

    def lend_gpu(self, take_back: Callable[[str], None]) -> str | None: ...

    def give_back_gpu(self, gpu: str) -> None: ...


@dataclass(frozen=True)
class ImageResult:
    name: str
    top: list[tuple[str, float]]  # (class, probability), most likely first


class Box(BaseModel):
    """One box a detector found (training/detection/predict.py's JSON): in the image's own pixels."""

    label: str = Field(alias="class")
    score: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2


@dataclass(frozen=True)
class DetectionResult:
    name: str
    boxes: list[Box]  # best first, at or above the threshold asked for
    drawn: Path | None  # the image with its boxes drawn, when a folder was given


class _Worker:
    def __init__(
        self,
        command: Sequence[str],
        device: str,
        gpu: str | None,
        memory_mb: int | None,
        cpus: Sequence[int] | None = None,
    ) -> None:
        env = child_environment({"CUDA_VISIBLE_DEVICES": gpu} if gpu is not None else None)
        self.device = device
        self.process = subprocess.Popen(
            [*command, "--device", device],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # a Ctrl+C in the console reaches the bot, not the worker
        )
        if cpus:
            set_affinity(self.process.pid, cpus)
        if memory_mb is not None and device == "cpu":
            limit = memory_mb * 1024 * 1024
            with contextlib.suppress(OSError, ValueError):  # it may already have exited
                resource.prlimit(self.process.pid, resource.RLIMIT_AS, (limit, limit))
        self.lock = threading.Lock()
        self.last_used = time.monotonic()
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, name=f"predict-{device}", daemon=True).start()
        self._next_id = 0
        ready = self._reply(START_TIMEOUT_S)
        if not ready.get("ready"):
            raise PredictError("worker_failed", str(ready))

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _reply(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise PredictError("timeout", f"no answer from the worker in {timeout:.0f}s") from None
        if line is None:
            self.process.wait(timeout=5)
            raise PredictError("worker_failed", f"the worker exited ({self.process.returncode})")
        return json.loads(line)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self._next_id += 1
        request = {"id": self._next_id, **request}
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except OSError as exc:
            raise PredictError("worker_failed", str(exc)) from exc
        reply = self._reply(REQUEST_TIMEOUT_S)
        self.last_used = time.monotonic()
        return reply

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # the worker's loop ends at EOF
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


class PredictService:
    def __init__(
        self,
        *,
        command: Sequence[str] | None = None,
        gpus: GpuLender | None = None,
        idle_seconds: float = IDLE_SECONDS,
        memory_mb: int | None = MEMORY_MB,
        cpus: Callable[[], Sequence[int]] | None = None,
    ) -> None:
        self._command = list(command or [sys.executable, "-m", "training.serve"])
        self._gpus = gpus
        self._idle_seconds = idle_seconds
        self._memory_mb = memory_mb
        self._cpus = cpus
        self._workers: dict[str, _Worker] = {}  # "cpu" or a GPU index
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="predict-reaper", daemon=True)
        self._reaper.start()

    def predict(self, run_dir: str, images: list[Accepted], top_k: int = 3) -> list[ImageResult | Problem]:
        """Top-k classes for each image, in order; an image the worker cannot decode is a Problem."""
        results: list[ImageResult | Problem] = []
        for image, result in self._ask(run_dir, images, {"top_k": top_k}):
            if "error" in result:
                results.append(Problem(image.name, "corrupt", result.get("message", "")))
            else:
                results.append(ImageResult(image.name, [(name, float(p)) for name, p in result["top"]]))
        return results

    def detect(
        self, run_dir: str, images: list[Accepted], conf: float | None, draw_dir: Path
    ) -> list[DetectionResult | Problem]:
        """A detection run's boxes at or above `conf` (None: the run's own threshold) for each image, in
        order, each image drawn with its boxes into `draw_dir`; an image the worker cannot decode is a
        Problem."""
        results: list[DetectionResult | Problem] = []
        for image, result in self._ask(run_dir, images, {"conf": conf, "draw_dir": str(draw_dir)}):
            if "error" in result:
                results.append(Problem(image.name, "corrupt", result.get("message", "")))
            else:
                boxes = [Box.model_validate(box) for box in result["boxes"]]
                drawn = Path(result["drawn"]) if result.get("drawn") else None
                results.append(DetectionResult(image.name, boxes, drawn))
        return results

    def _ask(
        self, run_dir: str, images: list[Accepted], options: dict[str, Any]
    ) -> list[tuple[Accepted, dict[str, Any]]]:
        """Each image with the worker's result for it; PredictError when it could not answer at all."""
        if not images:
            return []
        worker = self._worker()
        with worker.lock:
            reply = worker.ask({"run_dir": run_dir, "images": [str(i.path) for i in images], **options})
        if "error" in reply:
            raise PredictError(reply["error"], reply.get("message", ""))
        return list(zip(images, reply["results"], strict=True))

    def devices(self) -> list[str]:
        """The devices with a live worker (for status and tests)."""
        with self._lock:
            return [key for key, worker in self._workers.items() if worker.alive()]

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            workers, self._workers = dict(self._workers), {}
        for key, worker in workers.items():
            self._retire(key, worker)

    def _worker(self) -> _Worker:
        """The live GPU worker, else one on a GPU lent now, else the CPU worker."""
        with self._lock:
            for key, worker in list(self._workers.items()):
                if key != "cpu" and worker.alive():
                    return worker
                if key != "cpu":  # it died: its GPU goes back
                    self._retire(key, self._workers.pop(key))
            gpu = self._gpus.lend_gpu(self._take_back) if self._gpus is not None else None
            key = gpu or "cpu"
            existing = self._workers.get(key)
            if existing is not None and existing.alive():
                return existing
            try:
                cpus = self._cpus() if self._cpus is not None else None
                worker = _Worker(self._command, "cuda" if gpu else "cpu", gpu, self._memory_mb, cpus)
            except BaseException:
                if gpu is not None and self._gpus is not None:
                    self._gpus.give_back_gpu(gpu)
                raise
            self._workers[key] = worker
            return worker

    def _take_back(self, gpu: str) -> None:
        """A training run needs `gpu`: its worker stops (after the request it is answering) before this
        returns; later requests go to another device."""
        with self._lock:
            worker = self._workers.pop(gpu, None)
        if worker is not None:
            log.info("a training run needs GPU %s: stopping its prediction worker", gpu)
            with worker.lock:  # the request it is answering, if any, gets its answer
                worker.stop()

    def _retire(self, key: str, worker: _Worker) -> None:
        """Stop a worker that left the table; a GPU worker's GPU goes back to the run manager."""
        worker.stop()
        if key != "cpu" and self._gpus is not None:
            self._gpus.give_back_gpu(key)

    def _reap(self) -> None:
        while not self._closed.wait(min(30.0, self._idle_seconds / 2)):
            now = time.monotonic()
            with self._lock:
                idle = [
                    key
                    for key, worker in self._workers.items()
                    if not worker.lock.locked() and now - worker.last_used > self._idle_seconds
                ]
                stopping = [(key, self._workers.pop(key)) for key in idle]
            for key, worker in stopping:
                log.info("stopping the idle prediction worker on %s", key)
                self._retire(key, worker)
