"""The trainer's JSON-lines events: with training/contract.py, the whole protocol between trainer and bot.

The trainer writes one event per line on stdout (and appends it to OUT/events.jsonl);
the bot parses them with `parse_event`. Pure pydantic, no torch.
Accuracies are fractions in [0, 1]; times are seconds; `time` is a Unix timestamp.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from training.contract import ErrorKind
from training.detection.data import DetectionReport  # torch-free, like this module
from training.export_report import OnnxReport


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    time: float = Field(default_factory=time.time)

    def to_json_line(self) -> str:
        return self.model_dump_json() + "\n"


PreparingPhase = Literal["weights", "decode", "cache"]


class PreparingEvent(_Event):
    """Before `start`: what the trainer is doing while it gets ready, at most ~4 per second."""

    type: Literal["preparing"] = "preparing"
    phase: (
        PreparingPhase  # looking for pretrained weights; decoding images; mapping/writing the decoded cache
    )
    done: int = 0  # images (decode, cache) done so far in this phase
    total: int = 0  # 0 when unknown
    message: str | None = None


ImagesFrom = Literal["cache_hit", "cache_built", "memory", "streaming"]


class DataReport(BaseModel):
    """How the run got its decoded images, for `start` ("cache hit: 5,000 images in 0.1 s")."""

    images_from: (
        ImagesFrom  # all mapped from the decoded cache; written to it now; decoded into RAM; streamed
    )
    images: int
    seconds: float  # to get every split ready
    cache_dir: str | None = None  # the decoded cache's folder, when it was asked for
    note: str | None = None  # why the decoded cache was not used


ThreadReason = Literal["flag", "cpus", "cgroup", "slurm", "load"]


class ThreadPlan(BaseModel):
    """The CPU threads a run uses and why (training/cpus.py), for `start`."""

    model_config = ConfigDict(frozen=True)

    compute: int  # torch's intra-op threads
    interop: int  # torch's inter-op threads
    decode: int  # decode threads / DataLoader workers
    cpus: int  # CPUs the trainer may run on (its affinity)
    busy: float  # CPUs' worth of other work seen on them at start
    reason: ThreadReason  # what set `compute`: --threads, the CPU count, a CPU quota, Slurm, or the load
    detail: str  # the same in words


class StartEvent(_Event):
    type: Literal["start"] = "start"
    run_id: str
    model: str
    device: str
    gpu_name: str | None = None
    classes: list[str]
    counts: dict[str, int]  # images per split: {"train": 80, "val": 20[, "test": 10]}
    num_params: int
    config: dict[str, Any]
    resumed_from_epoch: int = 0
    data: DataReport | None = None
    task: str = "classification"  # training/contract.py TASKS
    detection: DetectionReport | None = None  # a detection run's dataset report (training/detection/data.py)
    threads: ThreadPlan | None = None


class ProgressEvent(_Event):
    type: Literal["progress"] = "progress"
    epoch: int  # 1-based epoch in progress
    step: int  # 1-based step within the epoch
    steps_per_epoch: int
    loss: float  # running mean over the epoch so far
    images_per_sec: float


class EpochEvent(_Event):
    type: Literal["epoch"] = "epoch"
    epoch: int  # 1-based epoch just finished
    epochs: int
    train_loss: float
    # classification's figures (None in a detection run)
    train_acc: float | None = None
    val_loss: float | None = None
    val_acc: float | None = None
    val_top5: float | None = None  # only with more than 5 classes
    lr: float
    epoch_seconds: float
    eta_seconds: float
    best_val_acc: float | None = None
    images_per_sec: float = 0.0
    # detection's figures (None in a classification run): COCO mAP on the validation split, 0-1
    val_map50: float | None = None  # mAP at IoU 0.50
    val_map: float | None = None  # mAP averaged over IoU 0.50:0.95, the best epoch's criterion
    best_val_map: float | None = None


class WarningEvent(_Event):
    type: Literal["warning"] = "warning"
    code: str  # e.g. pretrained_unavailable, corrupt_images, class_imbalance, tiny_class
    message: str


class DoneEvent(_Event):
    type: Literal["done"] = "done"
    epochs_completed: int
    # the last epoch's metrics (train_loss, train_acc, val_loss, val_acc, ...; detection: train_loss,
    # val_map50, val_map, ...)
    final: dict[str, float]
    best_val_acc: float | None = None  # classification; None in a detection run
    best_epoch: int
    per_class_acc: dict[str, float] = {}  # classification
    # detection: the best epoch's AP at IoU 0.50 per class (classes without validation boxes left out);
    # final carries val_map50 and val_map
    per_class_ap50: dict[str, float] | None = None
    task: str = "classification"
    test: dict[str, float] | None = None  # metrics on a held-out test/ split, when there is one
    # the ONNX export check (training/export_report.py); None when no export was asked for
    onnx: OnnxReport | None = None
    early_stopped: bool = False  # ended before `epochs` by early stopping (epochs_completed says when)
    # name -> absolute path (model, config, metrics, curves, confusion_matrix (the plot, when it could be
    # drawn), confusion_matrix_data (the matrix: never in an event, it grows with classes squared), ...)
    artifacts: dict[str, str]
    total_seconds: float = 0.0


class EpochRecord(BaseModel):
    """One epoch's figures: a row of the trainer's history (results.csv, metrics.json, the checkpoint), as
    the done event's `final` carries them and the bot stores them; detection runs add mAP. Every figure is
    optional: a run reports what its task measures."""

    model_config = ConfigDict(extra="ignore")

    epoch: int | None = None  # 1-based
    train_loss: float | None = None
    train_acc: float | None = None
    val_loss: float | None = None
    val_acc: float | None = None
    val_top5: float | None = None  # only with more than 5 classes
    val_map50: float | None = None
    val_map: float | None = None
    lr: float | None = None
    epoch_seconds: float | None = None
    images_per_sec: float | None = None


class RunSummary(BaseModel):
    """A completed run's results: the done event's figures as the bot stores them (in the run's
    metrics) and the presenters read them, one shape for both."""

    model_config = ConfigDict(extra="ignore")

    final: EpochRecord = Field(default_factory=EpochRecord)
    best_val_acc: float | None = None
    best_epoch: int | None = None
    per_class_acc: dict[str, float] = Field(default_factory=dict)
    per_class_ap50: dict[str, float] | None = None  # detection
    # detection: the best epoch's mAP (from the epoch events) and the best mAP@.50 the bot tracked
    best_val_map: float | None = None
    best_val_map50: float | None = None
    test: dict[str, float] | None = None
    onnx: OnnxReport | None = None
    early_stopped: bool = False

    @classmethod
    def of(cls, done: DoneEvent) -> RunSummary:
        return cls.model_validate(done.model_dump())


class StoppedEvent(_Event):
    type: Literal["stopped"] = "stopped"
    epoch: int  # epochs fully completed before the stop
    checkpoint: str | None  # path of the resumable checkpoint


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    kind: ErrorKind
    message: str  # one user-readable line
    detail: str | None = None  # traceback or raw error, for logs


Event = Annotated[
    PreparingEvent
    | StartEvent
    | ProgressEvent
    | EpochEvent
    | WarningEvent
    | DoneEvent
    | StoppedEvent
    | ErrorEvent,
    Field(discriminator="type"),
]
EVENT_TYPES: tuple[str, ...] = tuple(
    model.model_fields["type"].default for model in get_args(get_args(Event)[0])
)
TERMINAL_TYPES = frozenset({"done", "stopped", "error"})

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


class MalformedEvent(ValueError):
    """A line that is not a valid event."""


def parse_event(line: str | bytes) -> Event:
    """Parse one JSON line into its event model; raise MalformedEvent for anything else."""
    try:
        return _EVENT_ADAPTER.validate_json(line)
    except ValidationError as exc:
        preview = line[:200] if isinstance(line, str) else line[:200].decode("utf-8", "replace")
        raise MalformedEvent(f"not a trainer event: {preview!r}") from exc


def is_terminal(event: Event) -> bool:
    return event.type in TERMINAL_TYPES
