"""The contract between the bot and the trainer, declared once and imported by both sides.

- the run folder: the files the bot writes there and the ones the trainer leaves;
- exit codes and the failure kinds they stand for;
- the dataset layout: image extensions, hidden names, split folders, class folders and their images.

The events themselves are typed in training/events.py. Standard library only: the bot imports this, so it
must never import torch.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path, PurePath
from typing import Literal, TypeVar

# --- the run folder (`python -m training --out OUT`) --------------------------------------------------

RUN_CONFIG_FILE = "run.json"  # the TrainingConfig the bot writes and passes with --config
EVENTS_FILE = "events.jsonl"  # every event, appended by the trainer and tailed by the bot
STDERR_FILE = "stderr.log"  # the trainer's logs, where the bot launches it
CHECKPOINT_LAST_FILE = "checkpoint_last.pt"  # what --resume continues from
CHECKPOINT_BEST_FILE = "checkpoint_best.pt"
MODEL_FILE = "model.safetensors"  # the trained model in timm's hub layout, with MODEL_CONFIG_FILE
MODEL_CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
CURVES_FILE = "curves.png"
CONFUSION_MATRIX_FILE = "confusion_matrix.png"  # the matrix plot, or its most frequent confusions
CONFUSION_DATA_FILE = "confusion_matrix.json"  # the best epoch's matrix and classes; never in an event
RESULTS_FILE = "results.csv"  # one row per finished epoch
MODEL_CARD_FILE = "README.md"  # the model card
ONNX_FILE = "model.onnx"  # the verified ONNX export (training/export.py)
ONNX_INSTALL = 'pip install -e ".[onnx]"'  # how to get onnx and onnxruntime (the `onnx` extra)
# the decoded-image cache runs share (training/decoded_cache.py): by default a folder beside the run
# folders, so runs in OUTPUT_ROOT/<run> share OUTPUT_ROOT/decoded-cache; the bot passes it with --cache-dir
DECODED_CACHE_FOLDER = "decoded-cache"
DECODED_CACHE_MAX_MB = 20 * 1024


# --- what the trainer trains (`--task`) ----------------------------------------------------------------
TASKS = ("classification", "detection")
# torchvision's detectors the trainer builds for `--task detection`; the bot checks model names against it
DETECTION_MODELS = (
    "fasterrcnn_resnet50_fpn_v2",
    "fasterrcnn_mobilenet_v3_large_fpn",
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "retinanet_resnet50_fpn_v2",
    "fcos_resnet50_fpn",
    "ssdlite320_mobilenet_v3_large",
)
# Faster R-CNN with the ResNet-50 FPN v2 backbone, from its COCO weights: the most accurate of the family
# when fine-tuned on a few hundred images, and it fits one GPU at 640 px with a batch of 8
DEFAULT_DETECTOR = "fasterrcnn_resnet50_fpn_v2"
DETECTION_IMAGE_SIZE = 640  # the default input side for detection (classification's is the config's)
VAL_PREDICTIONS_FILE = "val_predictions.jpg"  # validation images with predicted and true boxes


# --- a trainer started ahead of time (training/warm.py) ------------------------------------------------
# `python -m training.warm` imports what every run needs, then reads one WarmRequest line on stdin and
# becomes `python -m training ARGV`; the bot keeps one ready so that a run skips the imports
TRAINER_MODULE = "training"
WARM_MODULE = "training.warm"
# the bot's note of which process took a run from a warm spare, whose command line names no run folder:
# "PID START_TIME" (/proc/PID/stat field 22), so a recycled pid is never taken for the trainer
WARM_PID_FILE = "trainer.pid"


def trainer_flags(command: list[str]) -> list[str] | None:
    """FLAGS when `command` is this package's trainer, `PYTHON -m training [FLAGS]`, else None."""
    if len(command) >= 3 and command[1:3] == ["-m", TRAINER_MODULE]:
        return command[3:]
    return None


def warm_command(trainer: list[str]) -> list[str] | None:
    """The spare for `trainer` when it is this package's trainer, else None; a run's request to the spare
    carries trainer_flags() of the run's command."""
    return [trainer[0], "-m", WARM_MODULE] if trainer_flags(trainer) is not None else None


# --- a run on several GPUs ----------------------------------------------------------------------------
# `python -m training.launch` is torchrun (same arguments) ending with the exit codes below; a run with
# gpus > 1 is started as `python -m training.launch --standalone --nproc-per-node N -m training ...`
LAUNCH_MODULE = "training.launch"


def launch_command(trainer: list[str], gpus: int) -> list[str]:
    """The command that starts `trainer` (an interpreter and `-m module` or a script) on `gpus` GPUs: the
    trainer itself for one, else one process per GPU under torchrun."""
    if gpus <= 1:
        return list(trainer)
    interpreter, *program = trainer
    return [interpreter, "-m", LAUNCH_MODULE, "--standalone", f"--nproc-per-node={gpus}", *program]


# --- exit codes and failure kinds ---------------------------------------------------------------------


class ExitCode(IntEnum):
    """`python -m training` exit codes."""

    DONE = 0
    INTERNAL = 1  # a bug or an unexpected failure
    CONFIG = 2  # bad flags or config values (also argparse's usage error code)
    DATASET = 3  # the dataset is missing, empty or malformed
    OUT_OF_MEMORY = 4
    STOPPED = 5  # stopped on request (SIGTERM/SIGINT) after saving a checkpoint


