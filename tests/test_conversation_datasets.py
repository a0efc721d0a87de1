"""Dataset paths resolve under DATA_ROOT only; summaries count images per class without decoding them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation.datasets import DatasetPathError, list_datasets, resolve_dataset_path, summarize_dataset
from tests.imagegen import make_image_folder, make_split_folder


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    make_image_folder(root / "cats", classes=("black", "orange", "white"), per_class=3)
    return root


@pytest.mark.parametrize(
    "spelling", ["cats", "./cats", "cats/", "DATA_ROOT/cats", "$DATA_ROOT/cats", "'cats'"]
)
def test_spellings_of_the_same_folder_resolve_to_it(data_root: Path, spelling: str) -> None:
    assert resolve_dataset_path(spelling, data_root) == (data_root / "cats").resolve()


def test_absolute_path_inside_data_root_is_accepted(data_root: Path) -> None:
    absolute = str((data_root / "cats").resolve())
    assert resolve_dataset_path(absolute, data_root) == (data_root / "cats").resolve()


@pytest.mark.parametrize("escape", ["..", "../", "cats/../..", "/etc", "/", "~", "."])
def test_paths_escaping_data_root_are_refused(data_root: Path, escape: str) -> None:
    with pytest.raises(DatasetPathError) as caught:
        resolve_dataset_path(escape, data_root)
    assert caught.value.reason == "outside"
    assert "DATA_ROOT" in caught.value.message


def test_symlink_pointing_outside_is_refused(data_root: Path, tmp_path: Path) -> None:
    outside = make_image_folder(tmp_path / "secret", classes=("a", "b"), per_class=1)
    (data_root / "sneaky").symlink_to(outside, target_is_directory=True)
    with pytest.raises(DatasetPathError) as caught:
        resolve_dataset_path("sneaky", data_root)
    assert caught.value.reason == "outside"


def test_missing_folder_lists_existing_datasets(data_root: Path) -> None:
    (data_root / "dogs").mkdir()
    (data_root / ".hidden").mkdir()
    with pytest.raises(DatasetPathError) as caught:
        resolve_dataset_path("birds", data_root)
    assert caught.value.reason == "not_found"
    assert caught.value.available == ["cats", "dogs"]
    assert "cats, dogs" in caught.value.message
    assert list_datasets(data_root) == ["cats", "dogs"]


def test_uploaded_datasets_are_listed_by_their_path_under_uploads(data_root: Path) -> None:
    (data_root / "uploads" / "pets" / "pug").mkdir(parents=True)
    (data_root / "uploads" / ".incoming-1234").mkdir()
    assert list_datasets(data_root) == ["cats", "uploads/pets"]


def test_containment_only_check_accepts_missing_folder(data_root: Path) -> None:
    assert resolve_dataset_path("birds", data_root, must_exist=False) == (data_root / "birds").resolve()
    with pytest.raises(DatasetPathError):
        resolve_dataset_path("../birds", data_root, must_exist=False)


def test_summary_counts_images_and_ignores_clutter(data_root: Path) -> None:
    cats = data_root / "cats"
    (cats / ".DS_Store").write_text("x")
    (cats / "black" / "notes.txt").write_text("not an image")
    (cats / "black" / ".hidden.png").write_bytes(b"")
    (cats / "__MACOSX" / "black").mkdir(parents=True)
    (cats / "__MACOSX" / "black" / "x.png").write_bytes(b"")
    (cats / "empty").mkdir()
    summary = summarize_dataset(cats)
    assert summary.classes == ["black", "orange", "white"]
    assert summary.counts == {"black": 3, "orange": 3, "white": 3}
    assert summary.total_images == 9
    assert summary.splits == {}


def test_summary_of_split_dataset(tmp_path: Path) -> None:
    root = make_split_folder(
        tmp_path / "flowers", classes=("rose", "tulip"), train_per_class=3, val_per_class=2
    )
    summary = summarize_dataset(root)
    assert summary.classes == ["rose", "tulip"]
    assert summary.counts == {"rose": 5, "tulip": 5}
    assert summary.splits == {"train": {"rose": 3, "tulip": 3}, "val": {"rose": 2, "tulip": 2}}


def test_folder_without_class_folders_is_refused(tmp_path: Path) -> None:
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.png").write_bytes(b"")
    with pytest.raises(DatasetPathError) as caught:
        summarize_dataset(tmp_path / "flat")
    assert caught.value.reason == "empty"
