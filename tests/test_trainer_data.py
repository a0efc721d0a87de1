"""Dataset checks and decoding: each dataset problem is an `error` event with exit code 3; odd images work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from tests.imagegen import make_image_folder, make_split_folder
from tests.trainer_helpers import after_preparing, run_trainer
from training.contract import ExitCode
from training.data import (
    available_memory_bytes,
    load_eval_image,
    load_train_image,
    open_rgb,
    train_cache_side,
)


def _missing(tmp: Path) -> Path:
    return tmp / "nope"


def _a_file(tmp: Path) -> Path:
    (tmp / "data.txt").write_text("not a folder")
    return tmp / "data.txt"


def _one_class(tmp: Path) -> Path:
    return make_image_folder(tmp / "data", classes=("only",), per_class=4)


def _empty_class(tmp: Path) -> Path:
    data = make_image_folder(tmp / "data", classes=("a", "b"), per_class=4)
    (data / "empty").mkdir()
    (data / "empty" / "notes.txt").write_text("no images here")
    return data


def _no_images(tmp: Path) -> Path:
    for name in ("a", "b"):
        (tmp / "data" / name).mkdir(parents=True)
        (tmp / "data" / name / "readme.txt").write_text("x")
    return tmp / "data"


def _val_mismatch(tmp: Path) -> Path:
    data = make_split_folder(tmp / "data", classes=("a", "b"), train_per_class=3, val_per_class=2)
    make_image_folder(data / "val", classes=("c",), per_class=2)
    return data


def _all_corrupt(tmp: Path) -> Path:
    for name in ("a", "b"):
        (tmp / "data" / name).mkdir(parents=True)
        for n in range(3):
            (tmp / "data" / name / f"{n}.jpg").write_bytes(b"definitely not a jpeg")
    return tmp / "data"


def _class_all_corrupt_in_train(tmp: Path) -> Path:
    data = make_split_folder(tmp / "data", classes=("a", "b"), train_per_class=3, val_per_class=2)
    for path in (data / "train" / "b").iterdir():
        path.write_bytes(b"definitely not an image")
    return data


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_missing, "does not exist"),
        (_a_file, "is not a folder"),
        (_one_class, "needs at least 2 class folders"),
        (_empty_class, "with no images in"),
        (_no_images, "no images found"),
        (_val_mismatch, "val classes don't match train classes (not in train: c)"),
        (_all_corrupt, "no readable image"),
        (_class_all_corrupt_in_train, "no readable training image left in class(es) b"),
    ],
)
def test_dataset_problems_give_an_error_event_and_exit_3(
    tmp_path: Path, make: Callable[[Path], Path], expected: str
) -> None:
    code, events = run_trainer(make(tmp_path), tmp_path / "out")
    events = after_preparing(events)  # decoding may have begun when a dataset problem shows
    assert code == ExitCode.DATASET
    assert [e.type for e in events] == ["error"]
    assert events[0].kind == "dataset" and expected in events[0].message


def _save_cmyk_jpeg(path: Path) -> None:
    Image.new("CMYK", (40, 30), (0, 200, 200, 0)).save(path)


def _save_exif_rotated(path: Path) -> None:
    image = Image.new("RGB", (48, 24), (200, 30, 30))
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° on display
    image.save(path, exif=exif)


def test_grayscale_palette_rgba_cmyk_and_exif_images_become_rgb(tmp_path: Path) -> None:
    Image.new("L", (30, 40), 128).save(tmp_path / "gray.png")
    Image.new("RGB", (40, 40), (10, 200, 10)).convert("P", palette=Image.Palette.ADAPTIVE).save(
        tmp_path / "p.gif"
    )
    Image.new("RGBA", (40, 40), (255, 0, 0, 0)).save(tmp_path / "rgba.png")
    _save_cmyk_jpeg(tmp_path / "cmyk.jpg")
    _save_exif_rotated(tmp_path / "rotated.jpg")
    for name in ("gray.png", "p.gif", "rgba.png", "cmyk.jpg", "rotated.jpg"):
        assert open_rgb(tmp_path / name, 32).mode == "RGB"
        assert load_train_image(tmp_path / name, 32).shape == (3, train_cache_side(32), train_cache_side(32))
        assert load_eval_image(tmp_path / name, 32, 0.875).shape == (3, 32, 32)
    assert open_rgb(tmp_path / "rotated.jpg", 24).size == (24, 48)  # EXIF orientation applied
    assert open_rgb(tmp_path / "rgba.png", 32).getpixel((0, 0)) == (255, 255, 255)  # transparent -> white


@pytest.mark.parametrize("path", [[], ["--cache-budget-mb", "0"]], ids=["cached", "streamed"])
def test_corrupt_images_are_skipped_with_a_warning(tmp_path: Path, path: list[str]) -> None:
    data = make_image_folder(tmp_path / "data", per_class=6)
    (data / "circle" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    png = (data / "square" / "square_000.png").read_bytes()
    (data / "square" / "truncated.png").write_bytes(png[: len(png) // 2])
    whole = tmp_path / "whole.jpg"
    Image.effect_noise((64, 64), 60).convert("RGB").save(whole, quality=90)
    jpeg = whole.read_bytes()  # a valid header, so only decoding every byte finds it short
    (data / "circle" / "cut_short.jpg").write_bytes(jpeg[: len(jpeg) * 2 // 3])
    Image.new("L", (32, 32), 90).save(data / "triangle" / "gray.png")
    _save_cmyk_jpeg(data / "triangle" / "cmyk.jpg")
    code, events = run_trainer(data, tmp_path / "out", *path)
    assert code == ExitCode.DONE
    warnings = [e for e in events if e.type == "warning" and e.code == "corrupt_images"]
    assert len(warnings) == 1 and "skipped 3 unreadable image(s)" in warnings[0].message
    assert "cut_short.jpg" in warnings[0].message
    start = after_preparing(events)[0]
    assert sum(start.counts.values()) == 18 + 2 + 3 - 3  # the modes are kept, the broken three are not


def test_class_imbalance_is_warned_about(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", classes=("big",), per_class=30)
    make_image_folder(data, classes=("small",), per_class=5)
    code, events = run_trainer(data, tmp_path / "out")
    assert code == ExitCode.DONE
    assert {"class_imbalance", "tiny_class"} <= {e.code for e in events if e.type == "warning"}


def test_memory_budget_counts_reclaimable_page_cache(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(
        "MemTotal:       32000000 kB\nMemFree:         1000000 kB\nMemAvailable:   20000000 kB\n"
    )
    assert available_memory_bytes(meminfo) == 20_000_000 * 1024
    assert available_memory_bytes(tmp_path / "missing") > 0  # other systems: free pages from sysconf
