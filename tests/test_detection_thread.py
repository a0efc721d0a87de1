"""A detection run in its Slack thread, end to end with the real slack-bolt/slack-sdk (against the local
stand-in) and the real trainer: mAP in the progress message, the completion reply with per-class AP and
val_predictions.jpg, images posted in the thread answered with boxes drawn (as `python -m training.predict`
draws and finds them), "신뢰도 0.05로 다시" re-answering the last images, the run list's task and mAP, the
ONNX export's box agreement, and the console's parity. One real run (SSDlite, 64 px, random init, a few
epochs) serves the whole module.

The module's run comes from a Korean conversation; an English thread with a COCO zip uploaded trains one
more, smaller run.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.runs import RunView
from bot.storage import RunStatus
from tests.conversation_support import typed_lines
from tests.detection_datasets import GroundTruth, write_coco, write_yolo
from tests.slack_harness import CHANNEL, SlackHarness
from tests.slack_standin import Message

OWNER = "UOWNER"
MODEL = "ssdlite320_mobilenet_v3_large"
EPOCHS = 4
TRAINER = [sys.executable, "-m", "training", "--device", "cpu", "--workers", "1", "--no-onnx"]
TRAIN_S = 240  # a cold torch import and a few epochs on a busy 2-core host
LOW = 0.05  # a threshold a few-epoch detector has boxes above
BOX_LINE = re.compile(r"• `([^`]+)`: (.+)")


class Finished:
    def __init__(
        self, slack: SlackHarness, thread: str, run: RunView, data: Path, truth: GroundTruth
    ) -> None:
        self.slack, self.thread, self.run, self.data, self.truth = slack, thread, run, data, truth


@pytest.fixture(scope="module")
def finished(module_tmp: Path) -> Iterator[Finished]:
    """A Korean thread asking for a detector on a YOLO folder under DATA_ROOT, from the first message to
    the completion reply."""
    data = module_tmp / "data" / "parts"
    truth = write_yolo(data, n_images=32, size=64, seed=3, negatives=2, split=True)
    # one person's predictions, exports and uploads, well within a minute: more than the default
    # heavy-action limit allows (bot/actions/fairness.py, tested on its own)
    slack = SlackHarness.start(module_tmp, TRAINER, user_heavy_actions_per_minute=100)
    try:
        thread = slack.open_thread(OWNER, "제품 사진에서 불량 위치를 찾는 모델 만들어줘")
        slack.wait_reply(thread, "객체 탐지")
        slack.say(thread, OWNER, "parts")
        slack.wait_reply(thread, "YOLO")
        slack.say(
            thread, OWNER, f"{MODEL}, {EPOCHS} 에폭, 이미지 크기 64, 배치 8, 학습률 0.003, 사전학습 없이"
        )
        summary = slack.summary(thread)
        assert "객체 탐지" in summary.text + str(summary.blocks)
        slack.standin.wait_ack(slack.standin.click(summary, OWNER, "train_start"))
        slack.wait_reply(thread, "최종 검증 mAP@.50", timeout=TRAIN_S)
        (run,) = slack.runs.recent_runs()
        assert run.status == RunStatus.COMPLETED and run.task == "detection"
        yield Finished(slack, thread, run, data, truth)
    finally:
        slack.close()


def replies_after(slack: SlackHarness, thread: str, count: int) -> list[Message]:
    return slack.bot_messages(thread)[count:]


def wait_new_reply(
    slack: SlackHarness, thread: str, before: int, contains: str, timeout: float = 120
) -> Message:
    return slack.standin.wait_for(
        lambda: next((m for m in replies_after(slack, thread, before) if contains in m.text), None),
        timeout,
        f"a new reply with {contains!r}",
    )


def trainers_own(out: str, paths: list[Path], conf: float | None, draw: Path) -> dict[str, list[dict]]:
    """`python -m training.predict OUT IMG... [--conf] --draw DIR`: each image's boxes, best first."""
    extra = ["--conf", str(conf)] if conf is not None else []
    result = subprocess.run(
        [sys.executable, "-m", "training.predict", out, *map(str, paths), *extra, "--draw", str(draw)],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return {Path(row["image"]).name: row["boxes"] for row in map(json.loads, result.stdout.splitlines())}


def expected_line(boxes: list[dict]) -> str:
    """The counts per class with top scores, as the thread words them (Korean), from the trainer's boxes."""
    by_class: dict[str, list[float]] = {}
    for box in boxes:
        by_class.setdefault(box["class"], []).append(box["score"])
    ordered = sorted(by_class.items(), key=lambda item: (-len(item[1]), -item[1][0]))
    return ", ".join(
        f"*{label}* {len(scores)}개 ({', '.join(f'{s:.2f}' for s in scores[:3])})"
        for label, scores in ordered
    )


def uploaded_bytes(slack: SlackHarness, message: Message) -> list[bytes]:
    return [slack.standin.uploads[file["id"]]["bytes"] for file in message.files or []]


def val_paths(finished: Finished) -> list[Path]:
    return sorted((finished.data / "images" / "val").iterdir())[:2]


def test_progress_and_completion_speak_in_map(finished: Finished) -> None:
    slack, run = finished.slack, finished.run
    progress = slack.progress_message(finished.thread)
    shown = progress.text + str(progress.blocks)
    assert "검증 mAP@.50" in shown and "(최고 " in shown and "mAP@[.50:.95]" in shown
    assert "검증 정확도" not in shown
    summary = run.summary
    assert summary.best_val_map50 == pytest.approx(max(e["val_map50"] for e in epochs(finished)))
    results = slack.wait_reply(finished.thread, "최종 검증 mAP@.50")
    final = summary.final
    assert f"최종 검증 mAP@.50: *{final.val_map50:.3f}* (최고 {summary.best_val_map50:.3f})" in results.text
    assert f"최종 검증 mAP@[.50:.95]: *{final.val_map:.3f}*" in results.text
    per_class = sorted((summary.per_class_ap50 or {}).items(), key=lambda item: item[1])
    listed = ", ".join(f"{name} {ap:.3f}" for name, ap in per_class)
    assert f"클래스별 AP@.50, 낮은 순: {listed}" in results.text
    uploaded = slack.wait_message(
        lambda m: (
            m.thread_ts == finished.thread and any(f["name"] == "val_predictions.jpg" for f in m.files or [])
        ),
        "the uploaded results",
    )
    assert [f["name"] for f in uploaded.files or []] == [
        "model.safetensors",
        "curves.png",
        "val_predictions.jpg",
    ]


def epochs(finished: Finished) -> list[dict]:
    events = Path(str(finished.run.output_dir), "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, events) if e["type"] == "epoch"]


def test_posted_images_come_back_drawn_as_the_trainers_predict_draws_them(
    finished: Finished, tmp_path: Path
) -> None:
    slack, run = finished.slack, finished.run
    paths = val_paths(finished)
    own = trainers_own(str(run.output_dir), paths, None, tmp_path / "default")
    before = len(slack.bot_messages(finished.thread))
    hosted = [slack.standin.host_file(path.name, path.read_bytes()) for path in paths]
    hosted.append(slack.standin.host_file("broken.jpg", b"\xff\xd8\xff\xe0 not a jpeg"))
    slack.say(finished.thread, OWNER, "", files=hosted)
    reply = wait_new_reply(slack, finished.thread, before, f"학습 #{run.id}")
    assert len(replies_after(slack, finished.thread, before)) == 1  # one reply for the message
    assert "점수 0.5 이상으로" in reply.text
    assert "`broken.jpg`: " in reply.text
    lines = dict(BOX_LINE.findall(reply.text))
    for path in paths:
        boxes = own[path.name]
        assert lines[path.name] == (expected_line(boxes) if boxes else "점수 0.5 이상인 박스가 없어요")
    drawn = uploaded_bytes(slack, reply)
    assert drawn == [(tmp_path / "default" / f"{path.stem}.jpg").read_bytes() for path in paths]
    assert len(slack.runs.recent_runs()) == 1  # nothing was started


def test_again_with_another_threshold_answers_the_last_images(finished: Finished, tmp_path: Path) -> None:
    slack, run = finished.slack, finished.run
    paths = val_paths(finished)
    if not any(m.files for m in slack.bot_messages(finished.thread) if "점수 0.5" in m.text):
        hosted = [slack.standin.host_file(path.name, path.read_bytes()) for path in paths]
        before = len(slack.bot_messages(finished.thread))
        slack.say(finished.thread, OWNER, "", files=hosted)
        wait_new_reply(slack, finished.thread, before, "점수 0.5")
    own = trainers_own(str(run.output_dir), paths, LOW, tmp_path / "low")
    assert any(own.values())  # the model has boxes at this threshold
    before = len(slack.bot_messages(finished.thread))
    slack.say(finished.thread, OWNER, f"신뢰도 {LOW}로 다시")
    reply = wait_new_reply(slack, finished.thread, before, f"점수 {LOW} 이상으로")
    lines = dict(BOX_LINE.findall(reply.text))
    assert [lines[path.name] for path in paths] == [
        expected_line(own[path.name]) if own[path.name] else f"점수 {LOW} 이상인 박스가 없어요"
        for path in paths
    ]
    assert uploaded_bytes(slack, reply) == [
        (tmp_path / "low" / f"{path.stem}.jpg").read_bytes() for path in paths
    ]
    before = len(slack.bot_messages(finished.thread))
    slack.say(finished.thread, OWNER, "신뢰도 1.5로 다시")
    wait_new_reply(slack, finished.thread, before, "0.01에서 0.99 사이")


def test_the_run_list_shows_the_task_and_its_map(finished: Finished) -> None:
    slack, run = finished.slack, finished.run
    slack.standin.wait_ack(slack.standin.slash_command(CHANNEL, OWNER, "list"))
    best = f"{run.summary.best_val_map50:.3f}"
    text = slack.standin.wait_for(
        lambda: next(
            (r["text"] for r in slack.standin.responses if f"#{run.id} " in r.get("text", "")), None
        ),
        10,
        "the run list",
    )
    assert "객체 탐지" in text and f"최고 mAP@.50 {best}" in text


def test_export_onnx_reports_the_box_agreement(finished: Finished) -> None:
    slack, run = finished.slack, finished.run
    before = len(slack.bot_messages(finished.thread))
    slack.say(finished.thread, OWNER, "onnx로 내보내줘")
    reply = wait_new_reply(slack, finished.thread, before, "ONNX", timeout=180)
    reply = wait_new_reply(slack, finished.thread, before, "IoU", timeout=180)
    report = json.loads(Path(str(run.output_dir), "metrics.json").read_text(encoding="utf-8"))["onnx"]
    assert report["status"] == "ok" and report["boxes_matched"] == report["boxes_compared"]
    assert f"평균 IoU *{report['mean_iou']:.4f}*" in reply.text
    assert [f["name"] for f in reply.files or []] == ["model.onnx"]


def test_the_console_prints_the_boxes_and_names_the_drawn_folder(finished: Finished, tmp_path: Path) -> None:
    from bot.console import Console

    paths = val_paths(finished)
    own = trainers_own(str(finished.run.output_dir), paths, LOW, tmp_path / "own")
    read_line = typed_lines(
        [f"predict {finished.run.id} " + " ".join(map(str, paths)), f"again with confidence {LOW}"]
    )
    out = io.StringIO()
    Console(finished.slack.ctx.actions, user=OWNER, read_line=read_line, out=out).run()
    output = out.getvalue()
    assert "at a score of at least 0.5:" in output
    answer = output.split(f"at a score of at least {LOW}:")[1]
    for path in paths:
        boxes = own[path.name]
        wording = expected_line(boxes).replace("개 (", " (") if boxes else f"no box scoring {LOW} or more"
        assert f"• `{path.name}`: {wording.replace('*', '')}" in answer, answer
    folder = Path(re.findall(r"Images with the boxes drawn: (\S+)", output)[-1])
    drawn = sorted(folder.iterdir())
    assert [p.read_bytes() for p in drawn] == [
        (tmp_path / "own" / f"{p.stem}.jpg").read_bytes() for p in paths
    ]


def test_an_english_thread_with_a_coco_zip_uploaded(
    finished: Finished, module_tmp: Path, tmp_path: Path
) -> None:
    slack = finished.slack
    source = module_tmp / "coco_source"
    write_coco(source, n_images=32, size=64, seed=4, negatives=2)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, f"scratches/{path.relative_to(source).as_posix()}")
    thread = slack.open_thread(
        OWNER,
        f"find scratches on these parts with {MODEL}, 2 epochs, image size 64, batch 8, lr 0.003, "
        "from scratch",
    )
    slack.wait_reply(thread, "Which dataset")
    slack.say(thread, OWNER, "", files=[slack.standin.host_file("scratches.zip", buffer.getvalue())])
    unpacked = slack.wait_reply(thread, "a COCO detection dataset", timeout=60)
    assert "boxes. Boxes per class:" in unpacked.text  # not images per class
    slack.wait_reply(thread, "COCO", timeout=60)
    summary = slack.summary(thread)
    assert "detection" in (summary.text + str(summary.blocks)).lower()
    slack.standin.wait_ack(slack.standin.click(summary, OWNER, "train_start"))
    slack.wait_reply(thread, "Final validation mAP@.50", timeout=TRAIN_S)
    run = next(r for r in slack.runs.recent_runs() if r.slack_thread_ts == thread)
    assert run.status == RunStatus.COMPLETED and run.task == "detection"
    slack.wait_message(
        lambda m: m.thread_ts == thread and any(f["name"] == "val_predictions.jpg" for f in m.files or []),
        "val_predictions.jpg",
    )
    image = next(p for p in sorted(source.rglob("*")) if p.suffix.lower() in (".jpg", ".png"))
    before = len(slack.bot_messages(thread))
    slack.say(thread, OWNER, "", files=[slack.standin.host_file(image.name, image.read_bytes())])
    reply = slack.standin.wait_for(
        lambda: next((m for m in slack.bot_messages(thread)[before:] if m.files), None),
        120,
        "the drawn image",
    )
    assert f"Boxes found by run #{run.id}" in reply.text
    subprocess.run(
        [sys.executable, "-m", "training.predict", str(run.output_dir), str(image), "--draw", str(tmp_path)],
        capture_output=True,
        timeout=180,
        check=True,
    )
    (file,) = reply.files or []
    assert slack.standin.uploads[file["id"]]["bytes"] == (tmp_path / f"{image.stem}.jpg").read_bytes()
    metrics = json.loads(Path(str(run.output_dir), "metrics.json").read_text(encoding="utf-8"))
    assert metrics["dataset"]["format"] == "coco"


def test_more_epochs_continue_a_detection_run_from_its_last_checkpoint(finished: Finished) -> None:
    slack, source = finished.slack, finished.run
    slack.say(finished.thread, OWNER, "1 에폭 더")
    summary = slack.wait_message(
        lambda m: (
            m.thread_ts == finished.thread
            and "train_start" in str(m.blocks)
            and m.ts != source.slack_ts
            and f"#{source.id}" in m.text + str(m.blocks)
        ),
        "the continuation summary",
    )
    slack.standin.wait_ack(slack.standin.click(summary, OWNER, "train_start"))
    run = slack.standin.wait_for(
        lambda: next(
            (r for r in slack.runs.recent_runs() if r.continues_run_id == source.id and r.status.is_terminal),
            None,
        ),
        timeout=TRAIN_S,
        what="the continued run to end",
    )
    assert run.status == RunStatus.COMPLETED and run.task == "detection" and run.total_epochs == 1
    assert (Path(str(run.output_dir)) / "init_weights.pt").is_file()  # it started from run 1's checkpoint
    assert run.summary.final.val_map50 is not None  # scored in mAP, as a detector
