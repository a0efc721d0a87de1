"""A trained detector's boxes for image files, with exactly the validation pass's decoding and model: boxes
in each image's own pixels, best first, as `python -m training.predict` and `training.serve` give them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch

from training.data import open_rgb
from training.detection import draw
from training.detection.artifacts import load_detector
from training.detection.coco_eval import Detections
from training.detection.data import BoxedImage, image_size
from training.detection.images import load_scaled

MAX_BOXES = 100


class DetectionPredictor:
    def __init__(self, out_dir: Path, device: str = "cpu") -> None:
        self.device = torch.device(device)
        model, config = load_detector(out_dir)
        self.model = model.to(self.device)
        self.classes: list[str] = config["label_names"]
        self.image_size: int = config["image_size"]
        self.score_threshold: float = config["score_threshold"]

    @torch.no_grad()
    def detect(self, path: Path) -> Detections:
        """Every box the model keeps (down to its score floor), in the image's own pixels, best first."""
        width, height = image_size(path)
        pixels, scale = load_scaled(BoxedImage(path, width, height, (), ()), self.image_size)
        (output,) = self.model([pixels.to(self.device).float().div_(255)])
        order = output["scores"].argsort(descending=True).cpu()
        return Detections(
            boxes=(output["boxes"].float().cpu()[order] / scale).numpy(),
            scores=output["scores"].float().cpu()[order].numpy(),
            labels=(output["labels"].cpu()[order] - 1).numpy(),
        )

    def kept(self, path: Path, conf: float | None = None, max_boxes: int = MAX_BOXES) -> Detections:
        """The boxes at or above `conf` (default: the run's score threshold), at most `max_boxes`."""
        found = self.detect(path)
        threshold = self.score_threshold if conf is None else conf
        count = min(max_boxes, int((found.scores >= threshold).sum()))  # scores are sorted
        return Detections(found.boxes[:count], found.scores[:count], found.labels[:count])

    def boxes(
        self, path: Path, conf: float | None = None, max_boxes: int = MAX_BOXES
    ) -> list[dict[str, Any]]:
        """[{"class", "score", "box": [x1, y1, x2, y2]}, ...], best first (see kept())."""
        return self.as_json(self.kept(path, conf, max_boxes))

    def draw(self, path: Path, found: Detections, target: Path) -> Path:
        """`path` at its own size (the boxes are in its pixels) with `found` drawn, as a JPEG at `target`."""
        target.parent.mkdir(parents=True, exist_ok=True)
        full = open_rgb(path, max(image_size(path)))
        draw.draw_boxes(full, found, self.classes, found.scores.tolist()).save(target, quality=90)
        return target

    def as_json(self, found: Detections) -> list[dict[str, Any]]:
        rows = zip(found.boxes.tolist(), found.scores.tolist(), found.labels.tolist(), strict=True)
        return [
            {"class": self.classes[int(label)], "score": round(score, 4), "box": [round(v, 2) for v in box]}
            for box, score, label in rows
        ]


def predict_files(
    out_dir: Path, images: list[Path], conf: float | None, max_boxes: int, draw_dir: Path | None
) -> int:
    """`python -m training.predict` on a detection run: one JSON line per image on stdout; 3 when an
    image could not be read (the others are still answered)."""
    predictor = DetectionPredictor(out_dir)
    status = 0
    for path in images:
        try:
            found = predictor.kept(path, conf, max_boxes)
        except OSError as exc:
            print(f"error: cannot read image {path}: {exc}", file=sys.stderr)
            status = 3
            continue
        print(json.dumps({"image": str(path), "boxes": predictor.as_json(found)}), flush=True)
        print(f"{path}: {len(found.scores)} box(es)", file=sys.stderr)
        if draw_dir is not None:
            predictor.draw(path, found, draw_dir / f"{path.stem}.jpg")
    return status
