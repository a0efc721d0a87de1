"""A finished run's model used from its Slack thread, end to end with the real trainer: images posted in
the thread are classified as the trainer's own predict does, bad files are refused, /train predict opens a
thread for a run, ONNX is exported on request (and its absence explained), and "2 more epochs" continues
the run from its last checkpoint. One real run (resnet18, 32 px, random init) serves the whole module."""

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
from tests.imagegen import make_image_folder
from tests.slack_harness import CHANNEL, SlackHarness
from tests.slack_standin import Message, has_button
from training.data import discover

OWNER, OTHER = "UOWNER", "UOTHER"
TRAINER = [sys.executable, "-m", "training", "--device", "cpu", "--workers", "1", "--no-onnx"]
TRAIN_S = 240  # a cold torch import and three epochs on a busy 2-core host
PREDICTION = re.compile(r"• `([^`]+)`: \*([^*]+)\* ([\d.]+)%")
TORCH_BEFORE = "torch" in sys.modules
# the export as the bot runs it, on a host where onnx and onnxruntime are not installed
WITHOUT_ONNX = [
    sys.executable,
    "-c",
    "import runpy, sys; sys.modules['onnx'] = sys.modules['onnxruntime'] = None; "
    "sys.argv = ['training.export', *sys.argv[1:]]; runpy.run_module('training.export', run_name='__main__')",
]


class Finished:
    def __init__(self, slack: SlackHarness, thread: str, run: RunView, data: Path) -> None:
        self.slack, self.thread, self.run, self.data = slack, thread, run, data


def click(slack: SlackHarness, message: Message, action_id: str, user: str = OWNER) -> None:
    slack.standin.wait_ack(slack.standin.click(message, user, action_id))


@pytest.fixture(scope="module")
def finished(module_tmp: Path) -> Iterator[Finished]:
    root = module_tmp
    data = make_image_folder(root / "data" / "pets", per_class=10)
    # the module's tests post predictions and exports as one person well within a minute: more than the
    # default heavy-action limit (bot/actions/fairness.py, tested on its own)
    slack = SlackHarness.start(root, TRAINER, user_heavy_actions_per_minute=100)
    try:
        thread = slack.open_thread(
            OWNER, "resnet18 from scratch, 3 epochs, image size 32, batch 16, lr 0.003"
        )
        slack.wait_reply(thread, "Which dataset")
        slack.say(thread, OWNER, "pets")
        click(slack, slack.summary(thread), "train_start")
        slack.wait_reply(thread, "Final validation accuracy", timeout=TRAIN_S)
        (run,) = slack.runs.recent_runs()
        assert run.status == RunStatus.COMPLETED
        yield Finished(slack, thread, run, data)
    finally:
        slack.close()


def val_images(finished: Finished) -> list[tuple[Path, int]]:
    return discover(finished.data, seed=0).val


def post_files(finished: Finished, files: dict[str, bytes], thread: str | None = None, text: str = "") -> str:
    hosted = [finished.slack.standin.host_file(name, data) for name, data in files.items()]
    return finished.slack.say(thread or finished.thread, OWNER, text, files=hosted)


def replies_after(slack: SlackHarness, thread: str, count: int) -> list[Message]:
    return slack.bot_messages(thread)[count:]


def wait_new_reply(
    slack: SlackHarness, thread: str, before: int, contains: str, timeout: float = 60
) -> Message:
    return slack.standin.wait_for(
        lambda: next((m for m in replies_after(slack, thread, before) if contains in m.text), None),
        timeout,
        f"a new reply with {contains!r}",
    )


def trainers_own_top1(out: str, paths: list[Path]) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "training.predict", out, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return {Path(line["image"]).name: line["top"][0]["class"] for line in lines}


