"""`--task detection` under the real torchrun (python -m training.launch) with two CPU gloo ranks: one set of
events and artifacts (rank 0's), and the validation mAP of the whole split, as one process scores it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.detection_datasets import write_yolo
from tests.trainer_helpers import read_events
from training.contract import ExitCode, launch_command
from training.detection.artifacts import load_detector
from training.detection.coco_eval import Detections, coco_scores
from training.detection.data import discover_detection
from training.detection.images import DetectionImages

RANKS = 2


def test_two_cpu_ranks_train_a_detector_and_score_the_whole_split(tmp_path: Path) -> None:
    data, out = tmp_path / "shapes", tmp_path / "run"
    write_yolo(data, n_images=20, size=48, seed=2, negatives=1, split=True)
    trainer = launch_command([sys.executable, "-m", "training"], RANKS)
    flags = [
        "--task", "detection", "--data", str(data), "--out", str(out), "--epochs", "1",
        "--model", "ssdlite320_mobilenet_v3_large", "--no-pretrained", "--image-size", "48",
        "--batch-size", "8", "--workers", "1", "--device", "cpu", "--gpus", "2", "--no-onnx",
    ]  # fmt: skip
    env = os.environ | {"GLOO_SOCKET_IFNAME": "lo"}  # the ranks talk over loopback only
    result = subprocess.run([*trainer, *flags], env=env, capture_output=True, timeout=600)
    assert result.returncode == ExitCode.DONE, result.stderr.decode()[-3000:]
    events = read_events(out)
    assert [e.type for e in events].count("start") == 1 and events[-1].type == "done"
    (epoch,) = [e for e in events if e.type == "epoch"]
    # the best epoch's weights, scored by one process on the whole validation split
    model, _ = load_detector(out)
    plan = discover_detection(data, 0)
    images = DetectionImages(plan.val, 48, keep=True, threads=1)
    found = []
    for _, batch, scales in images.batches(4):
        for output, scale in zip(model([i.float() / 255 for i in batch]), scales, strict=True):
            boxes = output["boxes"].detach().numpy() / scale
            found.append(Detections(boxes, output["scores"].detach().numpy(), output["labels"].numpy() - 1))
    alone = coco_scores(plan.val, plan.classes, found)
    assert abs(alone.map50 - epoch.val_map50) < 1e-4 and abs(alone.map - epoch.val_map) < 1e-4
    assert json.loads((out / "metrics.json").read_text())["best_epoch"] == 1
