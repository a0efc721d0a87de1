"""Slack surfaces end to end (real Bolt app, Slack stand-in, fake trainer): a Korean thread stays Korean
from /train to its end, the App Home, who may upload, and the order of one thread's messages."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.conversation.parsing import ParseContext, Parser, ParseResult
from tests.english import english_sentences, texts_of_blocks
from tests.imagegen import make_image_folder
from tests.slack_harness import (
    CHANNEL,
    OWNER,
    STRANGER,
    SlackHarness,
    click,
    harness,
    setup_thread,
    zip_bytes,
)
from tests.slack_standin import TEAM_ID, has_button


@pytest.fixture
def slack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SlackHarness]:
    epoch_seconds, *flags = getattr(request, "param", (0.1,))
    h = harness(tmp_path, epoch_seconds, *flags)
    yield h
    h.close()


def korean_setup(slack: SlackHarness, epochs: int) -> str:
    return setup_thread(
        slack, epochs, request="resnet18로 고양이 분류 모델 만들어줘, {epochs} 에폭", asks="데이터셋"
    )


def everything_said(slack: SlackHarness, thread: str) -> str:
    """Every text of the bot in the thread (and its root), blocks, buttons and file comments included."""
    root = slack.standin.messages[(CHANNEL, thread)]
    messages = [root, *slack.bot_messages(thread)]
    return "\n".join(m.text + "\n" + texts_of_blocks(m.blocks) for m in messages)


def test_a_korean_thread_is_korean_from_train_to_completion(slack: SlackHarness) -> None:
    thread = korean_setup(slack, epochs=2)
    click(slack, slack.summary(thread).ts, OWNER, "train_start")
    progress = slack.progress_message(thread)
    slack.standin.wait_for(lambda: "✅ 완료" in str(progress.blocks), timeout=20, what="the completed run")
    reply = slack.wait_reply(thread, "최종 검증 정확도")
    assert "클래스별 정확도: a 100%, b 100%" in reply.text
    slack.wait_reply(thread, "학습 #1의 파일")  # the upload's comment
    said = everything_said(slack, thread)
    assert "님이 학습 설정을 시작했어요" in said and "다운로드" in said
    assert english_sentences(said) == []


@pytest.mark.parametrize("slack", [(0.1, "--mode", "error", "--error-kind", "out_of_memory")], indirect=True)
def test_a_korean_failure_is_explained_in_korean(slack: SlackHarness) -> None:
    thread = korean_setup(slack, epochs=2)
    click(slack, slack.summary(thread).ts, OWNER, "train_start")
    reply = slack.wait_reply(thread, "실패했어요", timeout=20)
    assert "배치 크기를 줄이거나" in reply.text and "fake out_of_memory failure" not in reply.text
    assert english_sentences(everything_said(slack, thread)) == []


@pytest.mark.parametrize("slack", [(0.4,)], indirect=True)
def test_a_korean_stop_and_resume_offer_are_korean(slack: SlackHarness) -> None:
    thread = korean_setup(slack, epochs=30)
    click(slack, slack.summary(thread).ts, OWNER, "train_start")
    progress = slack.progress_message(thread)
    slack.standin.wait_for(
        lambda: re.search(r"에폭 \*[1-9]\d*/30\*", str(progress.blocks)), timeout=20, what="an epoch shown"
    )
    click(slack, progress.ts, OWNER, "train_stop")
    ending = slack.wait_reply(thread, "멈췄어요", timeout=20)
    assert has_button(ending.blocks, "train_resume") and "이어서 학습" in texts_of_blocks(ending.blocks)
    assert english_sentences(everything_said(slack, thread)) == []


def test_app_home_lists_the_users_runs_and_its_buttons_work(slack: SlackHarness) -> None:
    thread = korean_setup(slack, epochs=1)
    click(slack, slack.summary(thread).ts, OWNER, "train_start")
    slack.wait_reply(thread, "학습 #1의 파일", timeout=20)
    slack.standin.wait_ack(slack.standin.open_home(OWNER))
    home = slack.standin.wait_for(lambda: slack.standin.home_views.get(OWNER), what="the owner's Home")
    shown = texts_of_blocks(home["blocks"])
    assert "내 학습" in shown and "#1 resnet18 · ✅ 완료" in shown and "최고 검증 정확도 100.0%" in shown
    slack.standin.wait_ack(slack.standin.open_home(STRANGER))
    other = slack.standin.wait_for(lambda: slack.standin.home_views.get(STRANGER), what="a stranger's Home")
    assert "You have no runs yet" in texts_of_blocks(other["blocks"])  # English: they never spoke Korean

    models = lambda: [  # noqa: E731  (uploads the bot completed into a thread)
        u for u in slack.standin.uploads.values() if u["name"] == "model.safetensors" and u.get("thread_ts")
    ]
    slack.standin.wait_ack(slack.standin.click_home(OWNER, "train_download", "1"))
    slack.standin.wait_for(lambda: len(models()) == 2, what="the model uploaded again from the Home tab")
    assert models()[-1]["thread_ts"] == thread


def test_a_disallowed_users_zip_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    slack = harness(tmp_path, 0.1, allowed_user_ids=frozenset({OWNER}))
    try:
        thread = slack.open_thread(OWNER, "resnet18 classifier, 2 epochs")
        slack.wait_reply(thread, "Which dataset")
        images = make_image_folder(tmp_path / "src", classes=("ant", "bee"), per_class=3)
        upload = zip_bytes(
            {f"bugs/{p.relative_to(images).as_posix()}": p.read_bytes() for p in images.rglob("*.png")}
        )
        slack.say(thread, STRANGER, "", files=[slack.standin.host_file("bugs.zip", upload)])
        refusal = slack.standin.wait_for(lambda: slack.standin.ephemerals, what="the upload refusal")[-1]
        assert refusal["user"] == STRANGER and "list of people who can upload datasets" in refusal["text"]
        assert not (tmp_path / "data" / "uploads").exists()
        assert not any("Unpacked" in m.text for m in slack.bot_messages(thread))
    finally:
        slack.close()


class SlowParser:
    """The rule parser, taking as long as a Claude call does: two overlapping turns would both load the
    same draft and the later save would drop the earlier one's change."""

    def __init__(self, inner: Parser, seconds: float) -> None:
        self.inner, self.seconds = inner, seconds

    def parse(self, text: str, context: ParseContext) -> ParseResult:
        time.sleep(self.seconds)
        return self.inner.parse(text, context)


