"""`python -m training --task detection` on generated shapes (tests/detection_datasets.py): one small
SSDlite trained from random init at 64 px, shared by the tests of its events, learning, artifacts,
predictions (scored by pycocotools on their own), ONNX export and resume; plus the mAP against
pycocotools on a fixture, stop, early stopping and refused model names."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from safetensors.torch import load_file

from bot.present import runs as present
from tests.detection_datasets import write_yolo
from tests.trainer_helpers import read_events
from training import checkpoint, predict
from training.cli import main
from training.config import TrainingConfig
from training.contract import DEFAULT_DETECTOR, DETECTION_MODELS, ExitCode
from training.detection.coco_eval import Detections, coco_scores
from training.detection.data import BoxedImage, discover_detection
from training.detection.images import DetectionImages
from training.detection.models import architecture
from training.emit import EventWriter
from training.export_report import DetectorOnnxCheck
from training.loop import train
from training.task import RunOptions

EPOCHS = 12
MODEL = "ssdlite320_mobilenet_v3_large"
FLAGS = [
    "--task", "detection", "--model", MODEL, "--no-pretrained",
    "--image-size", "64", "--batch-size", "8", "--lr", "0.003", "--workers", "1", "--threads", "1",
    "--device", "cpu",
    "--early-stopping-patience", "0",
]  # fmt: skip


def run(data: Path, out: Path, *extra: str, epochs: int = EPOCHS) -> tuple[int, list]:
    code = main(["--data", str(data), "--out", str(out), "--epochs", str(epochs), *FLAGS, *extra])
    return code, read_events(out)


@pytest.fixture(scope="module")
def dataset(module_tmp: Path) -> Path:
    write_yolo(module_tmp / "shapes", n_images=40, size=64, seed=1, negatives=2, split=True)
    return module_tmp / "shapes"


@pytest.fixture(scope="module")
def trained(module_tmp: Path, dataset: Path) -> tuple[Path, list]:
    out = module_tmp / "run"
    code, events = run(dataset, out)
    assert code == ExitCode.DONE, [e for e in events if e.type == "error"]
    return out, events


def untrained_map50(data: Path) -> float:
    """What the same detector scores on the validation split before any training (same seed)."""
    torch.manual_seed(0)
    plan = discover_detection(data, 0)
    model = architecture(MODEL, len(plan.classes), 64).eval()
    images = DetectionImages(plan.val, 64, keep=True, threads=1)
    found = []
    with torch.no_grad():
        for _, batch, scales in images.batches(8):
            for output, scale in zip(model([i.float() / 255 for i in batch]), scales, strict=True):
                found.append(
                    Detections(
                        output["boxes"].numpy() / scale,
                        output["scores"].numpy(),
                        output["labels"].numpy() - 1,
                    )
                )
    return coco_scores(plan.val, plan.classes, found).map50


def test_events_carry_the_dataset_report_and_the_map_figures(trained, dataset: Path) -> None:
    _, events = trained
    kinds = [e.type for e in events if e.type not in ("preparing", "progress", "warning")]
    assert kinds == ["start", *["epoch"] * EPOCHS, "done"]
    start = next(e for e in events if e.type == "start")
    plan = discover_detection(dataset, 0)
    assert start.task == "detection" and start.classes == plan.classes
    assert start.detection.boxes == plan.report.boxes and start.detection.format == "yolo"
    assert start.counts == {"train": len(plan.train), "val": len(plan.val)}
    epochs = [e for e in events if e.type == "epoch"]
    assert all(0 <= e.val_map <= e.val_map50 <= 1 and e.val_acc is None for e in epochs)
    done = events[-1]
    best = max(epochs, key=lambda e: e.val_map)
    assert done.task == "detection" and done.best_epoch == best.epoch
    assert set(done.final) >= {"train_loss", "val_map50", "val_map"}
    assert set(done.per_class_ap50) <= set(plan.classes) and done.per_class_ap50


def test_the_detector_learns_well_above_an_untrained_one(trained, dataset: Path) -> None:
    out, events = trained
    metrics = json.loads((out / "metrics.json").read_text())
    before = untrained_map50(dataset)
    assert metrics["best_val_map50"] > max(0.08, 5 * before), (before, metrics["best_val_map50"])
    losses = [e.train_loss for e in events if e.type == "epoch"]
    assert losses[-1] < 0.6 * losses[0]


def test_artifacts_of_a_detection_run(trained) -> None:
    out, events = trained
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "detection" and config["architecture"] == MODEL
    assert config["label_names"] == ["square", "circle", "triangle"] and config["image_size"] == 64
    assert config["score_threshold"] == 0.5
    artifacts = events[-1].artifacts
    for name in (
        "model",
        "config",
        "checkpoint",
        "checkpoint_best",
        "curves",
        "model_card",
        "val_predictions",
    ):
        assert Path(artifacts[name]).is_file(), name
    header, *rows = (out / "results.csv").read_text().splitlines()
    assert header == "epoch,train_loss,val_map50,val_map,lr,epoch_seconds" and len(rows) == EPOCHS
    card = (out / "README.md").read_text()
    assert "mAP@.50" in card and "python -m training.predict" in card and "circle" in card


def coco_files(
    tmp: Path, val: list[BoxedImage], classes: list[str], found: list[Detections]
) -> tuple[Path, Path]:
    """The split and the predictions as COCO files, written here without the trainer's code."""
    images, annotations, results = [], [], []
    for image_id, (item, predicted) in enumerate(zip(val, found, strict=True), start=1):
        images.append(
            {"id": image_id, "width": item.width, "height": item.height, "file_name": item.path.name}
        )
        for (x1, y1, x2, y2), label in zip(item.boxes, item.labels, strict=True):
            annotations.append(
                {"id": len(annotations) + 1, "image_id": image_id, "category_id": label + 1,
                 "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0}
            )  # fmt: skip
        for (x1, y1, x2, y2), score, label in zip(
            predicted.boxes, predicted.scores, predicted.labels, strict=True
        ):
            results.append(
                {"image_id": image_id, "category_id": int(label) + 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                 "score": float(score)}
            )  # fmt: skip
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(classes)]
    truth, predictions = tmp / "truth.json", tmp / "predictions.json"
    truth.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    predictions.write_text(json.dumps(results))
    return truth, predictions


