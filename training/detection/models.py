"""torchvision's detectors (contract.DETECTION_MODELS): name checks, the architecture at the run's input
side, COCO weights when they can be had (truthfully offline: the local cache, else random init with a
warning), and the same architecture again when a run's model is loaded.

Every detector is built the same way: random init with one output per class plus the background
(label 0; the dataset's class i is label i + 1), then the COCO detector's tensors whose shapes fit are
loaded over it, so everything but the class-specific last layers starts from COCO.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torchvision
from torchvision.models.detection.transform import GeneralizedRCNNTransform

from training.contract import DETECTION_MODELS
from training.errors import ConfigError
from training.hub import host_reachable
from training.weights import load_matching, load_weights_file

log = logging.getLogger(__name__)

WEIGHTS_HOST = ("download.pytorch.org", 443)
PROBE_SECONDS = 3.0
SCORE_FLOOR = 0.01  # boxes below this score are never kept; the mAP counts down to it
MAX_DETECTIONS = 100  # per image, as COCO's mAP counts them
BATCHNORM_MOMENTUM = 0.1  # torch's default, from pretrained weights
SCALE_JITTER = (0.75, 0.875, 1.0)  # of the input side, drawn per step in training (not for SSD)


@dataclass
class DetectorInfo:
    model: torch.nn.Module
    pretrained: str | None  # "coco" when the COCO detector's weights were loaded
    warnings: list[tuple[str, str]] = field(default_factory=list)


def check_detector_name(name: str) -> None:
    if name in DETECTION_MODELS:
        return
    close = difflib.get_close_matches(name.lower(), DETECTION_MODELS, n=3, cutoff=0.4)
    hint = (
        f"did you mean {', '.join(close)}?" if close else f"the detectors are {', '.join(DETECTION_MODELS)}"
    )
    raise ConfigError(f"unknown detection model '{name}'; {hint}")


def fixed_size(name: str) -> bool:
    """SSD resizes every image to a square; the others keep the aspect ratio (longer side = input side)."""
    return name.startswith("ssd")


def architecture(name: str, num_classes: int, image_size: int) -> torch.nn.Module:
    """The detector for `num_classes` classes (plus background) at `image_size`, randomly initialised."""
    check_detector_name(name)
    builder = getattr(torchvision.models.detection, name)
    model: torch.nn.Module = builder(weights=None, weights_backbone=None, num_classes=num_classes + 1)
    old: Any = model.transform
    if fixed_size(name):
        model.transform = GeneralizedRCNNTransform(
            image_size, image_size, old.image_mean, old.image_std, size_divisible=1,
            fixed_size=(image_size, image_size),
        )  # fmt: skip
    else:
        sizes = tuple(sorted({max(32, round(image_size * share)) for share in SCALE_JITTER}))
        model.transform = GeneralizedRCNNTransform(sizes, image_size, old.image_mean, old.image_std)
    batchnorm_momentum(model, BATCHNORM_MOMENTUM)  # SSDlite's 0.03 suits its 600-epoch recipe
    heads: Any = model.roi_heads if hasattr(model, "roi_heads") else model
    heads.score_thresh = SCORE_FLOOR
    heads.detections_per_img = MAX_DETECTIONS
    return model


def batchnorm_momentum(model: torch.nn.Module, momentum: float | None) -> list[torch.nn.BatchNorm2d]:
    """Set every BatchNorm's momentum (None: the plain mean of the batches seen); the layers."""
    layers = [module for module in model.modules() if isinstance(module, torch.nn.BatchNorm2d)]
    for layer in layers:
        layer.momentum = momentum
    return layers


def _coco_state(name: str) -> dict[str, torch.Tensor]:
    """The COCO detector's weights from torch's hub cache, or downloaded when the host answers."""
    weights = torchvision.models.get_model_weights(name).DEFAULT
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not cached.is_file() and not host_reachable(WEIGHTS_HOST, PROBE_SECONDS):
        raise OSError(f"{WEIGHTS_HOST[0]} cannot be reached and {cached.name} is not in the local cache")
    return weights.get_state_dict(progress=False, check_hash=True)


def build_detector(
    name: str, num_classes: int, image_size: int, pretrained: bool, weights: Path | None
) -> DetectorInfo:
    model = architecture(name, num_classes, image_size)
    if weights is not None:
        if not weights.is_file():
            raise ConfigError(f"weights file {weights} does not exist")
        skipped = load_weights_file(model, weights)
        log.info("loaded %s; kept the model's own init for %d tensors", weights, len(skipped))
        return DetectorInfo(model, None)
    if not pretrained:
        return DetectorInfo(model, None)
    try:
        fresh = load_matching(model, _coco_state(name))
    except Exception as exc:
        log.warning("COCO weights unavailable: %s", exc)
        message = (
            f"COCO weights for {name} are not available (offline?); training from random initialisation, "
            "which needs many more epochs and images"
        )
        return DetectorInfo(model, None, [("pretrained_unavailable", message)])
    log.info("COCO weights loaded; %d class-specific tensors start fresh", len(fresh or ()))
    return DetectorInfo(model, "coco")
