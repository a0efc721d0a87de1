"""The ONNX export check's report across the trainer/bot boundary: what an exporter returns travels in
the done event and on the export's stdout line, the bot stores it and reads it back typed, and the
presenters word it; reports stored before the report said its task still read, and one that does not
validate reads as absent."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.predict import export
from bot.present import runs as present
from bot.runs import RunView
from bot.runs.record import record_event
from bot.runs.stored import stored_config
from bot.runs.views import view_of
from bot.storage import Database, RunStatus, TrainingRun
from tests.onnx_reports import CLASSIFIER_REPORT, DETECTOR_REPORT
from tests.run_views import view
from training.contract import METRICS_FILE, ONNX_FILE
from training.events import DoneEvent, parse_event
from training.export_report import ClassifierOnnxCheck, DetectorOnnxCheck, OnnxNotChecked, OnnxReport

# each shape as its exporter builds it, and the words the completion and the reply on request show
CLASSIFIER = ClassifierOnnxCheck.model_validate(CLASSIFIER_REPORT)
DETECTOR = DetectorOnnxCheck.model_validate(DETECTOR_REPORT)
SHOWN = {
    "classification": {
        "en": (
            "• ONNX export verified: top-1 agreement with PyTorch *100.00%* on 6 validation images, largest "
            "logit difference 2.4e-06 (*Export ONNX* uploads it)",
            "✅ ONNX export of run #1 verified on 6 validation images: top-1 agreement with PyTorch "
            "*100.00%*, largest logit difference *2.4e-06*.",
        ),
        "ko": (
            "• ONNX 내보내기 검증 완료: 검증 이미지 6장에서 PyTorch와 top-1 일치율 *100.00%*, 최대 로짓 차이 "
            "2.4e-06 (*ONNX 내보내기*를 누르면 올려 드려요)",
            "✅ 학습 #1의 ONNX 내보내기를 검증 이미지 6장으로 확인했어요",
        ),
    },
    "detection": {
        "en": (
            "• ONNX export verified: 42 boxes on 10 validation images match PyTorch's (mean IoU 0.9999, "
            "largest score difference 3.1e-05; *Export ONNX* uploads it)",
            "✅ ONNX export of run #1 verified on 10 validation images: all 42 boxes matched PyTorch's "
            "(mean IoU *0.9999*, lowest 0.9991, largest score difference *3.1e-05*).",
        ),
        "ko": (
            "• ONNX 내보내기 검증 완료: 검증 이미지 10장의 박스 42개가 PyTorch와 일치해요 (평균 IoU 0.9999, "
            "최대 점수 차이 3.1e-05, *ONNX 내보내기*를 누르면 올려 드려요)",
            "✅ 학습 #1의 ONNX 내보내기를 검증 이미지 10장으로 확인했어요: 박스 42개가 모두 "
            "PyTorch와 일치해요",
        ),
    },
}
CONFIGS = {
    "classification": {"dataset_path": "/data/shapes", "model": "resnet18"},
    "detection": {"dataset_path": "/data/boxes", "task": "detection"},
}
FINALS = {"classification": {"val_acc": 0.75}, "detection": {"val_map50": 0.5, "val_map": 0.3}}


def stored_run(db: Database, task: str, done: DoneEvent) -> RunView:
    """The run's row after the bot recorded the trainer's done event, read back as the presenters do."""
    with db.session() as session:
        config = stored_config(CONFIGS[task]).model_dump(mode="json")
        row = TrainingRun(
            config=config,
            status=RunStatus.RUNNING,
            total_epochs=2,
            start_key=task,
            started_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        session.add(row)
        session.flush()
        record_event(session, row, done)
        return view_of(row)


@pytest.mark.parametrize(("task", "written"), [("classification", CLASSIFIER), ("detection", DETECTOR)])
def test_a_report_the_trainer_writes_is_what_the_presenters_show(
    db: Database, tmp_path: Path, task: str, written: OnnxReport
) -> None:
    # the trainer's finish: the exporter's report into metrics.json and the done event's line on stdout
    done = DoneEvent(
        task=task,
        epochs_completed=2,
        final=FINALS[task],
        best_epoch=2,
        onnx=written.model_dump(),
        artifacts={"model": "/out/model.safetensors"},
    )
    received = parse_event(done.to_json_line())
    assert isinstance(received, DoneEvent) and received.onnx == written
    completed = stored_run(db, task, received)
    assert completed.summary.onnx == written
    for language, (line, _) in SHOWN[task].items():
        assert line in present.completion(completed, language)

    # on request: `python -m training.export` prints the report as its last JSON line, after torch's own
    printed = f"print('exporting...'); print({written.model_dump_json()!r})"
    reported = export.run_export(tmp_path, [sys.executable, "-c", printed])
    assert reported == written
    for language, (_, reply) in SHOWN[task].items():
        assert present.onnx_report(language, 1, reported).startswith(reply)


@pytest.mark.parametrize(
    ("task", "stored", "kind"),
    [
        ("classification", CLASSIFIER_REPORT, ClassifierOnnxCheck),
        ("detection", DETECTOR_REPORT, DetectorOnnxCheck),
    ],
)
def test_a_report_stored_before_it_said_its_task_still_reads(
    tmp_path: Path, task: str, stored: dict[str, Any], kind: type
) -> None:
    (tmp_path / ONNX_FILE).write_bytes(b"onnx")
    (tmp_path / METRICS_FILE).write_text(json.dumps({"onnx": stored}), encoding="utf-8")
    run = view(
        status=RunStatus.COMPLETED,
        config=CONFIGS[task],
        metrics={"final": FINALS[task], "onnx": stored},
        output_dir=str(tmp_path),
    )
    assert "task" not in stored and isinstance(run.summary.onnx, kind)
    assert SHOWN[task]["en"][0] in present.completion(run, "en")
    verified = export.verified_report(run)  # a file verified at training time is offered again
    assert isinstance(verified, kind) and export.offered_file(run, verified) == tmp_path / ONNX_FILE


def test_a_stored_report_that_does_not_validate_reads_as_absent(tmp_path: Path) -> None:
    broken = {**CLASSIFIER_REPORT, "top1_agreement": "all of them"}
    (tmp_path / ONNX_FILE).write_bytes(b"onnx")
    (tmp_path / METRICS_FILE).write_text(json.dumps({"onnx": broken}), encoding="utf-8")
    for report in (broken, {"status": "maybe"}, "ok"):
        run = view(
            status=RunStatus.COMPLETED,
            metrics={"final": {"val_acc": 0.75}, "onnx": report},
            output_dir=str(tmp_path),
        )
        assert run.summary.onnx is None and run.summary.final.val_acc == 0.75  # the rest still reads
        shown = present.completion(run, "en")
        assert "• Final validation accuracy: *75.0%*" in shown and not any("ONNX" in line for line in shown)
    assert export.verified_report(run) is None  # not offered: exported again on request


def test_a_refused_check_and_one_that_did_not_run_are_told_apart() -> None:
    refused = DETECTOR.model_copy(update={"status": "refused", "boxes_matched": 40, "file": None})
    assert present.onnx_line("en", refused) == "• ONNX export refused: only 40 of 42 boxes match PyTorch's"
    assert present.onnx_report("en", 3, refused).endswith(
        "(mean IoU 0.9999, lowest 0.9991; required IoU 0.99 and score difference at most 0.01), "
        "so no file is offered."
    )
    assert present.onnx_line("en", OnnxNotChecked(status="unavailable", message="no onnx")) is None
    failed = export.run_export(Path("/nonexistent"), [sys.executable, "-c", "print('no report')"])
    assert failed == OnnxNotChecked(status="error", message="exit code 0")
    assert present.onnx_report("en", 3, failed) == (
        "The ONNX export of run #3 failed. Tell an admin if it keeps happening.\n> exit code 0"
    )