def pycocotools_stats(truth: Path, predictions: Path) -> tuple[float, float]:
    gt = COCO(str(truth))
    scored = COCOeval(gt, gt.loadRes(str(predictions)), "bbox")
    scored.evaluate()
    scored.accumulate()
    scored.summarize()
    return float(scored.stats[0]), float(scored.stats[1])


def test_map_equals_pycocotools_on_a_fixture_of_predictions(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    classes = ["a", "b", "c"]
    val, found = [], []
    for index in range(12):
        boxes = [
            (float(x), float(y), float(x + w), float(y + h))
            for x, y, w, h in rng.integers(5, 60, (index % 4, 4))
        ]
        labels = tuple(int(v) for v in rng.integers(0, 3, len(boxes)))
        val.append(BoxedImage(tmp_path / f"{index}.jpg", 128, 128, tuple(boxes), labels))
        jitter = rng.normal(0, 4, (len(boxes), 4))
        noise = rng.uniform(0, 100, (2, 4))
        noise[:, 2:] += noise[:, :2] + 5  # two false positives per image
        predicted = np.concatenate([np.asarray(boxes).reshape(-1, 4) + jitter, noise])
        wrong = rng.random(len(boxes)) < 0.2  # some with the wrong class
        predicted_labels = np.concatenate(
            [(np.asarray(labels, dtype=int) + wrong) % 3, rng.integers(0, 3, 2)]
        )
        found.append(Detections(predicted, rng.random(len(predicted)), predicted_labels))
    ours = coco_scores(val, classes, found)
    expected_map, expected_map50 = pycocotools_stats(*coco_files(tmp_path, val, classes, found))
    assert 0.1 < ours.map50 < 0.99
    assert ours.map == pytest.approx(expected_map, abs=1e-12) and ours.map50 == pytest.approx(
        expected_map50, abs=1e-12
    )
    assert set(ours.per_class_ap50) == set(classes)


def test_predict_boxes_scored_by_pycocotools_equal_the_runs_val_map50(
    trained, dataset: Path, tmp_path: Path, capsys
) -> None:
    out, _ = trained
    plan = discover_detection(dataset, 0)
    paths = [str(item.path) for item in plan.val]
    assert predict.main([str(out), *paths, "--conf", "0.01", "--max-boxes", "100"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["image"] for line in lines] == paths
    found = []
    for line in lines:
        scores = [b["score"] for b in line["boxes"]]
        assert scores == sorted(scores, reverse=True)
        boxes = np.asarray([b["box"] for b in line["boxes"]], dtype=float).reshape(-1, 4)
        labels = np.asarray([plan.classes.index(b["class"]) for b in line["boxes"]], dtype=int)
        found.append(Detections(boxes, np.asarray(scores), labels))
    _, map50 = pycocotools_stats(*coco_files(tmp_path, plan.val, plan.classes, found))
    metrics = json.loads((out / "metrics.json").read_text())
    assert map50 == pytest.approx(metrics["best_val_map50"], abs=0.005)


def test_predict_threshold_limit_and_drawing(trained, dataset: Path, tmp_path: Path, capsys) -> None:
    out, _ = trained
    image = sorted((dataset / "images" / "val").iterdir())[0]
    assert (
        predict.main([str(out), str(image), "--max-boxes", "2", "--conf", "0.05", "--draw", str(tmp_path)])
        == 0
    )
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert len(line["boxes"]) <= 2 and all(b["score"] >= 0.05 for b in line["boxes"])
    assert all(0 <= v <= 64 for b in line["boxes"] for v in b["box"])
    assert (tmp_path / f"{image.stem}.jpg").is_file()
    assert predict.main([str(out), str(image)]) == 0  # the run's own threshold by default
    (line,) = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert all(b["score"] >= 0.5 for b in line["boxes"])


def test_onnx_export_agrees_with_pytorch(trained) -> None:
    _, events = trained
    onnx = events[-1].onnx
    assert isinstance(onnx, DetectorOnnxCheck) and onnx.status == "ok", onnx
    assert onnx.boxes_matched == onnx.boxes_compared and onnx.images == 10
    assert onnx.min_iou >= 0.99 and onnx.class_agreement == 1.0
    assert onnx.file is not None and Path(onnx.file).is_file()
    # the words a person sees come from the report the trainer wrote
    line = f"• ONNX export verified: {onnx.boxes_compared} boxes on 10 validation images match PyTorch's"
    assert (present.onnx_line("en", onnx) or "").startswith(line)


def test_init_from_starts_a_detection_run_from_another_runs_weights(
    trained, tmp_path: Path, dataset: Path
) -> None:
    """--init-from takes the other run's detector: with a learning rate too small to move anything, the
    new run ends on those weights (BatchNorm's statistics, measured each epoch, aside), far from where a
    fresh detector starts."""
    out, _ = trained
    source = out / checkpoint.LAST
    code, _ = run(dataset, tmp_path / "next", "--init-from", str(source), "--lr", "1e-12", epochs=1)
    assert code == ExitCode.DONE
    given = checkpoint.load(source)["model"]
    ended = load_file(str(tmp_path / "next" / "model.safetensors"))
    learned = [key for key in given if "running_" not in key and "num_batches" not in key]
    assert learned and all(torch.allclose(ended[key], given[key], atol=1e-8) for key in learned)
    torch.manual_seed(0)
    fresh = architecture(MODEL, 3, 64).state_dict()
    assert sum(not torch.allclose(fresh[key], given[key], atol=1e-4) for key in learned) > len(learned) // 2


def test_resume_continues_after_the_saved_epoch(trained, tmp_path: Path, dataset: Path) -> None:
    out, _ = trained
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    (copy / "events.jsonl").unlink()
    code, events = run(dataset, copy, "--resume", "--no-onnx", epochs=EPOCHS + 1)
    assert code == ExitCode.DONE
    assert next(e for e in events if e.type == "start").resumed_from_epoch == EPOCHS
    assert [e.epoch for e in events if e.type == "epoch"] == [EPOCHS + 1]


def test_a_stop_saves_a_resumable_checkpoint(dataset: Path, tmp_path: Path) -> None:
    config = TrainingConfig(
        task="detection", dataset_path=str(dataset), model=MODEL,
        pretrained=False, image_size=64, epochs=3, batch_size=8,
    )  # fmt: skip
    stop = threading.Event()
    stop.set()  # asked to stop before the first step ends
    writer = EventWriter(tmp_path)
    code = train(config, RunOptions(tmp_path, device="cpu", workers=1, export_onnx=False), writer, stop)
    assert code == ExitCode.STOPPED
    assert writer.emitted[-1].type == "stopped" and (tmp_path / "checkpoint_last.pt").is_file()


def test_early_stopping_on_validation_map(dataset: Path, tmp_path: Path) -> None:
    """Patience 1: the run ends at the first epoch whose val mAP@[.50:.95] is no better than the best."""
    code, events = run(
        dataset, tmp_path, "--lr", "1e-9", "--early-stopping-patience", "1", "--no-onnx", epochs=4
    )
    assert code == ExitCode.DONE
    scores = [e.val_map for e in events if e.type == "epoch"]
    best, expected_end = 0, len(scores)
    for index, score in enumerate(scores):
        if score > scores[best] or index == 0:
            best = index
        elif index - best >= 1:
            expected_end = index + 1
            break
    done = events[-1]
    assert done.epochs_completed == expected_end == len(scores) and done.best_epoch == best + 1
    assert done.early_stopped == (expected_end < 4)


@pytest.mark.parametrize(
    ("name", "hint"), [("fasterrcnn_resnet50", "fasterrcnn_resnet50_fpn_v2"), ("resnet50", "")]
)
def test_unknown_detector_names_are_refused_with_close_names(
    tmp_path: Path, dataset: Path, name: str, hint: str
) -> None:
    code, events = run(dataset, tmp_path, "--model", name)
    assert code == ExitCode.CONFIG
    assert events[-1].type == "error" and f"unknown detection model '{name}'" in events[-1].message
    assert hint in events[-1].message


def test_batchnorm_statistics_are_each_epochs_own_from_random_init(trained) -> None:
    """From random init every BatchNorm starts its statistics afresh each epoch and keeps the plain mean
    of that epoch's batches: the saved (best) model's layers counted exactly one epoch's steps, and
    measured something (not the starting mean 0 and variance 1)."""
    out, events = trained
    steps = next(e.steps_per_epoch for e in events if e.type == "progress")
    state = load_file(str(out / "model.safetensors"))
    layers = [
        key.removesuffix(".num_batches_tracked") for key in state if key.endswith("num_batches_tracked")
    ]
    assert layers and all(int(state[f"{layer}.num_batches_tracked"]) == steps for layer in layers)
    assert all(state[f"{layer}.running_var"].ne(1).any() for layer in layers)


def test_detection_defaults_and_names() -> None:
    config = TrainingConfig(task="detection", dataset_path="data")
    assert config.model == DEFAULT_DETECTOR in DETECTION_MODELS and config.image_size == 640
    assert TrainingConfig(task="detection", dataset_path="d", image_size=320).image_size == 320
    assert TrainingConfig(dataset_path="data").model == "resnet50"  # classification keeps its defaults


def test_the_warm_prediction_worker_serves_a_detection_run(trained, dataset: Path, tmp_path: Path) -> None:
    from training.serve import Worker

    out, _ = trained
    image = sorted((dataset / "images" / "val").iterdir())[0]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    request = {
        "id": 7,
        "run_dir": str(out),
        "images": [str(image), str(broken)],
        "conf": 0.05,
        "max_boxes": 3,
    }
    reply = Worker("cpu").handle(request)
    assert reply["id"] == 7
    found, unreadable = reply["results"]
    assert found["image"] == str(image) and len(found["boxes"]) <= 3
    assert all(b["score"] >= 0.05 and b["class"] in ("square", "circle", "triangle") for b in found["boxes"])
    assert unreadable["error"] == "unreadable" and "boxes" not in unreadable
