"""End to end: the real slack_bolt app over Socket Mode against the local Slack stand-in, with a real
RunManager launching the fake trainer (tests/fake_trainer.py) and the real conversation engine."""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anthropic
import pytest

from bot.storage import ChatSession, Database, RunStatus, TrainingRun
from tests.imagegen import make_image_folder
from tests.slack_harness import (
    ACK_LIMIT_S,
    CHANNEL,
    ENV_TO_CLEAR,
    OWNER,
    STRANGER,
    SlackHarness,
    click,
    harness,
    setup_thread,
    zip_bytes,
)
from tests.slack_standin import BOT_USER_ID, TEAM_ID, Message, SlackStandIn, has_button


@pytest.fixture
def slack(tmp_path: Path) -> Iterator[SlackHarness]:
    h = harness(tmp_path, epoch_seconds=0.4)
    yield h
    h.close()


def test_happy_path_from_train_to_uploaded_model(slack: SlackHarness) -> None:
    thread = setup_thread(slack, epochs=3)
    stale = slack.summary(thread)
    slack.say(thread, OWNER, "batch 16")  # editing after the summary gives a new one
    summary = slack.wait_message(
        lambda m: m.thread_ts == thread and "batch size: 16" in m.text + str(m.blocks), "new"
    )
    assert "resnet18" in summary.blocks[0]["text"]["text"]
    assert "• dataset: `pets`" in summary.blocks[0]["text"]["text"]  # named as under DATA_ROOT
    session = lambda: slack.ctx.conversation.get_session(TEAM_ID, CHANNEL, thread)  # noqa: E731
    slack.standin.wait_for(lambda: session().summary_ts == summary.ts, what="the new summary recorded")
    click(slack, stale.ts, OWNER, "train_start")
    refusal = slack.standin.wait_for(lambda: slack.standin.ephemerals, what="the stale-summary refusal")[-1]
    assert "use Start on the newest summary" in refusal["text"] and slack.runs.recent_runs() == []
    slack.standin.ephemerals.clear()
    slack.standin.rate_limit("chat.update", times=1, retry_after=1)  # Slack throttles the first edit

    click(slack, summary.ts, OWNER, "train_start")
    click(slack, summary.ts, OWNER, "train_start")  # a double click starts one run
    progress = slack.progress_message(thread)
    click(slack, stale.ts, OWNER, "train_start")  # still refused once the newest summary has started
    slack.standin.wait_for(
        lambda: [e for e in slack.standin.ephemerals if "use Start on the newest summary" in e["text"]],
        what="the stale-summary refusal after the start",
    )
    assert len(slack.runs.recent_runs()) == 1
    done = slack.standin.wait_for(
        lambda: "Completed" in str(progress.blocks) and progress,
        timeout=20,
        what="the completed progress message",
    )
    reply = slack.wait_reply(thread, "Final validation accuracy")
    assert "*100.0%*" in reply.text and "a 100%, b 100%" in reply.text
    upload = slack.standin.wait_for(
        lambda: [
            u
            for u in slack.standin.uploads.values()
            if u["name"] == "model.safetensors" and u.get("thread_ts")
        ],
        what="the uploaded model",
    )[0]
    assert upload["bytes"] == b"fake" and upload["thread_ts"] == thread and upload["channel"] == CHANNEL

    runs = slack.runs.recent_runs()
    assert len(runs) == 1 and runs[0].status == RunStatus.COMPLETED and runs[0].requested_by == OWNER
    assert runs[0].config.batch_size == 16
    assert (
        len(
            [
                m
                for m in slack.bot_messages(thread)
                if any(b.get("block_id") == "progress" for b in m.blocks or [])
            ]
        )
        == 1
    )
    assert "█" * 20 + " 100%" in str(done.blocks) and has_button(done.blocks, "train_download")
    updates = slack.standin.calls_to("chat.update")
    assert len(updates) >= 2  # the throttled edit was retried after Retry-After, then later edits
    gaps = [b.at - a.at for a, b in itertools.pairwise(updates)]
    assert gaps[0] >= 1.0 and min(gaps) >= 0.5  # honoured Retry-After; coalesced (about 1 edit/s)

    slack.standin.private_members[CHANNEL] = {OWNER, BOT_USER_ID}  # the stranger is not in the channel
    click(slack, progress.ts, STRANGER, "train_download")
    refusal = slack.standin.wait_for(
        lambda: [e for e in slack.standin.ephemerals if e["user"] == STRANGER], what="an ephemeral refusal"
    )[-1]
    assert "(<@UOWNER>)" in refusal["text"] and "members of the channel" in refusal["text"]
    click(slack, progress.ts, OWNER, "train_download")
    slack.standin.wait_for(
        lambda: len([u for u in slack.standin.uploads.values() if u["name"] == "model.safetensors"]) == 2,
        what="the model uploaded again",
    )


