"""A classifier's outputs: the model in timm's hub layout (model.safetensors + config.json, written by timm's
own save_for_hf so `timm.create_model("local-dir:OUT", pretrained=True)` restores it), results.csv's columns,
the confusion matrix (a file: it grows with the square of the class count), its plots and the model card's
content (training/reports.py writes what every task's run has). A plot that fails is left out with a line on
stderr: it never fails a run."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import timm
import torch
from timm.models import save_for_hf

from training import reports
from training.contract import (
    CONFUSION_DATA_FILE,
    CONFUSION_MATRIX_FILE,
    CURVES_FILE,
    MODEL_CONFIG_FILE,
    MODEL_FILE,
)
from training.data import RESIZE_INTERPOLATION
from training.events import EpochRecord
from training.export_report import read_report

RESULTS_COLUMNS = (
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "val_top5",
    "lr",
    "epoch_seconds",
)
MATRIX_PLOT_MAX_CLASSES = 50  # a readable matrix; past it, the most frequent confusions are plotted
MATRIX_NUMBERS_MAX_CLASSES = 30  # counts written in the cells
TOP_CONFUSIONS = 20
CURVES = (
    reports.Panel("Loss", (("train", "train_loss"), ("val", "val_loss"))),
    reports.Panel("Top-1 accuracy", (("train", "train_acc"), ("val", "val_acc")), ylim=(0, 1)),
)


def save_model(
    out_dir: Path,
    model: torch.nn.Module,
    classes: list[str],
    image_size: int,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    crop_pct: float,
) -> dict[str, Path]:
    """The weights and a config.json holding the architecture, the class names and the exact validation
    preprocessing (trained input size, mean, std, crop, interpolation)."""
    # safetensors needs contiguous tensors
    plain = copy.deepcopy(model).to("cpu", memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    trained_cfg: dict[str, Any] = model.pretrained_cfg  # type: ignore[assignment]  # set by timm
    plain.pretrained_cfg = {
        **trained_cfg,
        "input_size": (3, image_size, image_size),
        "mean": tuple(mean),
        "std": tuple(std),
        "crop_pct": crop_pct,
        "crop_mode": "center",
        "interpolation": RESIZE_INTERPOLATION,
        "num_classes": len(classes),
    }
    save_for_hf(plain, str(out_dir), model_config={"label_names": list(classes)}, safe_serialization=True)
    return {"model": out_dir / MODEL_FILE, "config": out_dir / MODEL_CONFIG_FILE}


def read_config(out_dir: Path) -> dict[str, Any]:
    return json.loads((out_dir / MODEL_CONFIG_FILE).read_text(encoding="utf-8"))


def load_model(out_dir: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The saved model back in timm (eval mode, on the CPU) and its config.json."""
    config = read_config(out_dir)
    model = timm.create_model(f"local-dir:{out_dir.resolve()}", pretrained=True)
    return model.eval(), config


def preprocessing(config: dict[str, Any]) -> dict[str, Any]:
    """The validation preprocessing recorded in a saved config.json."""
    cfg = config["pretrained_cfg"]
    return {
        "input_size": list(cfg["input_size"]),
        "mean": list(cfg["mean"]),
        "std": list(cfg["std"]),
        "crop_pct": cfg["crop_pct"],
        "crop_mode": cfg.get("crop_mode", "center"),
        "interpolation": cfg["interpolation"],
    }


def save_confusion_matrix(out_dir: Path, matrix: list[list[int]], classes: list[str]) -> Path:
    """The best epoch's confusion matrix (rows: true class, columns: predicted) with its class names."""
    path = out_dir / CONFUSION_DATA_FILE
    path.write_text(json.dumps({"classes": classes, "matrix": matrix}), encoding="utf-8")
    return path


def load_confusion_matrix(out_dir: Path) -> tuple[list[str], list[list[int]]]:
    saved = json.loads((out_dir / CONFUSION_DATA_FILE).read_text(encoding="utf-8"))
    return saved["classes"], saved["matrix"]


def top_confusions(
    matrix: list[list[int]], classes: list[str], count: int = TOP_CONFUSIONS
) -> list[tuple[str, str, int]]:
    """The most frequent mistakes as (true class, predicted class, images), most first."""
    errors = np.array(matrix, dtype=np.int64).reshape(len(classes), len(classes))
    np.fill_diagonal(errors, 0)
    flat = errors.ravel()
    order = np.argsort(flat, kind="stable")[::-1][:count]
    rows, cols = np.unravel_index(order, errors.shape)
    return [
        (classes[r], classes[c], int(flat[i])) for r, c, i in zip(rows, cols, order, strict=True) if flat[i]
    ]


