"""Run outputs: the model in timm's hub layout (model.safetensors + config.json), metrics and plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import timm
import torch
from safetensors.torch import save_file

from training.contract import (
    CONFUSION_MATRIX_FILE,
    CURVES_FILE,
    METRICS_FILE,
    MODEL_CONFIG_FILE,
    MODEL_FILE,
)


def save_model(
    out_dir: Path,
    model: torch.nn.Module,
    architecture: str,
    classes: list[str],
    image_size: int,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    crop_pct: float,
    interpolation: str,
) -> dict[str, Path]:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out_dir / MODEL_FILE))
    config = {
        "architecture": architecture,
        "num_classes": len(classes),
        "num_features": getattr(model, "num_features", None),
        "label_names": classes,
        "pretrained_cfg": {
            "input_size": [3, image_size, image_size],
            "interpolation": interpolation,
            "mean": list(mean),
            "std": list(std),
            "crop_pct": crop_pct,
            "crop_mode": "center",
            "num_classes": len(classes),
        },
    }
    (out_dir / MODEL_CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
    return {"model": out_dir / MODEL_FILE, "config": out_dir / MODEL_CONFIG_FILE}


def load_model(out_dir: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The saved model back in timm (eval mode) and its config.json."""
    config = json.loads((out_dir / MODEL_CONFIG_FILE).read_text(encoding="utf-8"))
    model = timm.create_model(
        config["architecture"],
        pretrained=True,
        num_classes=config["num_classes"],
        pretrained_cfg_overlay={"file": str(out_dir / MODEL_FILE), "num_classes": config["num_classes"]},
    )
    return model.eval(), config


def save_metrics(out_dir: Path, metrics: dict[str, Any]) -> Path:
    path = out_dir / METRICS_FILE
    path.write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return path


def plot_curves(out_dir: Path, history: list[dict[str, float]]) -> Path:
    epochs = [row["epoch"] for row in history]
    figure, (loss_axes, acc_axes) = plt.subplots(1, 2, figsize=(10, 4))
    loss_axes.plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    loss_axes.plot(epochs, [r["val_loss"] for r in history], "o-", label="val")
    loss_axes.set(title="Loss", xlabel="epoch")
    acc_axes.plot(epochs, [r["train_acc"] for r in history], "o-", label="train")
    acc_axes.plot(epochs, [r["val_acc"] for r in history], "o-", label="val")
    acc_axes.set(title="Top-1 accuracy", xlabel="epoch", ylim=(0, 1))
    for axes in (loss_axes, acc_axes):
        axes.legend()
        axes.grid(alpha=0.3)
    path = out_dir / CURVES_FILE
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_confusion_matrix(out_dir: Path, matrix: list[list[int]], classes: list[str]) -> Path:
    size = max(4.0, 0.5 * len(classes) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046)
    axes.set(
        xticks=range(len(classes)),
        yticks=range(len(classes)),
        xlabel="predicted",
        ylabel="true",
        title="Confusion matrix (val, best epoch)",
    )
    axes.set_xticklabels(classes, rotation=45, ha="right")
    axes.set_yticklabels(classes)
    if len(classes) <= 30:
        for row, values in enumerate(matrix):
            for col, value in enumerate(values):
                axes.text(col, row, str(value), ha="center", va="center", fontsize=8)
    path = out_dir / CONFUSION_MATRIX_FILE
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