def test_val_images_posted_in_the_thread_get_the_trainers_own_top1(finished: Finished) -> None:
    slack, val = finished.slack, val_images(finished)
    before = len(slack.bot_messages(finished.thread))
    post_files(finished, {path.name: path.read_bytes() for path, _ in val})
    reply = wait_new_reply(
        slack, finished.thread, before, f"Predictions of run #{finished.run.id}", timeout=120
    )
    answers = {name: label for name, label, _ in PREDICTION.findall(reply.text)}
    assert len(answers) == len(val) and reply.text.count("• `") == len(val)
    assert answers == trainers_own_top1(str(finished.run.output_dir), [path for path, _ in val])
    classes = sorted(p.name for p in finished.data.iterdir())
    accuracy = sum(answers[path.name] == classes[label] for path, label in val) / len(val)
    assert accuracy == pytest.approx(finished.run.summary.best_val_acc)  # the model's own val accuracy
    assert len(re.findall(r"\*[^*]+\* [\d.]+%", reply.text)) == 3 * len(val)  # the top 3 of each
    if not TORCH_BEFORE:  # run alone, this test process is the bot: predicting imported no torch
        assert "torch" not in sys.modules
    assert len(slack.runs.recent_runs()) == 1  # nothing was started


def test_a_zip_of_images_is_classified_member_by_member(finished: Finished) -> None:
    slack, val = finished.slack, val_images(finished)[:2]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for path, _ in val:
            zf.write(path, f"pics/{path.name}")
        zf.writestr("pics/readme.txt", "not an image")
    before = len(slack.bot_messages(finished.thread))
    post_files(finished, {"batch.zip": archive.getvalue()})
    reply = wait_new_reply(slack, finished.thread, before, "Predictions of run")
    names = [name for name, _, _ in PREDICTION.findall(reply.text)]
    assert names == [f"batch.zip/pics/{path.name}" for path, _ in val]
    assert "`batch.zip/pics/readme.txt`: not a JPEG, PNG or WebP image" in reply.text
    assert not (finished.slack.settings.data_root / "uploads").exists()  # not taken as a dataset


def test_bad_files_get_a_clear_reply_and_nothing_else_happens(finished: Finished) -> None:
    slack = finished.slack
    before = len(slack.bot_messages(finished.thread))
    post_files(finished, {"broken.jpg": b"\xff\xd8\xff\xe0 not really a jpeg", "notes.txt": b"hello"})
    reply = wait_new_reply(slack, finished.thread, before, "broken.jpg")
    assert "`broken.jpg`: the image is damaged or cut off" in reply.text
    assert "`notes.txt`: not a JPEG, PNG or WebP image" in reply.text
    assert "There was no image I could classify" in reply.text
    assert len(slack.runs.recent_runs()) == 1 and not (slack.settings.data_root / "uploads").exists()
    assert len(replies_after(slack, finished.thread, before)) == 1


def test_train_predict_opens_a_thread_for_that_runs_model(finished: Finished) -> None:
    slack, run = finished.slack, finished.run
    slack.standin.wait_ack(slack.standin.slash_command(CHANNEL, OWNER, "predict 99"))
    slack.standin.wait_for(lambda: any("no run #99" in r.get("text", "") for r in slack.standin.responses))
    slack.standin.wait_ack(slack.standin.slash_command(CHANNEL, OWNER, f"predict {run.id}"))
    root = slack.wait_message(
        lambda m: m.thread_ts is None and f"classify them with run #{run.id}" in m.text, "the predict thread"
    )
    path, _ = val_images(finished)[0]
    post_files(finished, {path.name: path.read_bytes()}, thread=root.ts, text="이 사진 뭐야?")
    reply = slack.wait_reply(
        root.ts, f"학습 #{run.id} (resnet18)의 예측 결과", timeout=60
    )  # the comment's language
    assert PREDICTION.findall(reply.text)[0][0] == path.name


def test_predict_typed_without_files_says_where_to_post_them(finished: Finished) -> None:
    before = len(finished.slack.bot_messages(finished.thread))
    finished.slack.say(finished.thread, OWNER, "predict")
    wait_new_reply(finished.slack, finished.thread, before, "Attach images")


def test_onnx_on_request_without_onnx_installed_says_how_to_get_it(finished: Finished) -> None:
    slack = finished.slack
    slack.ctx.actions.export_command = WITHOUT_ONNX
    try:
        before = len(slack.bot_messages(finished.thread))
        slack.say(finished.thread, OWNER, "export onnx")
        reply = wait_new_reply(slack, finished.thread, before, "pip install", timeout=120)
    finally:
        slack.ctx.actions.export_command = [sys.executable, "-m", "training.export"]
    assert 'pip install -e ".[onnx]"' in reply.text.replace("&quot;", '"')
    assert not [u for u in slack.standin.uploads.values() if u["name"] == "model.onnx"]
    assert not (Path(str(finished.run.output_dir)) / "model.onnx").exists()


