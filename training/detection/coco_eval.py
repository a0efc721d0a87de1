"""COCO box mAP with pycocotools itself: mAP@[.50:.95] and mAP@.50 (its `stats[0]` and `stats[1]`) and
AP@.50 per class, for predictions in the original images' pixels against the dataset's boxes."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from training.detection.data import BoxedImage


@dataclass
class Detections:
    """One image's predicted boxes: x1, y1, x2, y2 in its original pixels, 0-based class indices."""

    boxes: np.ndarray  # float (N, 4)
    scores: np.ndarray  # float (N,)
    labels: np.ndarray  # int (N,)


@dataclass
class DetectionScores:
    map: float  # mAP@[.50:.95], COCO's primary figure
    map50: float  # mAP@.50
    per_class_ap50: dict[str, float]  # classes without a box in the split are left out


def ground_truth(images: Sequence[BoxedImage], classes: list[str]) -> dict[str, object]:
    """The split as a COCO instances document: image ids from 1 in order, category id = class index + 1."""
    annotations: list[dict[str, object]] = []
    for image_id, image in enumerate(images, start=1):
        for (x1, y1, x2, y2), label in zip(image.boxes, image.labels, strict=True):
            width, height = x2 - x1, y2 - y1
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": label + 1,
                    "bbox": [x1, y1, width, height],
                    "area": width * height,
                    "iscrowd": 0,
                }
            )
    return {
        "images": [
            {"id": i, "width": image.width, "height": image.height} for i, image in enumerate(images, start=1)
        ],
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": name} for i, name in enumerate(classes)],
    }


def results(predictions: Sequence[Detections]) -> list[dict[str, object]]:
    """COCO's results format for `predictions`, image ids as in ground_truth()."""
    found = []
    for image_id, found_here in enumerate(predictions, start=1):
        for (x1, y1, x2, y2), score, label in zip(
            found_here.boxes.tolist(), found_here.scores.tolist(), found_here.labels.tolist(), strict=True
        ):
            found.append(
                {
                    "image_id": image_id,
                    "category_id": int(label) + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "score": float(score),
                }
            )
    return found


def coco_scores(
    images: Sequence[BoxedImage], classes: list[str], predictions: Sequence[Detections]
) -> DetectionScores:
    """pycocotools' figures for `predictions[i]` on `images[i]`. No prediction at all scores 0."""
    found = results(predictions)
    if not found or not any(image.boxes for image in images):
        return DetectionScores(0.0, 0.0, {})
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints; stdout carries the events
        truth = COCO()
        truth.dataset = ground_truth(images, classes)
        truth.createIndex()
        scored = COCOeval(truth, truth.loadRes(found), "bbox")
        scored.evaluate()
        scored.accumulate()
        scored.summarize()
    # precision: [IoU thresholds, recall points, classes, area ranges, max detections]; IoU 0.50, all
    # areas, 100 detections
    precision = scored.eval["precision"][0, :, :, 0, -1]
    per_class = {}
    for index, name in enumerate(classes):
        values = precision[:, index]
        if (values > -1).any():
            per_class[name] = float(values[values > -1].mean())
    return DetectionScores(max(0.0, float(scored.stats[0])), max(0.0, float(scored.stats[1])), per_class)
