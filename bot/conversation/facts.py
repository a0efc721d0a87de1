"""Facts the conversation's answers are grounded in: datasets, GPUs, the run queue, pretrained weights and
this host's measured training throughput. Never invented: what cannot be found out is reported as unknown.

`FactsProvider` is what the engine and the Claude facts block use; `HostFacts` finds the facts on this
host (the database, nvidia-smi, the Hugging Face cache, the hub with a short timeout). Tests pass their own.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar

from sqlalchemy import select

from bot.conversation.datasets import list_datasets
from bot.conversation.model_names import weights_source
from bot.conversation.parsing import ThreadState
from bot.runs.stored import RunMetrics, stored_config
from bot.settings import Settings, nvidia_smi_gpus, visible_gpu_indices
from bot.storage import Database, RunEpoch, RunStatus, TrainingRun
from training.events import EpochRecord
from training.hub import hub_reachable

log = logging.getLogger(__name__)

HUB_PROBE_SECONDS = 2.0
HUB_PROBE_TTL_S = 300.0  # reachability is probed again after this long
HISTORY_RUNS = 20  # past runs of a model looked at for its throughput
PROBE_TIMEOUT_S = 120.0  # a quick measurement (training.speed_probe) that takes longer gives no answer

WeightsStatus = Literal["cached", "hub", "unavailable", "none"]


@dataclass(frozen=True)
class Gpu:
    index: str
    name: str
    memory_mib: int | None = None


@dataclass(frozen=True)
class GpuLimit:
    """How many GPUs one run may ask for: those of this host, or of one node of the Slurm partition."""

    most: int  # at least 1: without GPUs a run trains on the CPU, in one process
    found: int  # GPUs found: this host's (local runs), or the most one node has (Slurm)
    on_slurm: bool = False
    partition: str | None = None  # the Slurm partition; None: the cluster's default


@dataclass(frozen=True)
class QueueState:
    running: int
    queued: int
    slots: int  # runs at once (MAX_CONCURRENT_RUNS, or one per GPU)


@dataclass(frozen=True)
class Weights:
    """Where the trainer would get `model`'s pretrained weights: "cached" (this host's Hugging Face or torch
    hub cache), "hub" (downloaded; the hub is reachable), "unavailable" (offline and not cached: the run
    starts from random initialisation), "none" (timm has no pretrained weights for this model)."""

    model: str
    status: WeightsStatus
    source: str | None = None  # e.g. "timm/resnet50.a1_in1k"


@dataclass(frozen=True)
class Throughput:
    """Measured on this host: seconds per image per epoch (train + val), from past runs' epochs, and what a
    run takes besides its epochs (start-up, the test evaluation, plots and the ONNX export)."""

    model: str
    image_size: int
    device: str  # "cuda" or "cpu"
    seconds_per_image: float
    runs: int  # past runs it comes from; 0: a quick measurement on this host (speed_probe)
    measured_size: int  # the image size of those runs (scaled by area when it differs)
    overhead_seconds: float = 0.0  # per run, outside its epochs (median of the finished past runs)

    def epoch_seconds(self, images: int) -> float:
        return self.seconds_per_image * images

    def run_seconds(self, images: int, epochs: int) -> float:
        """The whole run, from its start to its last event."""
        return self.overhead_seconds + epochs * self.epoch_seconds(images)


class FactsProvider(Protocol):
    def datasets(self) -> list[str]: ...
    def gpus(self) -> list[Gpu]: ...
    def queue(self) -> QueueState: ...
    def weights(self, model: str) -> Weights: ...
    def throughput(self, model: str, image_size: int) -> Throughput | None: ...


def gpu_limit(facts: FactsProvider) -> GpuLimit:
    """The GPUs a run may ask for. A provider may know better than its GPU list (HostFacts on Slurm, where
    runs go to the partition's nodes): it then has a `gpu_limit()` of its own."""
    own = getattr(facts, "gpu_limit", None)
    if callable(own):
        limit: GpuLimit = own()
        return limit
    found = len(facts.gpus())
    return GpuLimit(max(1, found), found)


def device_kind(gpus: list[Gpu]) -> str:
    return "cuda" if gpus else "cpu"


# --- pretrained weights ------------------------------------------------------------------------------------
def _hf_cached(repo: str, cache_dir: Path | None = None) -> bool:
    """The weights files timm loads from a hub repo are in this host's Hugging Face cache (HF_HUB_CACHE)."""
    from huggingface_hub import try_to_load_from_cache  # torch-free; imported on first use

    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(repo, filename, cache_dir=cache_dir)
        if isinstance(found, str):
            return True
    return False


def _torch_hub_cached(filename: str) -> bool:
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return (Path(torch_home) / "hub" / "checkpoints" / filename).is_file()


def find_weights(
    model: str,
    *,
    reachable: Callable[[], bool],
    hf_cached: Callable[[str], bool] = _hf_cached,
    torch_cached: Callable[[str], bool] = _torch_hub_cached,
) -> Weights:
    source = weights_source(model)
    if source is None:
        return Weights(model, "none")
    kind, _, where = source.partition(":")
    cached = hf_cached(where) if kind == "hf" else torch_cached(where)
    if cached:
        return Weights(model, "cached", where)
    return Weights(model, "hub" if reachable() else "unavailable", where)


T = TypeVar("T")


class _CachedProbe(Generic[T]):
    """A slow probe (hub_reachable, sinfo), remembered for HUB_PROBE_TTL_S so a conversation does not wait
    on every turn."""

    def __init__(self, probe: Callable[[], T]) -> None:
        self._probe = probe
        self._value: T | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> T:
        with self._lock:
            if self._value is None or time.monotonic() - self._at > HUB_PROBE_TTL_S:
                self._value, self._at = self._probe(), time.monotonic()
            return self._value


# --- GPUs --------------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _nvidia_smi_gpus() -> tuple[Gpu, ...]:
    return tuple(
        Gpu(row[0], row[1], int(row[2]) if row[2].isdigit() else None)
        for row in nvidia_smi_gpus("index", "name", "memory.total")
        if len(row) >= 3
    )


def host_gpus() -> list[Gpu]:
    """The GPUs runs may use: nvidia-smi's names and memory, limited to CUDA_VISIBLE_DEVICES."""
    visible = visible_gpu_indices()
    named = {gpu.index: gpu for gpu in _nvidia_smi_gpus()}
    return [named.get(index, Gpu(index, "GPU")) for index in visible]


def _slurm_node_gpus(settings: Settings) -> Callable[[], int]:
    def most() -> int:
        from bot.runs.slurm import SlurmLauncher  # only on Slurm: runs the Slurm client tools

        return SlurmLauncher.from_settings(settings).most_gpus_per_node()

    return most


# --- throughput history ------------------------------------------------------------------------------------
def _epoch_seconds(epoch: RunEpoch) -> float:
    return EpochRecord.model_validate(epoch.metrics).epoch_seconds or 0.0


def measured_throughput(db: Database, model: str, image_size: int, device: str) -> Throughput | None:
    """Seconds per image per epoch for `model` on `device` from past runs' epochs (the first epoch of each
    run left out when there are others: it includes decoding and warm-up); scaled by image area when the
    past runs used another size; and the median time the finished ones spent outside their epochs. None
    when no past run of this model on this kind of device finished an epoch."""
    with db.session() as session:
        rows = session.scalars(
            select(TrainingRun)
            .where(TrainingRun.status.in_([RunStatus.COMPLETED, RunStatus.STOPPED, RunStatus.RUNNING]))
            .order_by(TrainingRun.id.desc())
            .limit(HISTORY_RUNS * 5)
        ).all()
        samples: list[tuple[int, float]] = []  # (image size, seconds per image)
        overheads: list[float] = []  # seconds outside the epochs, per finished run
        runs = 0
        for row in rows:
            config, metrics = stored_config(row.config), RunMetrics.of(row.metrics)
            if config.model != model or not metrics.device.startswith(device):
                continue
            images = metrics.counts.get("train", 0) + metrics.counts.get("val", 0)
            epochs = session.scalars(select(RunEpoch).where(RunEpoch.run_id == row.id)).all()
            seconds = [_epoch_seconds(e) for e in epochs if e.epoch > 1 or len(epochs) == 1]
            seconds = [value for value in seconds if value > 0]
            if images <= 0 or not seconds:
                continue
            runs += 1
            samples += [(config.image_size, value / images) for value in seconds]
            if row.status == RunStatus.COMPLETED and row.started_at and row.completed_at:
                wall = (row.completed_at - row.started_at).total_seconds()
                trained = sum(_epoch_seconds(e) for e in epochs)
                overheads.append(max(0.0, wall - trained))
            if runs >= HISTORY_RUNS:
                break
    if not samples:
        return None
    overhead = statistics.median(overheads) if overheads else 0.0
    same_size = [per_image for size, per_image in samples if size == image_size]
    if same_size:
        median = statistics.median(same_size)
        return Throughput(model, image_size, device, median, runs, image_size, overhead)
    size, _ = min(samples, key=lambda sample: abs(sample[0] - image_size))
    scaled = statistics.median(per_image for s, per_image in samples if s == size) * (image_size / size) ** 2
    return Throughput(model, image_size, device, scaled, runs, size, overhead)


def speed_probe(model: str, image_size: int, batch_size: int, device: str) -> Throughput | None:
    """A quick measurement of `model` on this host (`python -m training.speed_probe`, a few training steps
    on random images): its speed, and its process start-up as the run's overhead. None when it fails."""
    command = [sys.executable, "-m", "training.speed_probe", "--model", model, "--device", device,
               "--image-size", str(image_size), "--batch-size", str(batch_size)]  # fmt: skip
    started = time.monotonic()
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=True,
            start_new_session=True,
        )
        measured = json.loads(result.stdout.strip().splitlines()[-1])
        per_image, steps = float(measured["seconds_per_image"]), float(measured["measured_seconds"])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError, KeyError) as exc:
        log.warning("the speed probe of %s at %spx failed: %s", model, image_size, exc)
        return None
    start_up = max(0.0, time.monotonic() - started - steps)
    return Throughput(model, image_size, device, per_image, 0, image_size, start_up)