EXIT_CODE_MEANING: dict[ExitCode, str] = {
    ExitCode.DONE: "done",
    ExitCode.INTERNAL: "internal error",
    ExitCode.CONFIG: "config error",
    ExitCode.DATASET: "dataset error",
    ExitCode.OUT_OF_MEMORY: "out of memory",
    ExitCode.STOPPED: "stopped on request (SIGTERM/SIGINT; resume with --resume)",
}

ErrorKind = Literal["dataset", "config", "out_of_memory", "internal"]  # an `error` event's kind
FailureKind = ErrorKind | Literal["killed"]  # what the bot can tell from how the trainer ended

EXIT_CODE_FOR_ERROR: dict[ErrorKind, ExitCode] = {
    "dataset": ExitCode.DATASET,
    "config": ExitCode.CONFIG,
    "out_of_memory": ExitCode.OUT_OF_MEMORY,
    "internal": ExitCode.INTERNAL,
}
ERROR_FOR_EXIT_CODE: dict[int, ErrorKind] = {int(code): kind for kind, code in EXIT_CODE_FOR_ERROR.items()}


def failure_kind(returncode: int | None) -> FailureKind | None:
    """The failure a trainer's exit status implies; None when it implies none (running, done, stopped,
    or a code the trainer does not use)."""
    if returncode is None:
        return None
    if returncode == -signal.SIGKILL:  # killed from outside, usually by the kernel's OOM killer
        return "killed"
    return ERROR_FOR_EXIT_CODE.get(returncode)


# --- the dataset layout -------------------------------------------------------------------------------
# An ImageFolder: one folder per class holding images (at any depth), either directly in the dataset
# folder or inside a train/ split with optional val/ (or valid/, validation/) and test/ splits. Split
# names match in any letter case; hidden names (a leading dot) and OS metadata are never data.

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm"})
IGNORED_NAMES = frozenset({"__MACOSX", ".DS_Store", ".ipynb_checkpoints", "Thumbs.db", "desktop.ini"})
TRAIN_SPLIT = "train"
VAL_SPLITS = ("val", "valid", "validation")  # the first one present is the validation split
TEST_SPLIT = "test"
VAL_FRACTION = 0.2  # the share of each class that a dataset without a val/ split validates on


def is_visible(name: str) -> bool:
    """False for hidden files and folders and OS metadata (`.DS_Store`, `__MACOSX`, `Thumbs.db`, ...)."""
    return not name.startswith(".") and name not in IGNORED_NAMES


def is_image_name(name: str) -> bool:
    return is_visible(name) and PurePath(name).suffix.lower() in IMAGE_EXTENSIONS


def is_image_path(path: PurePath) -> bool:
    """A relative path (e.g. a zip member) names a dataset image: an image file under visible folders."""
    return all(is_visible(part) for part in path.parts[:-1]) and is_image_name(path.name)


def class_folders(folder: Path) -> list[Path]:
    """The visible sub-folders of `folder`, by name: the classes of an ImageFolder level."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(Path(entry.path) for entry in entries if is_visible(entry.name) and entry.is_dir())


def image_files(folder: Path) -> list[Path]:
    """Every image below `folder` (any depth, hidden folders skipped), sorted."""
    found: list[Path] = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = [name for name in dirs if is_visible(name)]
        found += [Path(current, name) for name in files if is_image_name(name)]
    return sorted(found)


@dataclass(frozen=True)
class SplitLayout:
    """Where a dataset's splits are. Without a train/ folder the dataset folder itself holds the classes
    (train=None), and val/ or test/ folders there are classes like any other."""

    train: Path | None = None
    val: Path | None = None
    test: Path | None = None

    def splits(self) -> dict[str, Path]:
        """The split folders present, by split name (train, val, test)."""
        named = {TRAIN_SPLIT: self.train, "val": self.val, TEST_SPLIT: self.test}
        return {name: path for name, path in named.items() if path is not None}


def split_layout(root: Path) -> SplitLayout:
    """The split folders of the dataset at `root`, matching names in any letter case."""
    by_name: dict[str, Path] = {}
    for folder in class_folders(root):
        by_name.setdefault(folder.name.lower(), folder)
    train = by_name.get(TRAIN_SPLIT)
    if train is None:
        return SplitLayout()
    val = next((by_name[name] for name in VAL_SPLITS if name in by_name), None)
    return SplitLayout(train=train, val=val, test=by_name.get(TEST_SPLIT))


_Item = TypeVar("_Item")


def split_groups(groups: Sequence[Sequence[_Item]], seed: int) -> list[tuple[list[_Item], list[_Item]]]:
    """A dataset without a val split, split by itself: per group (a class; for detection, the images whose
    rarest class it is), in order, one seeded shuffle puts ~VAL_FRACTION of it in val, at least one item;
    a group of one item stays in train. Returns (train, val) per group."""
    rng = random.Random(seed)
    halves = []
    for group in groups:
        items = list(group)
        rng.shuffle(items)
        n_val = max(1, round(len(items) * VAL_FRACTION)) if len(items) >= 2 else 0
        halves.append((items[n_val:], items[:n_val]))
    return halves
