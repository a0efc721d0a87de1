"""The GPU-ready paths, exercised on the CPU: decode_jpeg decoding with the PIL fallback, the compile policy,
and benchmarks/gpu_check.py at a small size, for a classifier and for a detector."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from tests.detection_datasets import write_yolo
from tests.imagegen import make_image_folder, make_split_folder
from training.data import load_eval_image, load_train_image, train_cache_side
from training.device import COMPILE_MIN_IMAGES, compiled
from training.gpu_decode import decode_into_on_device, decode_on_device, device_decoding_pays

CPU = torch.device("cpu")
REPO = Path(__file__).resolve().parents[1]


def test_decode_jpeg_path_matches_the_pil_preprocessing(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", classes=("a",), per_class=3, size=80, ext="jpg")
    paths = sorted((data / "a").iterdir())
    side = train_cache_side(64)
    decoded = decode_on_device(paths, CPU, side, side, threads=1)
    for path, image in zip(paths, decoded, strict=True):
        assert image is not None and image.shape == (3, side, side) and image.dtype == torch.uint8
        difference = (image.float() - load_train_image(path, 64).float()).abs().mean()
        assert difference < 6  # other resampling code, the same picture (values 0..255)
    short_side = int(64 / 0.875)
    evaluated = decode_on_device(paths[:1], CPU, short_side, 64, threads=1)[0]
    assert (evaluated.float() - load_eval_image(paths[0], 64, 0.875).float()).abs().mean() < 6


def test_files_the_device_cannot_take_go_through_pil_or_are_skipped(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", classes=("a",), per_class=2, size=48, ext="jpg")
    Image.new("RGB", (48, 48), (0, 200, 0)).save(data / "a" / "green.png")
    Image.new("CMYK", (48, 48), (0, 200, 200, 0)).save(data / "a" / "cmyk.jpg")
    (data / "a" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    samples = [(path, index) for index, path in enumerate(sorted((data / "a").iterdir()))]
    side = train_cache_side(32)
    out = torch.zeros(len(samples), 3, side, side, dtype=torch.uint8)
    seen: list[int] = []
    labels, skipped = decode_into_on_device(
        samples, lambda p: load_train_image(p, 32), out, CPU, side, threads=1, progress=seen.append
    )
    assert skipped == [data / "a" / "broken.jpg"]
    assert labels == [label for path, label in samples if path.name != "broken.jpg"]
    green = labels.index(next(label for path, label in samples if path.name == "green.png"))
    assert out[green, 1].float().mean() > 150  # the PNG came through PIL
    assert sum(seen) == len(samples) and seen[0] == 0


def test_device_decoding_is_never_chosen_on_a_cpu(tmp_path: Path) -> None:
    data = make_image_folder(tmp_path / "data", classes=("a",), per_class=2, ext="jpg")
    samples = [(path, 0) for path in (data / "a").iterdir()]
    assert not device_decoding_pays(samples, lambda p: load_train_image(p, 32), CPU, 36, 36, 1)


def test_compile_only_when_asked_or_where_it_pays() -> None:
    model = torch.nn.Linear(2, 2)
    assert compiled(model, "auto", CPU, images=10**9) is model  # measured: no gain on the CPU
    assert compiled(model, "off", torch.device("cuda", 0), images=10**9) is model
    assert compiled(model, "auto", torch.device("cuda", 0), images=COMPILE_MIN_IMAGES - 1) is model
    on_gpu = compiled(model, "auto", torch.device("cuda", 0), images=COMPILE_MIN_IMAGES)
    forced = compiled(model, "on", CPU, images=1)
    assert on_gpu is not model and forced is not model
    assert forced.state_dict().keys() != model.state_dict().keys()  # why checkpoints save `model` itself


def test_gpu_check_runs_on_a_cpu_at_a_small_size(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    gpu_check = pytest.importorskip("gpu_check")
    data = make_split_folder(tmp_path / "data", classes=("a", "b"), train_per_class=8, val_per_class=2)
    flags = [
        "--device",
        "cpu",
        "--jobs",
        "resnet18:32:8",
        "--epochs",
        "2",
        "--steps",
        "2",
        "--data",
        str(data),
    ]
    (result,) = gpu_check.main(flags)
    assert result["synthetic"] > 0 and result["trainer"] > 0
    assert result["ratio"] == pytest.approx(result["trainer"] / result["synthetic"])
    assert result["precision"] in ("fp32", "torch.bfloat16") and result["images_from"] == "cache_built"
    printed = capsys.readouterr().out
    assert "resnet18 @ 32 px, batch 8" in printed and "ratio" in printed


def test_gpu_check_measures_a_detector_on_a_cpu_at_a_small_size(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    gpu_check = importlib.import_module("gpu_check")
    write_yolo(tmp_path / "shapes", n_images=16, size=64, seed=2, negatives=0, split=True)
    flags = ["--device", "cpu", "--jobs", "fasterrcnn_mobilenet_v3_large_320_fpn:64:4", "--epochs", "2"]
    flags += ["--steps", "2", "--detection-data", str(tmp_path / "shapes")]
    (result,) = gpu_check.main(flags)
    assert result["synthetic"] > 0 and result["trainer"] > 0
    assert result["ratio"] == pytest.approx(result["trainer"] / result["synthetic"])
    assert result["precision"] == "fp32" and result["memory_format"] == "contiguous"
    printed = capsys.readouterr().out
    assert "fasterrcnn_mobilenet_v3_large_320_fpn @ 64 px, batch 4" in printed and "ratio" in printed


def test_a_cpu_run_is_deterministic_without_importing_the_compiler() -> None:
    """The flag costs a CPU run no compiler import (2 s of its start); in a fresh interpreter, as a run."""
    script = (
        "import sys, torch\n"
        "from training.cpus import host_plan\n"
        "from training.device import configure_backend\n"
        "configure_backend(torch.device('cpu'), host_plan(None, None))\n"
        "print(torch.are_deterministic_algorithms_enabled(),\n"
        "      torch.is_deterministic_algorithms_warn_only_enabled(), 'torch._inductor' in sys.modules)\n"
    )
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert found.stdout.split() == ["True", "True", "False"]
