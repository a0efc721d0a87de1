"""`python -m training.predict`: the saved model reloads and agrees with the trainer's own validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import timm
import timm.data
import torch
from PIL import Image

from tests.imagegen import make_image_folder
from tests.trainer_helpers import run_trainer
from training.artifacts import load_confusion_matrix, load_model
from training.contract import ExitCode
from training.data import discover
from training.predict import Predictor, main


@pytest.fixture(scope="module")
def run(module_tmp: Path) -> tuple[Path, Path, list]:
    root = module_tmp
    data = make_image_folder(root / "data", per_class=10)
    code, events = run_trainer(data, root / "out", "--lr", "0.003", epochs=3)
    assert code == ExitCode.DONE
    return data, root / "out", events


def test_predictions_reproduce_the_validation_confusion_matrix(run) -> None:
    data, out, events = run
    done = events[-1]
    val = discover(data, seed=0).val  # the trainer's own split for the default seed
    predictor = Predictor(out)
    predicted = predictor.probabilities([path for path, _ in val]).argmax(1).tolist()
    confusion = [[0] * 3 for _ in range(3)]
    for (_, label), guess in zip(val, predicted, strict=True):
        confusion[label][guess] += 1
    assert confusion == load_confusion_matrix(out)[1]  # the saved model is the best epoch's
    assert sum(confusion[i][i] for i in range(3)) / len(val) == pytest.approx(done.best_val_acc)


def test_preprocessing_is_timms_own_eval_transform(run, tmp_path: Path) -> None:
    _, out, _ = run
    predictor = Predictor(out)
    model, _ = load_model(out)
    transform = timm.data.create_transform(**timm.data.resolve_data_config({}, model=model))
    generator = np.random.default_rng(0)
    paths = []
    for i, (width, height) in enumerate([(37, 53), (64, 48), (100, 100), (45, 91), (300, 200), (33, 36)]):
        pixels = generator.integers(0, 256, (height, width, 3), dtype=np.uint8)
        path = tmp_path / f"image_{i}.{'jpg' if i % 2 else 'png'}"
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(path)
    expected = torch.stack([transform(Image.open(path).convert("RGB")) for path in paths])
    got = predictor.inputs(paths)
    assert got.shape == expected.shape and (got - expected).abs().max() < 1e-5


def test_cli_prints_top_k_with_probabilities(run, capsys) -> None:
    data, out, _ = run
    images = [data / "circle" / "circle_000.png", data / "square" / "square_000.png"]
    assert main([str(out), *map(str, images), "--top-k", "2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["image"] for line in lines] == [str(p) for p in images]
    for line in lines:
        assert len(line["top"]) == 2 and {t["class"] for t in line["top"]} <= {"circle", "square", "triangle"}
        assert 1 >= line["top"][0]["probability"] >= line["top"][1]["probability"] >= 0


def test_cli_refuses_a_folder_without_a_model(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path), str(tmp_path / "x.png")]) == 2
    assert "model.safetensors missing" in capsys.readouterr().err
