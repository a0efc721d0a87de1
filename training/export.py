"""`python -m training.export OUT`: export a finished run's model to ONNX and verify it.

The model goes to OUT/model.onnx (torch.export's exporter, `dynamo=True`; the legacy TorchScript one only
when that fails, "exporter" in the report says which) with a dynamic batch axis and, in its metadata, the
class names and the validation preprocessing (input size, mean, std, interpolation, crop). onnxruntime then
runs it on the run's validation images beside PyTorch; the top-1 agreement and the largest absolute logit
difference go into the report (training/export_report.py), which metrics.json keeps under "onnx" and
stdout gets as one JSON line. A file whose agreement is below MIN_AGREEMENT is deleted rather than offered.

onnx and onnxruntime are an optional extra (`pip install -e ".[onnx]"`, ONNX_INSTALL); without them the
report says so and nothing is written.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import logging
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from training import reports
from training.augment import Normalizer
from training.contract import METRICS_FILE, MODEL_FILE, ONNX_FILE, ONNX_INSTALL
from training.export_report import ClassifierOnnxCheck, OnnxNotChecked, OnnxReport

log = logging.getLogger(__name__)

MIN_AGREEMENT = 0.999
OPSET = 18  # the dynamo exporter's lowest
BATCH = 64


def onnx_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))


def not_installed() -> OnnxNotChecked:
    return OnnxNotChecked(status="unavailable", message=f"onnx/onnxruntime are not installed: {ONNX_INSTALL}")


def check_export(
    out_dir: Path,
    model: torch.nn.Module,
    classes: list[str],
    preprocessing: dict[str, Any],
    val_batches: Iterable[torch.Tensor],
) -> ClassifierOnnxCheck | OnnxNotChecked:
    """Export `model` (any device; exported from a CPU fp32 copy) and compare onnxruntime with PyTorch on
    `val_batches` (uint8 NCHW, already resized and cropped as for validation): status "ok" (with the
    file), "refused" (the file deleted), or "unavailable"."""
    if not onnx_available():
        return not_installed()
    import onnx
    import onnxruntime

    started = time.perf_counter()
    model = _cpu_copy(model)
    size = preprocessing["input_size"][-1]
    path = out_dir / ONNX_FILE
    temporary = path.with_suffix(".tmp")
    exporter = _export(model, size, temporary)
    proto = onnx.load(str(temporary))
    onnx.helper.set_model_props(
        proto,
        {
            "class_names": json.dumps(classes),
            "preprocessing": json.dumps(preprocessing),
            "input": "float32 NCHW RGB: resize the short side to input_size / crop_pct with the "
            "interpolation, centre-crop input_size, scale to 0..1, subtract mean, divide by std",
            "output": "logits, one per class in class_names order (softmax for probabilities)",
        },
    )
    onnx.save(proto, str(temporary))
    session = onnxruntime.InferenceSession(str(temporary), providers=["CPUExecutionProvider"])
    normalize = Normalizer(tuple(preprocessing["mean"]), tuple(preprocessing["std"]), torch.device("cpu"))
    agree, total, max_diff = 0, 0, 0.0
    for images in val_batches:
        for chunk in images.cpu().split(BATCH):
            inputs = normalize(chunk).contiguous()
            with torch.no_grad():
                expected = model(inputs).numpy()
            (got,) = session.run(["logits"], {"image": inputs.numpy()})
            agree += int((expected.argmax(1) == got.argmax(1)).sum())
            total += len(chunk)
            max_diff = max(max_diff, float(np.abs(expected - got).max()))
    passed = bool(total) and agree / total >= MIN_AGREEMENT
    if passed:
        temporary.replace(path)
    else:
        temporary.unlink()
        path.unlink(missing_ok=True)  # an earlier export of this run is not offered either
    return ClassifierOnnxCheck(
        status="ok" if passed else "refused",
        images=total,
        top1_agreement=agree / total if total else None,
        max_abs_logit_diff=max_diff,
        min_agreement=MIN_AGREEMENT,
        opset=OPSET,
        exporter=exporter,
        seconds=round(time.perf_counter() - started, 3),
        file=str(path) if passed else None,
    )


def _export(model: torch.nn.Module, size: int, path: Path) -> Literal["dynamo", "torchscript"]:
    """Write `model` to `path` with torch.export's ONNX exporter (dynamo), or with the legacy TorchScript one
    when that fails (an operator it cannot trace yet); returns which one wrote it."""
    sample = (torch.zeros(1, 3, size, size),)
    names: dict[str, Any] = {"input_names": ["image"], "output_names": ["logits"], "opset_version": OPSET}
    with torch.no_grad():
        try:
            batch = torch.export.Dim("batch", min=1, max=4096)
            torch.onnx.export(
                model, sample, str(path), dynamic_shapes=({0: batch},), dynamo=True, verbose=False, **names
            )
            return "dynamo"
        except Exception as exc:  # any tracing failure: the legacy exporter may still work
            log.warning(
                "the dynamo ONNX exporter failed (%s: %s); using the TorchScript exporter",
                type(exc).__name__,
                exc,
            )
        with warnings.catch_warnings():  # its deprecation notice is torch's, nothing a user can act on
            warnings.simplefilter("ignore", DeprecationWarning)
            axes = {"image": {0: "batch"}, "logits": {0: "batch"}}
            torch.onnx.export(model, sample, str(path), dynamic_axes=axes, dynamo=False, **names)
    return "torchscript"


def _cpu_copy(model: torch.nn.Module) -> torch.nn.Module:
    cpu = copy.deepcopy(model).to("cpu", torch.float32, memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    return cpu.eval()


def export_run(out_dir: Path, workers: int = 1) -> OnnxReport:
    """Export a finished run's saved model, verified on its validation split (found again from the
    dataset and seed recorded in metrics.json); the report is also stored in metrics.json."""
    from training import artifacts  # timm's, which a detection run does not load
    from training.data import decode_all, discover, load_eval_image
    from training.detection.artifacts import is_detection_run

    if is_detection_run(out_dir):
        from training.detection.export import export_run as export_detector

        return export_detector(out_dir, workers)
    metrics_path = out_dir / METRICS_FILE
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    model, config = artifacts.load_model(out_dir)
    preprocessing = artifacts.preprocessing(config)
    size, crop_pct = preprocessing["input_size"][-1], preprocessing["crop_pct"]
    run = metrics["config"]
    plan = discover(Path(run["dataset_path"]), run["seed"])
    val, _ = decode_all(plan.val, lambda path: load_eval_image(path, size, crop_pct), size, workers)
    report = check_export(out_dir, model, config["label_names"], preprocessing, [val.images])
    metrics["onnx"] = report.model_dump()
    reports.save_metrics(out_dir, metrics)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m training.export", description=__doc__)
    parser.add_argument("out", type=Path, help="a finished run's output folder")
    parser.add_argument("--workers", type=int, default=1, help="decode threads (default 1)")
    args = parser.parse_args(argv)
    report: OnnxReport
    if not (args.out / MODEL_FILE).is_file() or not (args.out / METRICS_FILE).is_file():
        missing = f"no finished run in {args.out} (model or metrics.json missing)"
        report = OnnxNotChecked(status="error", message=missing)
    else:
        try:
            report = export_run(args.out, args.workers)
        except Exception as exc:  # a moved dataset, an operator ONNX lacks: a readable line, not a traceback
            log.exception("ONNX export failed")
            report = OnnxNotChecked(status="error", message=f"{type(exc).__name__}: {exc}")
    print(report.model_dump_json(), flush=True)
    return 0 if report.status == "ok" else 2 if report.status == "error" else 3


if __name__ == "__main__":
    raise SystemExit(main())
