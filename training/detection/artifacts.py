"""A detection run's outputs: model.safetensors + config.json (task, architecture, class names, input side,
score threshold), the loaded model again, results.csv's columns, curves.png and the model card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from training.artifacts import pyplot
from training.contract import (
    CURVES_FILE,
    METRICS_FILE,
    MODEL_CARD_FILE,
    MODEL_CONFIG_FILE,
    MODEL_FILE,
    RESULTS_FILE,
    VAL_PREDICTIONS_FILE,
)
from training.detection.models import architecture, fixed_size

RESULTS_COLUMNS = ("epoch", "train_loss", "val_map50", "val_map", "lr", "epoch_seconds")


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


def plot_curves(out_dir: Path, history: list[dict[str, float]]) -> Path:
    epochs = [row["epoch"] for row in history]
    plt = pyplot()
    figure, (loss_axes, map_axes) = plt.subplots(1, 2, figsize=(10, 4))
    loss_axes.plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    loss_axes.set(title="Loss (sum of the detector's losses)", xlabel="epoch")
    map_axes.plot(epochs, [r["val_map50"] for r in history], "o-", label="val mAP@.50")
    map_axes.plot(epochs, [r["val_map"] for r in history], "o-", label="val mAP@[.50:.95]")
    map_axes.set(title="Validation mAP (COCO)", xlabel="epoch", ylim=(0, 1))
    for axes in (loss_axes, map_axes):
        axes.legend()
        axes.grid(alpha=0.3)
    path = out_dir / CURVES_FILE
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def write_model_card(
    out_dir: Path, config: dict[str, Any], report: dict[str, Any], metrics: dict[str, Any]
) -> Path:
    """README.md in the run folder: the data, settings, detection figures, how to load and predict."""
    per_class = metrics.get("per_class_ap50") or {}
    boxes = report.get("boxes_per_class", {})
    lines = [
        f"# {config['model']} object detector ({len(metrics['classes'])} classes)",
        "",
        "Trained with `python -m training --task detection`. Everything below comes from this run.",
        "",
        "## Data",
        "",
        f"Dataset: `{config['dataset_path']}` ({report.get('format')} format): {report.get('images')} "
        f"images, {report.get('boxes')} boxes, {report.get('images_without_boxes')} images without boxes.",
        "",
        "| class | boxes | val AP@.50 (best epoch) |",
        "|---|---|---|",
        *(
            f"| {name} | {boxes.get(name, 0)} | "
            + (f"{per_class[name]:.3f}" if name in per_class else "no val boxes")
            + " |"
            for name in metrics["classes"]
        ),
        "",
        "## Settings",
        "",
        *(f"- {key}: `{value}`" for key, value in config.items() if value is not None),
        "",
        "## Results",
        "",
        f"- Best validation mAP@[.50:.95] {metrics['best_val_map']:.3f}, "
        f"mAP@.50 {metrics['best_val_map50']:.3f} (COCO, pycocotools; epoch {metrics['best_epoch']} of "
        f"{len(metrics['history'])}); `{MODEL_FILE}` holds that epoch's weights.",
    ]
    if metrics.get("early_stopped_at"):
        lines.append(
            f"- Stopped early after epoch {metrics['early_stopped_at']}: no better val mAP for "
            f"{config.get('early_stopping_patience')} epochs."
        )
    if metrics.get("test"):
        test = metrics["test"]
        lines.append(f"- Held-out test mAP@[.50:.95] {test['map']:.3f}, mAP@.50 {test['map50']:.3f}.")
    onnx = metrics.get("onnx") or {}
    if onnx.get("status") == "ok":
        lines.append(
            f"- ONNX: `{Path(onnx['file']).name}` ({onnx['input']}; class names and preprocessing in its "
            f"metadata). onnxruntime agrees with PyTorch on {onnx['images']} validation images: matched "
            f"boxes' mean IoU {onnx['mean_iou']:.4f}, class agreement {onnx['class_agreement']:.1%}, largest "
            f"score difference {onnx['max_score_diff']:.2g}."
        )
    lines += [
        f"- Per-epoch figures: `{RESULTS_FILE}`; all metrics: `{METRICS_FILE}`; curves: `{CURVES_FILE}`; "
        f"validation images with predicted and true boxes: `{VAL_PREDICTIONS_FILE}`.",
        "",
        "## Load and predict",
        "",
        "```python",
        "from pathlib import Path",
        "from training.detection.artifacts import load_detector",
        "",
        f'model, config = load_detector(Path("{out_dir.resolve()}"))',
        "# model([image]) with a float 0..1 CHW tensor: boxes (x1, y1, x2, y2 px), scores, labels;",
        '# label i is config["label_names"][i - 1]',
        "```",
        "",
        "From the command line (one JSON line per image, boxes in the image's own pixels):",
        "",
        "```",
        f"python -m training.predict {out_dir.resolve()} IMAGE... [--conf C] [--max-boxes N] [--draw DIR]",
        "```",
        "",
    ]
    path = out_dir / MODEL_CARD_FILE
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