class HostFacts:
    """Facts about this host. The hub probe and GPU listing are injectable (tests run offline)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        reachable: Callable[[], bool] = lambda: hub_reachable(HUB_PROBE_SECONDS),
        gpus: Callable[[], list[Gpu]] = host_gpus,
        hf_cached: Callable[[str], bool] = _hf_cached,
        partition_gpus: Callable[[], int] | None = None,
        probe: Callable[[str, int, int, str], Throughput | None] = speed_probe,
    ) -> None:
        self._settings = settings
        self._db = db
        self._reachable = _CachedProbe(reachable)
        self._gpus = gpus
        self._hf_cached = hf_cached
        # on Slurm: the most GPUs one node of the partition has (sinfo), asked again after a while
        self._partition_gpus = _CachedProbe(partition_gpus or _slurm_node_gpus(settings))
        self._probe = probe
        self._probed: dict[tuple[str, int, int, str], Throughput | None] = {}  # one measurement each
        self._probing = threading.Lock()

    def datasets(self) -> list[str]:
        return list_datasets(self._settings.data_root)

    def gpus(self) -> list[Gpu]:
        return self._gpus()

    def queue(self) -> QueueState:
        with self._db.session() as session:
            statuses = session.scalars(
                select(TrainingRun.status).where(
                    TrainingRun.status.in_([RunStatus.RUNNING, RunStatus.QUEUED])
                )
            ).all()
        slots = self._settings.max_concurrent_runs or max(1, len(self.gpus()))
        return QueueState(statuses.count(RunStatus.RUNNING), statuses.count(RunStatus.QUEUED), slots)

    def weights(self, model: str) -> Weights:
        return find_weights(model, reachable=self._reachable, hf_cached=self._hf_cached)

    def gpu_limit(self) -> GpuLimit:
        if self._settings.run_backend != "slurm":
            found = len(self.gpus())
            return GpuLimit(max(1, found), found)
        found = self._partition_gpus()
        return GpuLimit(max(1, found), found, on_slurm=True, partition=self._settings.slurm_partition)

    def throughput(self, model: str, image_size: int) -> Throughput | None:
        return measured_throughput(self._db, model, image_size, device_kind(self.gpus()))

    def measure_throughput(self, model: str, image_size: int, batch_size: int) -> Throughput | None:
        """A quick measurement on this host, for when no past run can answer (once per model, size and
        batch; it takes seconds: the imports and a few steps)."""
        key = (model, image_size, batch_size, device_kind(self.gpus()))
        with self._probing:
            if key not in self._probed:
                self._probed[key] = self._probe(*key)
            return self._probed[key]


def render_facts(
    facts: FactsProvider, draft: dict[str, Any], summary: Any | None, thread: ThreadState | None = None
) -> str:
    """The facts block for Claude: the same facts the rule answers use, and what the conversation's thread
    holds (which commands can act there), as JSON."""
    model = str(draft.get("model") or "resnet50")
    image_size = int(draft.get("image_size") or 224)
    gpus = facts.gpus()
    queue = facts.queue()
    weights = facts.weights(model)
    throughput = facts.throughput(model, image_size)
    block: dict[str, Any] = {
        "thread": (thread or ThreadState()).facts(),
        "available_datasets": facts.datasets()[:50],
        "dataset": None
        if summary is None
        else {"classes": len(summary.classes), "images": summary.total_images, "per_class": summary.counts},
        "gpus": [{"index": g.index, "name": g.name, "memory_mib": g.memory_mib} for g in gpus]
        or "none (CPU)",
        "queue": {"running": queue.running, "queued": queue.queued, "runs_at_once": queue.slots},
        "gpus_one_run_can_use_at_most": gpu_limit(facts).most,
        "pretrained_weights": {"model": model, "status": weights.status},
        "throughput": None
        if throughput is None
        else {
            "model": model,
            "device": throughput.device,
            "seconds_per_image_per_epoch": round(throughput.seconds_per_image, 6),
            "from_past_runs": throughput.runs,
            "measured_at_image_size": throughput.measured_size,
        },
    }
    return json.dumps(block, ensure_ascii=False, sort_keys=True)


class OfflineFacts:
    """What can be known without the database or the network: the datasets, no GPUs, no history, weights
    only from the local caches (for the offline `parse` tool and as the engine's default)."""

    def __init__(self, data_root: Path) -> None:
        self._data_root = data_root

    def datasets(self) -> list[str]:
        return list_datasets(self._data_root)

    def gpus(self) -> list[Gpu]:
        return []

    def queue(self) -> QueueState:
        return QueueState(0, 0, 1)

    def weights(self, model: str) -> Weights:
        return find_weights(model, reachable=lambda: False)

    def throughput(self, model: str, image_size: int) -> Throughput | None:
        return None
