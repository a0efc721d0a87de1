"""The ONNX export check's report, declared once: what the exporters (training/export.py,
training/detection/export.py) return, metrics.json keeps under "onnx", `python -m training.export` prints
as one JSON line, the done event carries, and the bot stores and words. Pure pydantic, no torch.

A check that ran is a classifier's (top-1 agreement and logit difference) or a detector's (boxes matched
by IoU and score); one that did not run says why (onnx not installed, or the export failed).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, TypeAdapter, ValidationError

CheckStatus = Literal["ok", "refused"]  # the file passed the check (and is kept), or it did not
NotCheckedStatus = Literal["unavailable", "error"]  # onnx/onnxruntime are missing; the export failed


class _Report(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class OnnxNotChecked(_Report):
    """No check ran: onnx/onnxruntime are not installed ("unavailable"), or the export failed ("error");
    `message` says which, in the trainer's words."""

    status: NotCheckedStatus
    message: str = ""


class _OnnxCheck(_Report):
    status: CheckStatus
    images: int  # validation images both models ran on
    opset: int
    seconds: float
    file: str | None = None  # the verified model.onnx; only when status is "ok"


class ClassifierOnnxCheck(_OnnxCheck):
    """A classifier's check: onnxruntime's top-1 class against PyTorch's on every validation image."""

    task: Literal["classification"] = "classification"
    top1_agreement: float | None  # a fraction; None when there were no validation images
    max_abs_logit_diff: float
    min_agreement: float  # the bar the agreement had to reach
    exporter: Literal["dynamo", "torchscript"] | None = None  # which exporter wrote it (older reports: None)


class DetectionCriteria(_Report):
    """What a detector's check counts as a match."""

    score_at_least: float  # PyTorch's boxes scoring at least this are compared
    min_iou: float  # an ONNX box of the same class overlapping at least this much
    max_score_diff: float  # with a score this close


class DetectorOnnxCheck(_OnnxCheck):
    """A detector's check: each PyTorch box matched to onnxruntime's boxes of its class."""

    task: Literal["detection"] = "detection"
    input: str  # the image sizes the graph takes, in words
    boxes_compared: int
    boxes_matched: int
    mean_iou: float
    min_iou: float
    class_agreement: float  # a fraction of the boxes compared
    max_score_diff: float
    criteria: DetectionCriteria


OnnxCheck = ClassifierOnnxCheck | DetectorOnnxCheck


def _shape(report: Any) -> str | None:
    """Which report `report` is, for the union below. A check says its `task`; one stored before the
    report said it (every report up to this module) is a detector's when it counts boxes."""
    value = report.get if isinstance(report, dict) else lambda key: getattr(report, key, None)
    status = value("status")
    if status in ("unavailable", "error"):
        return "not_checked"
    if status not in ("ok", "refused"):
        return None  # not a report: validation fails
    return str(value("task") or ("detection" if value("boxes_compared") is not None else "classification"))


OnnxReport = Annotated[
    Annotated[OnnxNotChecked, Tag("not_checked")]
    | Annotated[ClassifierOnnxCheck, Tag("classification")]
    | Annotated[DetectorOnnxCheck, Tag("detection")],
    Discriminator(_shape),
]
ONNX_REPORT: TypeAdapter[OnnxReport] = TypeAdapter(OnnxReport)


def read_report(stored: Any) -> OnnxReport | None:
    """A report as metrics.json or a run's row keeps it; None when there is none or it does not validate
    (a stored report is read, never trusted to be well formed)."""
    try:
        return ONNX_REPORT.validate_python(stored) if stored is not None else None
    except ValidationError:
        return None
