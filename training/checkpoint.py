"""Resumable checkpoints: written atomically so a kill mid-save never leaves a broken file."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.contract import CHECKPOINT_BEST_FILE, CHECKPOINT_LAST_FILE

LAST = CHECKPOINT_LAST_FILE
BEST = CHECKPOINT_BEST_FILE


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
    temporary = path.with_suffix(".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)
    return path


def load(path: Path) -> dict[str, Any]:
    # our own file, holding RNG states and numpy objects, so the full unpickler is needed
    return torch.load(path, map_location="cpu", weights_only=False)
