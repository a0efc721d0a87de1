"""ONNX export check reports as metrics.json and the bot's rows keep them, in the shapes the exporters
wrote before the report said its `task` (training/export.py's and training/detection/export.py's)."""

from __future__ import annotations

from typing import Any

CLASSIFIER_REPORT: dict[str, Any] = {
    "status": "ok",
    "images": 6,
    "top1_agreement": 1.0,
    "max_abs_logit_diff": 2.4e-06,
    "min_agreement": 0.999,
    "opset": 18,
    "exporter": "dynamo",
    "seconds": 1.5,
    "file": "/out/7/model.onnx",
}
DETECTOR_REPORT: dict[str, Any] = {
    "status": "ok",
    "images": 10,
    "input": "any height and width",
    "boxes_compared": 42,
    "boxes_matched": 42,
    "mean_iou": 0.99987,
    "min_iou": 0.99912,
    "class_agreement": 1.0,
    "max_score_diff": 3.1e-05,
    "criteria": {"score_at_least": 0.05, "min_iou": 0.99, "max_score_diff": 0.01},
    "opset": 18,
    "seconds": 4.2,
    "file": "/out/7/model.onnx",
}