def test_wrong_dataset_path_is_explained(slack: SlackHarness) -> None:
    thread = slack.open_thread(OWNER, "resnet18 classifier, 2 epochs")
    slack.wait_reply(thread, "Which dataset")
    slack.say(thread, OWNER, "dataset nowhere")
    reply = slack.wait_reply(thread, "nowhere")
    assert "`pets`" in reply.text
    assert not any(has_button(m.blocks, "train_start") for m in slack.bot_messages(thread))


def test_stop_mid_run_refuses_strangers_and_offers_resume(slack: SlackHarness) -> None:
    thread = setup_thread(slack, epochs=30)
    click(slack, slack.summary(thread).ts, OWNER, "train_start")
    progress = slack.progress_message(thread)
    slack.standin.wait_for(
        lambda: re.search(r"Epoch \*[1-9]\d*/30\*", str(progress.blocks)), what="an epoch shown"
    )

    click(slack, progress.ts, STRANGER, "train_stop")
    refusal = slack.standin.wait_for(lambda: slack.standin.ephemerals, what="an ephemeral refusal")[-1]
    assert refusal["user"] == STRANGER and "or an admin, can stop it" in refusal["text"]
    assert slack.runs.recent_runs()[0].status == RunStatus.RUNNING

    click(slack, progress.ts, OWNER, "train_stop")
    ending = slack.wait_reply(thread, "was stopped after epoch")
    assert has_button(ending.blocks, "train_resume")
    run = slack.runs.recent_runs()[0]
    assert run.status == RunStatus.STOPPED and run.current_epoch < 30
    slack.standin.wait_for(lambda: "Stopped" in str(progress.blocks), what="the final state shown")
    assert has_button(progress.blocks, "train_resume") and not has_button(progress.blocks, "train_stop")

    click(slack, ending.ts, OWNER, "train_resume")
    resumed = slack.wait_message(
        lambda m: m.ts != progress.ts and m.thread_ts == thread and has_button(m.blocks, "train_stop"),
        "the resumed run's progress message",
    )
    assert slack.runs.get(run.id + 1).status in (RunStatus.QUEUED, RunStatus.RUNNING)
    click(slack, resumed.ts, OWNER, "train_stop")
    slack.wait_reply(thread, f"Run #{run.id + 1} was stopped")


def test_redelivered_event_is_handled_once_and_unhandled_events_are_acked(slack: SlackHarness) -> None:
    thread = slack.open_thread(OWNER, "resnet18 classifier")
    slack.wait_reply(thread, "Which dataset")
    envelope, ts = slack.standin.user_message(CHANNEL, OWNER, "5 epochs", thread_ts=thread, event_id="EvONCE")
    slack.standin.wait_ack(envelope, timeout=ACK_LIMIT_S)
    slack.wait_reply(thread, "epochs 5")
    again, _ = slack.standin.user_message(
        CHANNEL, OWNER, "5 epochs", thread_ts=thread, event_id="EvONCE", retry_attempt=1
    )
    slack.standin.wait_ack(again, timeout=ACK_LIMIT_S)
    edited = slack.standin.push_event(
        {"type": "message", "subtype": "message_changed", "channel": CHANNEL, "ts": "1.5", "hidden": True,
         "message": {"user": OWNER, "text": "6 epochs", "ts": ts},
         "previous_message": {"user": OWNER, "ts": ts}}
    )  # fmt: skip
    slack.standin.wait_ack(edited, timeout=ACK_LIMIT_S)
    slack.say(thread, OWNER, "pets")
    slack.summary(thread)
    texts = user_texts(slack)
    assert texts.count("5 epochs") == 1 and "6 epochs" not in texts


def user_texts(slack: SlackHarness) -> list[str]:
    """Every user message the conversation engine received, over all threads."""
    with Database(slack.settings.database_url_or_default).session() as session:
        return [
            m["text"] for chat in session.query(ChatSession) for m in chat.messages if m["role"] == "user"
        ]


