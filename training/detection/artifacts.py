"""A detection run's outputs: model.safetensors + config.json (task, architecture, class names, input side,
score threshold), the loaded model again, results.csv's columns, curves.png and the model card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from training import reports
from training.contract import CURVES_FILE, MODEL_CONFIG_FILE, MODEL_FILE, VAL_PREDICTIONS_FILE
from training.detection.models import architecture, fixed_size
from training.export_report import read_report

RESULTS_COLUMNS = ("epoch", "train_loss", "val_map50", "val_map", "lr", "epoch_seconds")
CURVES = (
    reports.Panel("Loss (sum of the detector's losses)", (("train", "train_loss"),)),
    reports.Panel(
        "Validation mAP (COCO)", (("val mAP@.50", "val_map50"), ("val mAP@[.50:.95]", "val_map")), (0, 1)
    ),
)


def preprocessing(name: str, image_size: int, model: torch.nn.Module) -> dict[str, Any]:
    transform: Any = model.transform
    return {
        "input": "float32 RGB 0..1, CHW; the model resizes and normalises itself",
        "resize": "to image_size x image_size" if fixed_size(name) else "longer side to image_size",
        "image_size": image_size,
        "mean": list(transform.image_mean),
        "std": list(transform.image_std),
    }


def save_detector(
    out_dir: Path, model: torch.nn.Module, name: str, classes: list[str], image_size: int, score: float
) -> dict[str, Path]:
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out_dir / MODEL_FILE))
    config = {
        "task": "detection",
        "architecture": name,
        "num_classes": len(classes),
        "label_names": list(classes),
        "image_size": image_size,
        "score_threshold": score,
        "labels": "the model's label i is label_names[i - 1]; label 0 is the background",
        "preprocessing": preprocessing(name, image_size, model),
    }
    (out_dir / MODEL_CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
    return {"model": out_dir / MODEL_FILE, "config": out_dir / MODEL_CONFIG_FILE}


def is_detection_run(out_dir: Path) -> bool:
    try:
        config = json.loads((out_dir / MODEL_CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("task") == "detection"


def read_config(out_dir: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((out_dir / MODEL_CONFIG_FILE).read_text(encoding="utf-8"))
    return config


def load_detector(out_dir: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The saved detector (eval mode, CPU) and its config.json."""
    config = read_config(out_dir)
    model = architecture(config["architecture"], config["num_classes"], config["image_size"])
    model.load_state_dict(load_file(str(out_dir / MODEL_FILE)))
    return model.eval(), config


def write_model_card(
    out_dir: Path, config: dict[str, Any], report: dict[str, Any], metrics: dict[str, Any]
) -> Path:
    """README.md in the run folder: the data, settings, detection figures, how to load and predict."""
    per_class = metrics.get("per_class_ap50") or {}
    boxes = report.get("boxes_per_class", {})
    results = []
    if metrics.get("test"):
        test = metrics["test"]
        results.append(f"- Held-out test mAP@[.50:.95] {test['map']:.3f}, mAP@.50 {test['map50']:.3f}.")
    results += reports.onnx_result(read_report(metrics.get("onnx")))
    card = reports.ModelCard(
        title=f"{config['model']} object detector ({len(metrics['classes'])} classes)",
        command="python -m training --task detection",
        data=[
            f"Dataset: `{config['dataset_path']}` ({report.get('format')} format): {report.get('images')} "
            f"images, {report.get('boxes')} boxes, {report.get('images_without_boxes')} images without "
            "boxes.",
            "",
            "| class | boxes | val AP@.50 (best epoch) |",
            "|---|---|---|",
            *(
                f"| {name} | {boxes.get(name, 0)} | "
                + (f"{per_class[name]:.3f}" if name in per_class else "no val boxes")
                + " |"
                for name in metrics["classes"]
            ),
        ],
        best=f"Best validation mAP@[.50:.95] {metrics['best_val_map']:.3f} and mAP@.50 "
        f"{metrics['best_val_map50']:.3f} (COCO, by pycocotools)",
        results=results,
        files=f"curves: `{CURVES_FILE}`; validation images with predicted and true boxes: "
        f"`{VAL_PREDICTIONS_FILE}`",
        python=[
            "from pathlib import Path",
            "from training.detection.artifacts import load_detector",
            "",
            f'model, config = load_detector(Path("{out_dir.resolve()}"))',
            "# model([image]) with a float 0..1 CHW tensor: boxes (x1, y1, x2, y2 px), scores, labels;",
            '# label i is config["label_names"][i - 1]',
        ],
        predict="From the command line (one JSON line per image, boxes in the image's own pixels)",
        predict_flags=" [--conf C] [--max-boxes N] [--draw DIR]",
    )
    return reports.write_model_card(out_dir, config, metrics, card, "no better val mAP")
