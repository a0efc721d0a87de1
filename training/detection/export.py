"""A detector to ONNX, checked against PyTorch on the validation images before it is offered.

The graph takes one float32 RGB CHW image in 0..1 (the model resizes and normalises it itself): any height
and width for the detectors that keep the aspect ratio, the trained square for SSD (stated in the
metadata). onnxruntime's boxes are matched to PyTorch's on every validation image; the file is kept only
when every PyTorch box scoring at least COMPARED_SCORE has an ONNX box of the same class with IoU of at
least MIN_IOU and a score within MAX_SCORE_DIFF.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchvision.ops import box_iou

from training.contract import ONNX_FILE
from training.detection.coco_eval import Detections
from training.detection.images import DetectionImages
from training.export import OPSET, not_installed, onnx_available
from training.export_report import DetectionCriteria, DetectorOnnxCheck, OnnxNotChecked, OnnxReport

COMPARED_SCORE = 0.05
MIN_IOU = 0.99
MAX_SCORE_DIFF = 0.01


def check_export(
    out_dir: Path,
    model: torch.nn.Module,
    name: str,
    classes: list[str],
    preprocessing: dict[str, Any],
    val: DetectionImages,
) -> DetectorOnnxCheck | OnnxNotChecked:
    """Export the detector and match its boxes with PyTorch's on `val`: status "ok" (with the file),
    "refused" (the file deleted), or "unavailable"."""
    if not onnx_available():
        return not_installed()
    import onnx
    import onnxruntime

    started = time.perf_counter()
    model = copy.deepcopy(model).to("cpu", torch.float32, memory_format=torch.contiguous_format).eval()  # type: ignore[call-overload]
    fixed = getattr(model.transform, "fixed_size", None) is not None
    path, temporary = out_dir / ONNX_FILE, out_dir / f"{ONNX_FILE}.tmp"
    side = preprocessing["image_size"]
    sample = val.image(0)[0].float() / 255 if len(val) else torch.rand(3, side, side)
    if fixed:  # traced at one size: the image goes in at the size the model resizes it to
        sample = _square(sample, side)
    with torch.no_grad():
        torch.onnx.export(
            model,
            ([sample],),
            str(temporary),
            input_names=["image"],
            output_names=["boxes", "scores", "labels"],
            dynamic_axes={
                **({} if fixed else {"image": {1: "height", 2: "width"}}),
                "boxes": {0: "detections"},
                "scores": {0: "detections"},
                "labels": {0: "detections"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
    input_note = "any height and width" if not fixed else f"the trained size {side}x{side}"
    proto = onnx.load(str(temporary))
    onnx.helper.set_model_props(
        proto,
        {
            "task": "detection",
            "architecture": name,
            "class_names": json.dumps(classes),
            "preprocessing": json.dumps(preprocessing),
            "input": f"image: float32 RGB CHW in 0..1, {input_note}; the model resizes and normalises it",
            "output": "boxes (N, 4) x1, y1, x2, y2 in the input's pixels, scores (N,), labels (N,): "
            "label i is class_names[i - 1]",
        },
    )
    onnx.save(proto, str(temporary))
    session = onnxruntime.InferenceSession(str(temporary), providers=["CPUExecutionProvider"])
    compared, matched, classes_agree, ious, score_diff = 0, 0, 0, [], 0.0
    for index in range(len(val)):
        image = val.image(index)[0].float() / 255
        if fixed:
            image = _square(image, side)
        with torch.no_grad():
            (expected,) = model([image])
        got = dict(
            zip(("boxes", "scores", "labels"), session.run(None, {"image": image.numpy()}), strict=True)
        )
        keep = expected["scores"] >= COMPARED_SCORE
        want = Detections(
            expected["boxes"][keep].numpy(),
            expected["scores"][keep].numpy(),
            expected["labels"][keep].numpy(),
        )
        compared += len(want.scores)
        if not len(want.scores) or not len(got["scores"]):
            continue
        # each PyTorch box against the ONNX boxes of its class (an untrained model gives one box to
        # several classes with near-equal scores)
        overlap = box_iou(torch.from_numpy(want.boxes), torch.from_numpy(got["boxes"]))
        same_class = torch.from_numpy(want.labels)[:, None] == torch.from_numpy(got["labels"])[None, :]
        best_iou, best = overlap.where(same_class, torch.tensor(-1.0)).max(dim=1)
        for iou, j, score in zip(best_iou.tolist(), best.tolist(), want.scores.tolist(), strict=True):
            diff = abs(float(got["scores"][j]) - score)
            ious.append(max(0.0, iou))
            classes_agree += iou >= MIN_IOU
            score_diff = max(score_diff, diff) if iou >= MIN_IOU else score_diff
            matched += iou >= MIN_IOU and diff <= MAX_SCORE_DIFF
    passed = bool(len(val)) and matched >= compared
    if passed:
        temporary.replace(path)
    else:
        temporary.unlink()
        path.unlink(missing_ok=True)  # an earlier export of this run is not offered either
    return DetectorOnnxCheck(
        status="ok" if passed else "refused",
        images=len(val),
        input=input_note,
        boxes_compared=compared,
        boxes_matched=matched,
        mean_iou=float(np.mean(ious)) if ious else 1.0,
        min_iou=float(np.min(ious)) if ious else 1.0,
        class_agreement=classes_agree / compared if compared else 1.0,
        max_score_diff=score_diff,
        criteria=DetectionCriteria(
            score_at_least=COMPARED_SCORE, min_iou=MIN_IOU, max_score_diff=MAX_SCORE_DIFF
        ),
        opset=OPSET,
        seconds=round(time.perf_counter() - started, 3),
        file=str(path) if passed else None,
    )


def export_run(out_dir: Path, workers: int = 1) -> OnnxReport:
    """`python -m training.export` on a finished detection run: its saved model, checked on its validation
    split (found again from the dataset and seed metrics.json records); the report goes into metrics.json."""
    from training import reports
    from training.contract import METRICS_FILE
    from training.detection.artifacts import load_detector
    from training.detection.data import discover_detection

    metrics = json.loads((out_dir / METRICS_FILE).read_text(encoding="utf-8"))
    model, config = load_detector(out_dir)
    run = metrics["config"]
    plan = discover_detection(Path(run["dataset_path"]), run["seed"])
    val = DetectionImages(plan.val, config["image_size"], keep=False, threads=workers)
    report = check_export(
        out_dir, model, config["architecture"], config["label_names"], config["preprocessing"], val
    )
    metrics["onnx"] = report.model_dump()
    reports.save_metrics(out_dir, metrics)
    return report


def _square(image: torch.Tensor, side: int) -> torch.Tensor:
    return torch.nn.functional.interpolate(image[None], size=(side, side), mode="bilinear")[0]