def plots(
    out_dir: Path, history: Sequence[EpochRecord], matrix: list[list[int]], classes: list[str]
) -> dict[str, Path]:
    """The curves and the confusion plot, each left out when plotting it fails (a finished run stays
    finished): artifact name -> path."""
    made = {
        "curves": reports.plotted(lambda: reports.plot_curves(out_dir, history, CURVES)),
        "confusion_matrix": reports.plotted(lambda: plot_confusions(out_dir, matrix, classes)),
    }
    return {name: path for name, path in made.items() if path is not None}


def plot_confusions(out_dir: Path, matrix: list[list[int]], classes: list[str]) -> Path:
    """The matrix up to MATRIX_PLOT_MAX_CLASSES classes, else a bar chart of the most frequent
    confusions (the whole matrix is in CONFUSION_DATA_FILE)."""
    if len(classes) <= MATRIX_PLOT_MAX_CLASSES:
        return plot_confusion_matrix(out_dir, matrix, classes)
    return plot_top_confusions(out_dir, top_confusions(matrix, classes), len(classes))


def plot_confusion_matrix(out_dir: Path, matrix: list[list[int]], classes: list[str]) -> Path:
    size = max(4.0, 0.5 * len(classes) + 2)
    plt = reports.pyplot()
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
    if len(classes) <= MATRIX_NUMBERS_MAX_CLASSES:
        for row, values in enumerate(matrix):
            for col, value in enumerate(values):
                axes.text(col, row, str(value), ha="center", va="center", fontsize=8)
    return reports.save_figure(plt, figure, out_dir / CONFUSION_MATRIX_FILE)


def plot_top_confusions(out_dir: Path, confusions: list[tuple[str, str, int]], class_count: int) -> Path:
    plt = reports.pyplot()
    figure, axes = plt.subplots(figsize=(8, 1.5 + 0.3 * max(1, len(confusions))))
    labels = [f"{true} → {predicted}" for true, predicted, _ in confusions]
    axes.barh(range(len(confusions)), [images for _, _, images in confusions], color="tab:blue")
    axes.set_yticks(range(len(confusions)), labels, fontsize=8)
    axes.invert_yaxis()
    axes.set(
        xlabel="validation images",
        title=f"Most frequent confusions, true → predicted ({class_count} classes; val, best epoch)",
    )
    if not confusions:
        axes.text(0.5, 0.5, "no confusions", ha="center", va="center", transform=axes.transAxes)
    return reports.save_figure(plt, figure, out_dir / CONFUSION_MATRIX_FILE)


def write_model_card(
    out_dir: Path,
    config: dict[str, Any],
    class_counts: dict[str, dict[str, int]],
    metrics: dict[str, Any],
) -> Path:
    """README.md in the run folder. `class_counts` is split -> class -> images; `metrics` is what
    metrics.json holds."""
    classes: list[str] = metrics["classes"]
    splits = list(class_counts)
    results = reports.onnx_result(read_report(metrics.get("onnx")))
    if metrics.get("test"):
        results.append(f"- Held-out test accuracy: {metrics['test']['acc']:.1%}.")
    per_class = metrics.get("per_class_acc") or {}
    if per_class:
        results.append(
            "- Per-class validation accuracy: " + ", ".join(f"{k} {v:.0%}" for k, v in per_class.items())
        )
    card = reports.ModelCard(
        title=f"{config['model']} image classifier ({len(classes)} classes)",
        command="python -m training",
        data=[
            f"Dataset: `{config['dataset_path']}`.",
            "",
            "| class | " + " | ".join(splits) + " |",
            "|---|" + "---|" * len(splits),
            *(
                f"| {name} | " + " | ".join(str(class_counts[s].get(name, 0)) for s in splits) + " |"
                for name in classes
            ),
            "| **total** | " + " | ".join(str(sum(class_counts[s].values())) for s in splits) + " |",
        ],
        best=f"Best validation accuracy: {metrics['best_val_acc']:.1%}",
        results=results,
        files=f"curves: `{CURVES_FILE}`",
        python=[
            "import timm",
            "",
            f'model = timm.create_model("local-dir:{out_dir.resolve()}", pretrained=True).eval()',
            'labels = model.pretrained_cfg["label_names"]',
        ],
        predict="With the same preprocessing as validation, from the command line",
    )
    return reports.write_model_card(out_dir, config, metrics, card, "no improvement")