def test_claude_failing_falls_back_to_the_rule_parser(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on: the SDK fails at once
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = anthropic.Anthropic(api_key="sk-test", base_url=f"http://127.0.0.1:{closed_port}", max_retries=0)
    slack = harness(tmp_path, epoch_seconds=0.1, parser="claude", anthropic_client=client)
    try:
        thread = slack.open_thread(OWNER, "resnet18 classifier on pets, 4 epochs")
        reply = slack.wait_reply(thread, "Claude unavailable")
        assert "built-in parser" in reply.text
        slack.say(thread, OWNER, "pets")
        summary = slack.summary(thread)
        assert "epochs: 4" in summary.blocks[0]["text"]["text"]
    finally:
        slack.close()


def test_zip_uploads_escaping_refused_valid_used(slack: SlackHarness, tmp_path: Path) -> None:
    thread = slack.open_thread(OWNER, "resnet18 classifier, 2 epochs")
    slack.wait_reply(thread, "Which dataset")
    evil = slack.standin.host_file("evil.zip", zip_bytes({"cat/1.png": b"x", "../../escape.png": b"x"}))
    slack.say(thread, OWNER, "", files=[evil])
    refused = slack.wait_reply(thread, "`evil.zip` was refused")
    assert "points outside" in refused.text
    assert not (tmp_path / "escape.png").exists() and not (tmp_path / "data" / "escape.png").exists()

    images = make_image_folder(tmp_path / "src", classes=("ant", "bee"), per_class=3)
    good = slack.standin.host_file(
        "bugs.zip",
        zip_bytes(
            {f"bugs/{p.relative_to(images).as_posix()}": p.read_bytes() for p in images.rglob("*.png")}
        ),
    )
    slack.say(thread, OWNER, "", files=[good])
    slack.wait_reply(thread, "Unpacked `bugs.zip`")
    summary = slack.summary(thread)
    assert re.search(r"• dataset: `uploads/bugs-\w+`", summary.blocks[0]["text"]["text"])


def test_surfaces_mentions_dms_commands_scheduling_and_start_permission(tmp_path: Path) -> None:
    slack = harness(tmp_path, epoch_seconds=0.1, allowed_user_ids=frozenset({OWNER}))
    standin = slack.standin
    try:
        # an @mention starts a conversation in that message's thread; a DM in the DM
        _envelope, mention_ts = standin.user_message(
            CHANNEL, OWNER, "<@U0BOT> resnet18 classifier", event_id="EvM"
        )
        standin.push_event({"type": "app_mention", "user": OWNER, "text": "<@U0BOT> resnet18 classifier",
                            "ts": mention_ts, "channel": CHANNEL}, event_id="EvM2")  # fmt: skip
        slack.wait_reply(mention_ts, "Which dataset")
        dm_envelope, dm_ts = standin.user_message("D0DM", OWNER, "efficientnet_b0 on pets", channel_type="im")
        standin.wait_ack(dm_envelope)
        slack.wait_message(lambda m: m.channel == "D0DM" and m.thread_ts == dm_ts, "the DM reply")

        # the bot's own messages and top-level chatter outside conversations get no answer
        standin.user_message(CHANNEL, "U0BOT", "Training setup started by someone", thread_ts=mention_ts)
        standin.user_message(CHANNEL, OWNER, "lunch anyone?")

        # someone not on ALLOWED_USER_IDS reaches neither the engine (nor Claude) nor the draft, nor Start
        slack.say(mention_ts, STRANGER, "50 epochs")
        refusal = standin.wait_for(lambda: standin.ephemerals, what="the stranger's refusal")[-1]
        assert (
            refusal["user"] == STRANGER and "list of people who can use it; ask an admin" in refusal["text"]
        )
        slack.say(mention_ts, OWNER, "2 epochs")
        slack.wait_reply(mention_ts, "epochs 2")
        slack.say(mention_ts, OWNER, "pets")
        click(slack, slack.summary(mention_ts).ts, STRANGER, "train_start")
        refusal = standin.wait_for(lambda: standin.ephemerals[1:], what="the start refusal")[-1]
        assert refusal["user"] == STRANGER and "list of people who can start training runs" in refusal["text"]
        assert slack.runs.recent_runs() == []
        heard = user_texts(slack)
        assert "Training setup started by someone" not in heard and "lunch anyone?" not in heard
        assert "50 epochs" not in heard
        assert heard.count("resnet18 classifier") == 1  # the mention's message event is not answered twice

        # "start at 02:00" in a confirming thread schedules the run
        thread = setup_thread(slack, epochs=2)
        slack.summary(thread)
        slack.say(thread, OWNER, "start at 02:00")
        scheduled = slack.progress_message(thread)
        assert "Starts at *" in str(scheduled.blocks) and has_button(scheduled.blocks, "train_start") is False
        [run] = slack.runs.active_runs()
        assert run.status == RunStatus.PENDING and run.scheduled_for is not None

        # /train status, list, help, stop <id>
        commands = [("status", f"#{run.id} resnet18"), ("list", f"#{run.id}"),
                    ("help", "/train stop &lt;id&gt;"),  # escaped for Slack
                    (f"stop {run.id}", f"Stopping run #{run.id}"), ("stop 999", "999")]  # fmt: skip
        for text, expected in commands:
            before = len(standin.responses)
            standin.wait_ack(standin.slash_command(CHANNEL, OWNER, text), timeout=ACK_LIMIT_S)
            response = standin.wait_for(lambda b=before: standin.responses[b:], what=f"/train {text}")[0]
            assert expected in response["text"], (text, response)
        assert slack.runs.get(run.id).status == RunStatus.STOPPED
    finally:
        slack.close()


def with_default_ctrl_c() -> None:
    """In the bot's process before exec: Ctrl+C as in a terminal, even when pytest itself runs in the
    background of a script (where the shell makes it ignore SIGINT, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def python_m_bot(standin: SlackStandIn, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """`python -m bot` against the stand-in; afterwards Ctrl+C must end it cleanly (exit 0)."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ENV_TO_CLEAR},
        "SLACK_BOT_TOKEN": standin.bot_token,
        "SLACK_APP_TOKEN": standin.app_token,
        "SLACK_API_URL": standin.base_url,
        "DATA_ROOT": str(tmp_path / "data"),
        "OUTPUT_ROOT": str(tmp_path / "outputs"),
        "CONVERSATION_PARSER": "rules",
        "ANTHROPIC_API_KEY": "",
        "PYTHONFAULTHANDLER": "1",  # SIGABRT on a hang prints every thread's stack
    }
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True,
        preexec_fn=with_default_ctrl_c,
    )  # fmt: skip
    try:
        yield bot
        standin.wait_connected(timeout=30)
        bot.send_signal(signal.SIGINT)
        try:
            _, stderr = bot.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            bot.send_signal(signal.SIGABRT)
            _, stderr = bot.communicate(timeout=30)
            raise AssertionError(f"python -m bot did not end on Ctrl+C:\n{stderr[-6000:]}") from None
        assert bot.returncode == 0, stderr[-3000:]
    finally:
        if bot.poll() is None:
            bot.kill()
        standin.stop()


