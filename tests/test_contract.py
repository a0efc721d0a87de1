"""The bot and the trainer read datasets, run folders and exit codes by the same rules (training/contract.py).

Each dataset rule is checked on both sides: the bot's summary (what a user is told before Start), the bot's
zip upload, and the trainer's discovery (what actually trains).
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import get_args

import pytest
from PIL import Image

from bot.conversation.datasets import summarize_dataset
from bot.runs.views import resumable_checkpoint
from bot.settings import Settings
from bot.storage import RunStatus, TrainingRun
from bot.uploads import extract_dataset_zip
from tests.imagegen import draw_sample, make_image_folder
from training import checkpoint
from training.contract import (
    EXIT_CODE_FOR_ERROR,
    EXIT_CODE_MEANING,
    IMAGE_EXTENSIONS,
    ErrorKind,
    ExitCode,
    failure_kind,
)
from training.data import discover
from training.errors import ConfigError, DatasetError, TrainerError


def _image(path: Path, index: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    draw_sample(index, 32, random.Random(index)).save(
        path, format=Image.registered_extensions()[path.suffix.lower()]
    )


def assert_both_sides_agree(root: Path) -> dict[str, int]:
    """The bot's summary and the trainer's plan see the same classes and the same images per split."""
    summary = summarize_dataset(root)
    plan = discover(root, seed=0)
    assert summary.classes == plan.classes
    assert summary.total_images == sum(plan.counts().values())
    bot_splits = {split: sum(counts.values()) for split, counts in summary.splits.items()}
    if "val" in bot_splits:
        assert bot_splits == plan.counts()
    else:  # the trainer holds part of the training images out for validation
        assert bot_splits.get("test", 0) == plan.counts().get("test", 0)
    return summary.counts


# --- exit codes ---------------------------------------------------------------------------------------


def test_exit_codes_map_to_kinds() -> None:
    assert [failure_kind(code) for code in (None, 0, 1, 2, 3, 4, 5, -9, -15)] == [
        None,
        None,
        "internal",
        "config",
        "dataset",
        "out_of_memory",
        None,
        "killed",
        None,
    ]


def test_every_error_kind_has_an_exit_code_that_maps_back() -> None:
    assert set(EXIT_CODE_FOR_ERROR) == set(get_args(ErrorKind))
    assert len(set(EXIT_CODE_FOR_ERROR.values())) == len(EXIT_CODE_FOR_ERROR)
    for kind, code in EXIT_CODE_FOR_ERROR.items():
        assert failure_kind(int(code)) == kind
    for error in (TrainerError, DatasetError, ConfigError):
        assert error.kind in EXIT_CODE_FOR_ERROR
    assert set(EXIT_CODE_MEANING) == set(ExitCode)


def test_trainer_help_lists_every_exit_code() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "training", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    help_text = " ".join(result.stdout.split())
    for code, meaning in EXIT_CODE_MEANING.items():
        assert f"{int(code)} {meaning}" in help_text


# --- image extensions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("extension", sorted(IMAGE_EXTENSIONS))
def test_every_image_extension_counts_on_both_sides(tmp_path: Path, extension: str) -> None:
    for index, name in enumerate(("cat", "dog")):
        for n in range(2):
            _image(tmp_path / "data" / name / f"{n}{extension.upper() if n else extension}", index)
    assert assert_both_sides_agree(tmp_path / "data") == {"cat": 2, "dog": 2}


def test_a_ppm_upload_is_kept_and_counted(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index, name in enumerate(("cat", "dog")):
            for n in range(2):
                image = io.BytesIO()
                draw_sample(index, 32, random.Random(n)).save(image, format="PPM")
                archive.writestr(f"pets/{name}/{n}.ppm", image.getvalue())
    upload = tmp_path / "pets.zip"
    upload.write_bytes(buffer.getvalue())
    settings = Settings(data_root=tmp_path / "data", upload_max_bytes=10_000_000, upload_max_files=100)
    result = extract_dataset_zip(upload, settings, "pets.zip")
    assert result.images == 4 and result.dropped == 0
    assert assert_both_sides_agree(result.path) == {"cat": 2, "dog": 2}


def test_other_files_are_not_images_on_either_side(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", classes=("cat", "dog"), per_class=3)
    (data / "cat" / "notes.txt").write_text("not an image")
    (data / "dog" / "labels.csv").write_text("a,b")
    assert assert_both_sides_agree(data) == {"cat": 3, "dog": 3}


# --- hidden files and OS metadata ---------------------------------------------------------------------

HIDDEN = (
    "cat/.hidden.png",
    "cat/.cache/0.png",
    "cat/__MACOSX/0.png",
    "dog/.ipynb_checkpoints/0.png",
    ".trash/0.png",
    "__MACOSX/cat/0.png",
)


def test_hidden_files_and_metadata_are_ignored_on_both_sides(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", classes=("cat", "dog"), per_class=3)
    for relative in HIDDEN:
        _image(data / relative)
    (data / "cat" / "Thumbs.db").write_bytes(b"x")
    (data / "dog" / "desktop.ini").write_text("[x]")
    assert assert_both_sides_agree(data) == {"cat": 3, "dog": 3}


def test_hidden_files_and_metadata_are_dropped_from_uploads(tmp_path: Path) -> None:
    source = make_image_folder(tmp_path / "src", classes=("cat", "dog"), per_class=3)
    entries = {f"pets/{p.relative_to(source).as_posix()}": p.read_bytes() for p in source.rglob("*.png")}
    image = next(iter(entries.values()))
    entries |= {f"pets/{relative}": image for relative in HIDDEN}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in entries.items():
            archive.writestr(name, payload)
    upload = tmp_path / "pets.zip"
    upload.write_bytes(buffer.getvalue())
    settings = Settings(data_root=tmp_path / "data", upload_max_bytes=10_000_000, upload_max_files=100)
    result = extract_dataset_zip(upload, settings, "pets.zip")
    assert result.images == 6 and result.dropped == len(HIDDEN)
    assert assert_both_sides_agree(result.path) == {"cat": 3, "dog": 3}


# --- split folders ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("train", "val", "test"),
    [
        ("train", "val", "test"),
        ("Train", "VALID", "Test"),
        ("TRAIN", "Validation", None),
        ("train", None, None),
    ],
)
def test_split_folders_match_in_any_case_on_both_sides(
    tmp_path: Path, train: str, val: str | None, test: str | None
) -> None:
    data = tmp_path / "data"
    make_image_folder(data / train, classes=("cat", "dog"), per_class=5, seed=1)
    expected = {"train": 10}
    if val:
        make_image_folder(data / val, classes=("cat", "dog"), per_class=2, seed=2)
        expected["val"] = 4
    if test:
        make_image_folder(data / test, classes=("cat", "dog"), per_class=1, seed=3)
        expected["test"] = 2
    summary = summarize_dataset(data)
    assert {split: sum(counts.values()) for split, counts in summary.splits.items()} == expected
    assert_both_sides_agree(data)


def test_only_the_first_validation_name_is_the_val_split_on_both_sides(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_image_folder(data / "train", classes=("cat", "dog"), per_class=5, seed=1)
    make_image_folder(data / "val", classes=("cat", "dog"), per_class=2, seed=2)
    make_image_folder(data / "validation", classes=("cat", "dog"), per_class=3, seed=3)
    assert summarize_dataset(data).splits["val"] == {"cat": 2, "dog": 2}
    assert_both_sides_agree(data)


def test_without_a_train_folder_split_names_are_classes_on_both_sides(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_image_folder(data, classes=("val", "test"), per_class=3)
    assert assert_both_sides_agree(data) == {"test": 3, "val": 3}
    assert summarize_dataset(data).splits == {}


# --- the run folder -----------------------------------------------------------------------------------


def test_the_bot_finds_the_checkpoint_the_trainer_writes(tmp_path: Path) -> None:
    written = checkpoint.save(tmp_path / checkpoint.LAST, {"epoch": 1})
    row = TrainingRun(status=RunStatus.STOPPED, output_dir=str(tmp_path))
    assert resumable_checkpoint(row) == str(written)