def test_export_onnx_button_reports_the_check_and_uploads_a_verified_file(finished: Finished) -> None:
    slack = finished.slack
    results = slack.wait_reply(finished.thread, "Final validation accuracy")
    assert has_button(results.blocks, "train_export_onnx")
    click(slack, results, "train_export_onnx")
    upload = slack.standin.wait_for(
        lambda: next(
            (u for u in slack.standin.uploads.values() if u["name"] == "model.onnx" and u.get("thread_ts")),
            None,
        ),
        timeout=180,
        what="the uploaded ONNX file",
    )
    assert upload["thread_ts"] == finished.thread
    metrics = json.loads((Path(str(finished.run.output_dir)) / "metrics.json").read_text())
    report = metrics["onnx"]
    assert report["status"] == "ok" and report["top1_agreement"] == 1.0
    comment = next(m for m in slack.bot_messages(finished.thread) if "ONNX export of run" in m.text).text
    assert "top-1 agreement with PyTorch *100.00%*" in comment
    assert f"largest logit difference *{report['max_abs_logit_diff']:.2g}*" in comment  # the check's figures
    # asked again in Korean: the verified file is offered again, without a second export
    slack.say(finished.thread, OWNER, "onnx로 내보내줘")
    slack.standin.wait_for(
        lambda: (
            len(
                [
                    u
                    for u in slack.standin.uploads.values()
                    if u["name"] == "model.onnx" and u.get("thread_ts")
                ]
            )
            == 2
        ),
        timeout=60,
        what="the ONNX file offered again",
    )
    assert any("PyTorch와 top-1 일치율 *100.00%*" in m.text for m in slack.bot_messages(finished.thread))
    slack.say(finished.thread, OWNER, "ok, english again")  # later tests read English replies


def test_more_epochs_continues_the_run_from_its_last_checkpoint(finished: Finished) -> None:
    import torch

    slack, source = finished.slack, finished.run
    slack.say(finished.thread, OWNER, "2 more epochs")
    summary = slack.wait_message(
        lambda m: m.thread_ts == finished.thread and f"Continuing run #{source.id}" in m.text + str(m.blocks),
        "the continuation summary",
    )
    assert has_button(summary.blocks, "train_start") and "epochs: 2" in str(summary.blocks)
    click(slack, summary, "train_start")
    run = slack.standin.wait_for(
        lambda: next(
            (r for r in slack.runs.recent_runs() if r.id != source.id and r.status.is_terminal), None
        ),
        timeout=TRAIN_S,
        what="the continued run to end",
    )
    assert run.status == RunStatus.COMPLETED and run.continues_run_id == source.id
    assert run.config.epochs == 2 and run.total_epochs == 2 and run.current_epoch == 2
    assert run.config.model_dump(exclude={"epochs"}) == source.config.model_dump(exclude={"epochs"})
    start = torch.load(Path(str(run.output_dir)) / "init_weights.pt", weights_only=True)
    last = torch.load(Path(str(source.output_dir)) / "checkpoint_last.pt", weights_only=False)["model"]
    assert start.keys() == last.keys() and all(torch.equal(start[k], last[k]) for k in last)
    progress = slack.standin.messages[(CHANNEL, str(run.slack_ts))]
    assert f"continues run #{source.id}" in str(progress.blocks)
    slack.wait_reply(
        finished.thread, f"Run #{run.id} finished: resnet18, 2 epochs. ↪️ continues run #{source.id}"
    )


def test_more_epochs_where_there_is_no_finished_run_is_refused(finished: Finished) -> None:
    slack = finished.slack
    thread = slack.open_thread(OTHER, "hello")  # another user: open_thread finds the root by its mention
    slack.wait_reply(thread, "Which dataset")
    before = len(slack.bot_messages(thread))
    slack.say(thread, OTHER, "10 에폭 더")
    reply = wait_new_reply(slack, thread, before, "이어서 학습할")
    assert "끝난(또는 멈춘) 학습이 없어요" in reply.text
    assert not any(has_button(m.blocks, "train_start") for m in slack.bot_messages(thread))