def test_two_messages_sent_together_in_one_thread_both_count(slack: SlackHarness) -> None:
    thread = slack.open_thread(OWNER, "resnet18 classifier")
    slack.wait_reply(thread, "Which dataset")
    conversation = slack.ctx.conversation
    conversation._parser = SlowParser(conversation._parser, seconds=0.5)  # type: ignore[attr-defined]
    first, _ = slack.standin.user_message(CHANNEL, OWNER, "batch 16", thread_ts=thread)
    second, _ = slack.standin.user_message(CHANNEL, OWNER, "learning rate 0.01", thread_ts=thread)
    slack.standin.wait_ack(first)
    slack.standin.wait_ack(second)
    slack.standin.wait_for(lambda: len(slack.bot_messages(thread)) >= 3, what="both replies")
    session = slack.ctx.conversation.get_session(TEAM_ID, CHANNEL, thread)
    assert session is not None
    assert session.draft["batch_size"] == 16 and session.draft["learning_rate"] == 0.01
    assert [m["text"] for m in session.messages if m["role"] == "user"][-2:] == [
        "batch 16",
        "learning rate 0.01",
    ]


def test_korean_upload_reports_and_refusals(slack: SlackHarness, tmp_path: Path) -> None:
    thread = slack.open_thread(OWNER, "resnet18로 분류 모델 만들어줘, 2 에폭")
    slack.wait_reply(thread, "데이터셋")
    evil = slack.standin.host_file("evil.zip", zip_bytes({"cat/1.png": b"x", "../../escape.png": b"x"}))
    slack.say(thread, OWNER, "", files=[evil])
    slack.wait_reply(thread, "`evil.zip`을 거부했어요")
    images = make_image_folder(tmp_path / "src", classes=("ant", "bee"), per_class=3)
    upload = zip_bytes(
        {f"bugs/{p.relative_to(images).as_posix()}": p.read_bytes() for p in images.rglob("*.png")}
    )
    slack.say(thread, OWNER, "", files=[slack.standin.host_file("bugs.zip", upload)])
    slack.wait_reply(thread, "클래스 2개, 이미지 6장")
    slack.summary(thread)
    assert english_sentences(everything_said(slack, thread)) == []
