"""Resumable checkpoints: the run state plus the model, optimiser and RNG states, written atomically so a
kill mid-save never leaves a broken file."""

from __future__ import annotations

import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.contract import CHECKPOINT_BEST_FILE, CHECKPOINT_LAST_FILE
from training.events import EpochRecord

LAST = CHECKPOINT_LAST_FILE
INIT_WEIGHTS_FILE = "init_weights.pt"  # the --init-from run's model weights, copied out of its checkpoint
BEST = CHECKPOINT_BEST_FILE
# what a checkpoint holds beyond tensors and plain types: numpy's RNG state, an array of uint32 (numpy
# pickles arrays with the function its own __reduce__ names: numpy._core.multiarray._reconstruct)
SAFE_GLOBALS: list[Any] = [np.zeros(0).__reduce__()[0], np.ndarray, np.dtype, type(np.dtype(np.uint32))]


@dataclass
class BestEpoch:
    val_acc: float = -1.0  # below any real accuracy, so the first epoch is always the best so far
    epoch: int = 0
    confusion: list[list[int]] = field(default_factory=list)  # rows: true class, columns: predicted
    per_class: dict[str, float] = field(default_factory=dict)  # accuracy; detection: AP@.50
    val_map: float = -1.0  # detection's criterion: COCO mAP@[.50:.95]
    val_map50: float = -1.0


@dataclass
class RunState:
    """Where a run stands between epochs: what checkpoint_last.pt saves, beside the tensors' states."""

    classes: list[str]
    config: dict[str, Any]  # the TrainingConfig it was started with
    epoch: int = 0  # epochs completed
    history: list[EpochRecord] = field(default_factory=list)  # one row per completed epoch
    best: BestEpoch = field(default_factory=BestEpoch)


@dataclass
class Trainables:
    """The objects whose states a checkpoint carries with the run state."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    generator: torch.Generator


def rng_states() -> dict[str, Any]:
    states = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save(path: Path, state: dict[str, Any]) -> Path:
    temporary = path.with_suffix(f".{os.getpid()}.tmp")  # the ranks of a multi-GPU run may write one file
    torch.save(state, temporary)
    os.replace(temporary, path)
    return path


def load(path: Path) -> dict[str, Any]:
    """A checkpoint read with torch's weights-only unpickler: tensors, plain types and the numpy types of
    the RNG state, nothing that runs code (OUTPUT_ROOT may be writable by others on a cluster)."""
    with torch.serialization.safe_globals(SAFE_GLOBALS):
        return torch.load(path, map_location="cpu", weights_only=True)


def save_run(path: Path, state: RunState, trainables: Trainables) -> Path:
    tensors = {
        "model": trainables.model.state_dict(),
        "optimizer": trainables.optimizer.state_dict(),
        "scaler": trainables.scaler.state_dict(),
        "generator": trainables.generator.get_state(),
        "rng": rng_states(),
    }
    return save(path, asdict(state) | {"history": history_rows(state.history)} | tensors)


def history_rows(history: list[EpochRecord]) -> list[dict[str, float]]:
    """The history as plain rows, as checkpoints have always held it and metrics.json holds it: each
    epoch's figures, those its task does not measure left out."""
    return [record.model_dump(exclude_none=True) for record in history]


def read_run_state(saved: dict[str, Any]) -> RunState:
    return RunState(
        classes=saved["classes"],
        config=saved["config"],
        epoch=saved["epoch"],
        history=[EpochRecord.model_validate(row) for row in saved["history"]],
        best=BestEpoch(**saved["best"]),
    )


def restore_trainables(saved: dict[str, Any], trainables: Trainables) -> None:
    trainables.model.load_state_dict(saved["model"])
    trainables.optimizer.load_state_dict(saved["optimizer"])
    if saved["scaler"]:  # empty when saved without fp16 (CPU, bf16 GPU): a resume on an fp16 GPU starts fresh
        trainables.scaler.load_state_dict(saved["scaler"])
    trainables.generator.set_state(saved["generator"])
    restore_rng_states(saved["rng"])


def init_weights_file(checkpoint_path: Path, out_dir: Path) -> Path:
    """The model weights of another run's checkpoint as a plain tensor file in `out_dir`, for a run that
    starts from them with a fresh optimiser and schedule (`--init-from`; loaded like `--weights`)."""
    from training.errors import ConfigError

    if not checkpoint_path.is_file():
        raise ConfigError(f"--init-from {checkpoint_path} does not exist")
    try:
        model = load(checkpoint_path)["model"]
    except Exception as exc:  # not a checkpoint of this trainer: a readable line, not a traceback
        raise ConfigError(
            f"--init-from {checkpoint_path} is not a checkpoint of this trainer: {exc}"
        ) from exc
    from training.distributed import World

    world = World.from_env()  # each rank of a multi-GPU run writes its own copy
    name = INIT_WEIGHTS_FILE if world.is_main else f"init_weights.rank{world.rank}.pt"
    return save(out_dir / name, dict(model))
