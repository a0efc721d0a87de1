"""Weights from elsewhere loaded over a model of any task (a timm classifier, a torchvision detector): a local
weights file, or a state dict, each tensor whose name and shape fit. No timm here: detection runs never load
it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from training.errors import ConfigError


def load_weights_file(model: torch.nn.Module, path: Path) -> list[str]:
    """Load a local .pth/.safetensors, skipping tensors whose shape differs (e.g. another classifier head).
    Returns the names of the skipped tensors."""
    state: Any  # a tensor dict, or whatever torch.load finds in the file
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
            for key in ("state_dict", "model", "state_dict_ema"):
                if isinstance(state, dict) and isinstance(state.get(key), dict):
                    state = state[key]
                    break
    except Exception as exc:
        raise ConfigError(f"could not read weights file {path}: {exc}") from exc
    state = {k.removeprefix("module."): v for k, v in state.items()}
    skipped = load_matching(model, state)
    if skipped is None:
        raise ConfigError(f"weights file {path} has no tensors that fit this model")
    return skipped


def load_matching(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> list[str] | None:
    """Load the tensors of `state` whose name and shape fit `model`; the names of the model's tensors that
    kept their own values, or None when nothing fits."""
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not usable:
        return None
    model.load_state_dict(usable, strict=False)
    return sorted(set(own) - set(usable))
