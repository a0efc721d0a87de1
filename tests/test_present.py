"""Every run state in both languages, as Slack and the console show it: the same figures from one
presentation layer, and no English sentence for a Korean thread."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.console import plain, progress_line
from bot.present import runs as present
from bot.runs import InvalidRunState, NotAllowed, RunNotFound, RunView
from bot.slack import render
from bot.storage import RunStatus
from tests.english import english_sentences, texts_of_blocks
from tests.onnx_reports import CLASSIFIER_REPORT
from tests.run_views import NOW, view
from training.events import DoneEvent, RunSummary
from training.export_report import ONNX_REPORT

WARNING = {"code": "pretrained_unavailable", "message": "pretrained weights for resnet18 are not available"}
DONE_METRICS = {
    "final": {"val_acc": 0.9, "val_loss": 0.25, "train_loss": 0.2},
    "per_class_acc": {"cat": 1.0, "dog": 0.8},
    "best_val_acc": 0.92,
}

STATES: dict[str, RunView] = {
    "queued": view(status=RunStatus.QUEUED, queue_position=2, started_at=None, current_epoch=0),
    "scheduled": view(
        status=RunStatus.PENDING, scheduled_for=datetime(2026, 1, 2, 2, 0, tzinfo=UTC), started_at=None
    ),
    "preparing": view(
        current_epoch=0, progress=0.0, metrics={"preparing": {"phase": "decode", "done": 1200, "total": 5000}}
    ),
    "running": view(metrics={**view().metrics, "warnings": [WARNING]}, stalled=True),
    "completed": view(
        status=RunStatus.COMPLETED,
        current_epoch=10,
        completed_at=NOW,
        metrics={**DONE_METRICS, "artifacts": {"model": "/out/7/model.safetensors"}},
    ),
    "failed": view(status=RunStatus.FAILED, error_message="dataset", error_line="no such file: /data/x"),
    "stopped": view(status=RunStatus.STOPPED, checkpoint_path="/out/7/checkpoint_last.pt", completed_at=NOW),
    "interrupted": view(
        status=RunStatus.INTERRUPTED, error_message="interrupted", checkpoint_path="/out/7/checkpoint_last.pt"
    ),
}

# what each state must say, per language (a part of the status label and of its main line)
EXPECTED = {
    "queued": {"en": ("Queued", "Position in queue: 2"), "ko": ("대기 중", "대기 순서: 2번째")},
    "scheduled": {"en": ("Scheduled", "Starts at 2026-01-02 02:00 UTC"), "ko": ("예약됨", "시작 예정")},
    "preparing": {
        "en": ("Running", "Decoding images 1,200/5,000"),
        "ko": ("학습 중", "이미지 디코딩 중 1,200/5,000"),
    },
    "running": {
        "en": ("Running", "val acc 62.5% (best 70.0%)"),
        "ko": ("학습 중", "검증 정확도 62.5% (최고 70.0%)"),
    },
    "completed": {
        "en": ("Completed", "Final validation accuracy: 90.0%"),
        "ko": ("완료", "최종 검증 정확도: 90.0%"),
    },
    "failed": {"en": ("Failed", "one sub-folder per class"), "ko": ("실패", "클래스마다 하위 폴더가")},
    "stopped": {"en": ("Stopped", "stopped after epoch 3"), "ko": ("중지됨", "3 에폭 후에 멈췄어요")},
    "interrupted": {"en": ("Interrupted", "was interrupted"), "ko": ("중단됨", "중단됐어요")},
}


def slack_texts(run: RunView, language: str) -> str:
    """Everything Slack shows for the run: its progress message and, once it has ended, the reply."""
    rendered = [render.progress_message(run, language, now=NOW)]
    if run.status == RunStatus.COMPLETED:
        texts = [render.completion_text(run, language)]
    elif run.status.is_terminal:
        rendered.append(render.ending_message(run, language))
        texts = []
    else:
        texts = []
    texts += [r.text + "\n" + texts_of_blocks([b.to_dict() for b in r.blocks]) for r in rendered]
    return plain("\n".join(texts)).replace("&gt;", ">")


def console_texts(run: RunView, language: str) -> str:
    lines = [progress_line(run, language), *map(plain, present.warnings(run, language))]
    if run.status == RunStatus.COMPLETED:
        lines += map(plain, present.completion(run, language))
    elif run.status.is_terminal:
        lines += map(plain, present.ending(run, language))
    return "\n".join(lines)


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("state", list(STATES))
def test_every_state_in_both_languages_on_slack_and_the_console(state: str, language: str) -> None:
    run = STATES[state]
    label, line = EXPECTED[state][language]
    for shown in (slack_texts(run, language), console_texts(run, language)):
        assert label in shown and line in shown, (state, language, shown)
        if language == "ko":
            assert english_sentences(shown) == [], shown


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("state", ["running", "completed", "stopped"])
def test_the_console_line_carries_the_slack_figures(state: str, language: str) -> None:
    run = dataclasses.replace(STATES[state], stalled=False)
    line = progress_line(run, language)
    for figure in present.figures(run, language):
        assert plain(figure) in line
    assert present.figures(run, language)  # not vacuous
    slack = texts_of_blocks([b.to_dict() for b in render.progress_message(run, language).blocks])
    assert all(plain(figure) in plain(slack) for figure in present.figures(run, language))


def test_a_run_figures_in_detail() -> None:
    assert present.progress_bar(0) == "░" * 20 + " 0%"
    assert present.progress_bar(0.5) == "█" * 10 + "░" * 10 + " 50%"
    assert present.progress_bar(1.7) == "█" * 20 + " 100%"
    assert present.duration("en", 3725) == "1h02m" and present.duration("ko", 95) == "1분 35초"
    running = STATES["running"]
    assert (
        plain(present.progress(running, "en", NOW).stalled or "") == "⚠️ no news from the trainer for a while"
    )
    assert present.warnings(running, "en") == ["⚠️ pretrained weights for resnet18 are not available"]
    unknown = dataclasses.replace(running, metrics={"warnings": [{"code": "new_thing", "message": "x y z"}]})
    assert present.warnings(unknown, "ko") == ["⚠️ 학습 프로그램이 경고를 보냈어요 (new_thing)."]
    weights = dataclasses.replace(running, metrics={"preparing": {"phase": "weights", "done": 0, "total": 0}})
    assert present.progress(weights, "en").state == "Looking for pretrained weights…"
    assert present.progress(weights, "en").bar is None


def test_run_manager_refusals_are_worded_in_the_language() -> None:
    assert present.run_error("en", RunNotFound("not_found", run_id=9)) == "There is no run #9."
    assert present.run_error("ko", RunNotFound("not_found", run_id=9)) == "학습 #9는 없어요."
    finished = InvalidRunState("already_finished", run_id=3, status=RunStatus.COMPLETED)
    assert present.run_error("ko", finished) == "학습 #3은 이미 끝났어요 (✅ 완료)."
    assert "admin" in present.run_error("en", NotAllowed("not_allowed", run_id=3))


def test_a_scheduler_reason_without_its_own_text_is_shown_as_the_code() -> None:
    unknown = present.scheduler_queue_line("ko", 1, "QOSGrpCpuLimit")
    assert unknown == "Slurm 대기열 1번째: Slurm 대기열에서 기다리는 중 (QOSGrpCpuLimit)"


@pytest.mark.parametrize(
    ("data", "english", "korean"),
    [
        (
            {"images_from": "cache_hit", "images": 5000, "seconds": 0.12},
            "5,000 images from the decoded cache in 0.1 s",
            "이미지 5,000장을 디코딩 캐시에서 0.1초 만에 불러옴",
        ),
        (
            {"images_from": "cache_built", "images": 398, "seconds": 21.4},
            "398 images decoded in 21 s, kept for later runs",
            "이미지 398장을 21초 동안 디코딩하고",
        ),
        (
            {"images_from": "streaming", "images": 80000, "seconds": 3.0},
            "read from disk every epoch",
            "디스크에서 읽음",
        ),
    ],
)
def test_a_running_run_says_where_its_images_came_from(data: dict, english: str, korean: str) -> None:
    running = dataclasses.replace(STATES["running"], metrics={**STATES["running"].metrics, "data": data})
    assert any(english in figure for figure in present.figures(running, "en", NOW))
    assert any(korean in figure for figure in present.figures(running, "ko", NOW))
    finished = dataclasses.replace(STATES["completed"], metrics={**DONE_METRICS, "data": data})
    assert not any("images" in figure for figure in present.figures(finished, "en", NOW))
    # a report an older bot stored that no longer validates is read as absent; the other figures stay
    unknown = dataclasses.replace(running, metrics={**running.metrics, "data": {"images_from": "somewhere"}})
    assert unknown.figures.data is None and unknown.figures.latest.val_acc == 0.625
    assert not any("images" in figure for figure in present.figures(unknown, "en", NOW))


@pytest.mark.parametrize(
    ("language", "early", "onnx", "continues"),
    [
        ("en", "Stopped early at epoch 7: no improvement in validation accuracy for 5 epochs; best epoch 2",
         "ONNX export verified: top-1 agreement with PyTorch 100.00% on 6 validation images, largest logit "
         "difference 2.4e-06", "↪️ continues run #3"),
        ("ko", "7 에폭에서 조기 종료했어요: 5 에폭 동안 검증 정확도가 좋아지지 않았어요. 최고 에폭은 2",
         "ONNX 내보내기 검증 완료: 검증 이미지 6장에서 PyTorch와 top-1 일치율 100.00%, "
         "최대 로짓 차이 2.4e-06",
         "↪️ 학습 #3에서 이어서 학습"),
    ],
)  # fmt: skip
def test_the_completion_says_when_it_stopped_early_the_onnx_check_and_what_it_continues(
    language: str, early: str, onnx: str, continues: str
) -> None:
    run = dataclasses.replace(
        STATES["completed"],
        current_epoch=7,
        config=STATES["completed"].config.model_copy(update={"epochs": 30, "early_stopping_patience": 5}),
        metrics={**DONE_METRICS, "early_stopped": True, "best_epoch": 2, "onnx": CLASSIFIER_REPORT},
        continues_run_id=3,
    )
    for shown in (slack_texts(run, language), console_texts(run, language)):
        assert early in shown and onnx in shown and continues in shown, shown
        if language == "ko":
            assert english_sentences(shown) == [], shown
    plain_run = dataclasses.replace(STATES["completed"], metrics=DONE_METRICS)
    assert "early" not in slack_texts(plain_run, "en") and "ONNX" not in slack_texts(plain_run, "en")
    refused_report = {**CLASSIFIER_REPORT, "status": "refused", "top1_agreement": 0.98}
    refused = dataclasses.replace(run, metrics={**run.metrics, "onnx": refused_report})
    assert "ONNX export refused: top-1 agreement 98.00% is below 99.9%" in slack_texts(refused, "en")


def test_onnx_on_request_is_worded_from_the_check() -> None:
    assert present.onnx_report("en", 4, ONNX_REPORT.validate_python(CLASSIFIER_REPORT)) == (
        "✅ ONNX export of run #4 verified on 6 validation images: top-1 agreement with PyTorch *100.00%*, "
        "largest logit difference *2.4e-06*."
    )
    unavailable = {"status": "unavailable", "message": "onnx/onnxruntime are not installed"}
    missing = present.onnx_report("ko", 4, ONNX_REPORT.validate_python(unavailable))
    assert 'pip install -e ".[onnx]"' in missing and english_sentences(plain(missing)) == []
    failed = ONNX_REPORT.validate_python({"status": "error", "message": "FileNotFoundError: /data/pets"})
    assert present.onnx_report("en", 4, failed).endswith("> FileNotFoundError: /data/pets")
    assert "FileNotFoundError" not in present.onnx_report("ko", 4, failed)


def test_the_completion_reads_one_summary_from_the_done_event_or_the_stored_metrics() -> None:
    done = DoneEvent(
        epochs_completed=10, final={"val_acc": 0.9, "val_loss": 0.25, "train_loss": 0.2}, best_val_acc=0.92,
        best_epoch=8, per_class_acc={"cat": 1.0, "dog": 0.8}, confusion_matrix=[[1, 0], [0, 1]], artifacts={},
    )  # fmt: skip
    stored = dataclasses.replace(STATES["completed"], metrics=RunSummary.of(done).model_dump())
    assert present.completion(stored, "en") == present.completion(STATES["completed"], "en", done)
    detection = RunSummary.model_validate(
        {"final": {"val_map50": 0.61, "val_map": 0.4}, "per_class_ap50": {"a": 0.7}}
    )
    assert detection.final.val_map50 == 0.61 and detection.final.val_acc is None
    assert detection.per_class_ap50 == {"a": 0.7}
