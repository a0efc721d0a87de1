"""Model creation with timm: name checks, pretrained weights (failing fast offline), local weight files."""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import timm
import torch

from training.errors import ConfigError
from training.hub import hub_reachable
from training.weights import load_weights_file

log = logging.getLogger(__name__)

HUB_PROBE_SECONDS = 3.0


@dataclass
class ModelInfo:
    model: torch.nn.Module
    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop_pct: float
    warnings: list[tuple[str, str]] = field(default_factory=list)
    pretrained: bool = False  # whether the hub's pretrained weights were actually loaded (not just asked for)


def check_model_request(name: str, weights: Path | None) -> None:
    """What can be checked before anything slow: the name, and that a --weights file exists."""
    check_model_name(name)
    if weights is not None and not weights.is_file():
        raise ConfigError(f"weights file {weights} does not exist")


def check_model_name(name: str) -> None:
    if timm.is_model(name):
        return
    matches = difflib.get_close_matches(name.lower(), timm.list_models(), n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(matches)}?" if matches else "; see timm.list_models() for names"
    raise ConfigError(f"unknown model '{name}'{hint}")


def _create_pretrained(name: str, num_classes: int) -> torch.nn.Module:
    """Pretrained weights from the hub, or from the local cache only when the hub is unreachable."""
    if not hub_reachable(HUB_PROBE_SECONDS):
        import huggingface_hub.constants

        huggingface_hub.constants.HF_HUB_OFFLINE = True  # cache hits still work; misses fail at once
    return timm.create_model(name, pretrained=True, num_classes=num_classes)


def build_model(name: str, num_classes: int, pretrained: bool, weights: Path | None) -> ModelInfo:
    check_model_request(name, weights)
    warnings: list[tuple[str, str]] = []
    model = None
    if pretrained and weights is None:
        try:
            model = _create_pretrained(name, num_classes)
        except Exception as exc:
            log.warning("pretrained weights unavailable: %s", exc)
            warnings.append(
                (
                    "pretrained_unavailable",
                    f"pretrained weights for {name} are not available (offline?); training from random "
                    "initialisation, which needs more epochs and data",
                )
            )
    model_from_hub = model is not None
    if model is None:
        model = timm.create_model(name, pretrained=False, num_classes=num_classes)
    if weights is not None:
        skipped = load_weights_file(model, weights)
        log.info(
            "loaded %s; kept the model's own init for %d tensors: %s", weights, len(skipped), skipped[:8]
        )
    cfg: dict[str, Any] = model.pretrained_cfg  # type: ignore[assignment]  # set by timm.create_model
    return ModelInfo(
        model=model,
        mean=tuple(cfg.get("mean", (0.485, 0.456, 0.406))),
        std=tuple(cfg.get("std", (0.229, 0.224, 0.225))),
        crop_pct=float(cfg.get("crop_pct", 0.875)),
        warnings=warnings,
        pretrained=model_from_hub,
    )
