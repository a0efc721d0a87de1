"""A run with many classes ends like any other: the confusion matrix is a file (never in an event, the
database or a list view), plotted as a matrix only while readable, as the most frequent confusions past
that, and a plot that fails leaves the finished run finished."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.imagegen import make_split_folder
from tests.trainer_helpers import run_trainer
from training import artifacts
from training.contract import CONFUSION_DATA_FILE, METRICS_FILE, ExitCode
from training.events import EpochRecord

CLASSES = [f"species_{i:03d}" for i in range(300)]


@pytest.fixture(scope="module")
def many(module_tmp: Path) -> tuple[Path, list]:
    data = make_split_folder(module_tmp / "data", CLASSES, train_per_class=1, val_per_class=1)
    code, events = run_trainer(data, module_tmp / "out", "--model", "test_resnet", "--batch-size", "300")
    assert code == ExitCode.DONE, events[-1]
    return module_tmp / "out", events


def test_a_300_class_run_completes_with_its_matrix_in_a_file_only(many: tuple[Path, list]) -> None:
    out, events = many
    done = events[-1]
    assert done.type == "done" and len(done.per_class_acc) == 300
    classes, matrix = artifacts.load_confusion_matrix(out)
    assert classes == CLASSES and len(matrix) == 300 and sum(map(sum, matrix)) == 300  # one val image each
    assert Path(done.artifacts["confusion_matrix_data"]) == out / CONFUSION_DATA_FILE
    assert "confusion_matrix" not in done.model_dump()
    assert len(done.to_json_line()) < 20_000  # the 300 x 300 matrix alone would be 180,000 characters
    assert "confusion_matrix" not in json.loads((out / METRICS_FILE).read_text())
    # the most frequent confusions, a normal-sized image (the matrix would be 15,200 pixels wide)
    with Image.open(done.artifacts["confusion_matrix"]) as plot:
        assert plot.size[0] <= 1000


def test_the_most_frequent_confusions_come_first_and_the_diagonal_is_left_out() -> None:
    matrix = [[5, 1, 0], [7, 2, 0], [0, 3, 9]]
    assert artifacts.top_confusions(matrix, ["a", "b", "c"]) == [("b", "a", 7), ("c", "b", 3), ("a", "b", 1)]
    assert artifacts.top_confusions(matrix, ["a", "b", "c"], count=1) == [("b", "a", 7)]
    assert artifacts.top_confusions([[4, 0], [0, 4]], ["a", "b"]) == []


def test_a_plot_that_fails_is_left_out_and_the_rest_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def too_big(*_: object) -> Path:
        raise ValueError("Image size of 50200x50200 pixels is too large")

    monkeypatch.setattr(artifacts, "plot_confusions", too_big)
    history = [EpochRecord(epoch=1, train_loss=1.0, val_loss=1.0, train_acc=0.5, val_acc=0.5)]
    made = artifacts.plots(tmp_path, history, [[1, 0], [0, 1]], ["a", "b"])
    assert list(made) == ["curves"] and made["curves"].is_file()
    assert "too large" in capsys.readouterr().err