def test_python_m_bot_connects_over_socket_mode_to_slack_api_url(tmp_path: Path) -> None:
    standin = SlackStandIn().start()
    with python_m_bot(standin, tmp_path):
        standin.wait_connected(timeout=30)
        standin.wait_ack(standin.slash_command(CHANNEL, OWNER, "help"), timeout=ACK_LIMIT_S)
        standin.wait_for(lambda: standin.responses, what="the /train help response")
        assert "/train stop &lt;id&gt;" in standin.responses[0]["text"]  # escaped for Slack
        [connect] = standin.calls_to("apps.connections.open")
        assert connect.token == standin.app_token


def test_a_run_whose_trainer_died_while_the_bot_was_down_is_announced_on_start(tmp_path: Path) -> None:
    standin = SlackStandIn().start()
    thread_ts, progress_ts = standin.next_ts(), standin.next_ts()
    standin.messages[(CHANNEL, progress_ts)] = Message(
        CHANNEL, progress_ts, "Run #1: Running", [], thread_ts, BOT_USER_ID
    )
    (tmp_path / "data").mkdir()
    db = Database(f"sqlite:///{tmp_path / 'data' / 'trainbot.db'}")  # python -m bot's default database
    db.create_all()
    with db.session() as session:
        session.add(
            TrainingRun(
                status=RunStatus.RUNNING, config={"model": "resnet18", "epochs": 3}, total_epochs=3,
                requested_by=OWNER, output_dir=str(tmp_path / "outputs" / "run-0001"),
                slack_channel=CHANNEL, slack_thread_ts=thread_ts, slack_ts=progress_ts,
            )
        )  # fmt: skip
    db.engine.dispose()
    with python_m_bot(standin, tmp_path):
        standin.wait_for(
            lambda: any("was interrupted" in m.text for m in standin.thread(CHANNEL, thread_ts)),
            timeout=30,
            what="the interrupted run's reply",
        )
        assert "Interrupted" in standin.messages[(CHANNEL, progress_ts)].text
