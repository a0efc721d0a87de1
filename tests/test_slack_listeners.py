"""Each listener package on its own, in the bolt starter app's style: the listener is called with a mocked
`ack`, `respond` and Slack client, and the test checks what was acked, sent and refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from unittest.mock import Mock

import pytest

from bot.settings import Settings
from bot.slack.listeners import commands, events, home, messages
from bot.storage import Database, RunStatus
from tests.slack_units import (
    ADMIN,
    OTHER,
    OUTSIDER,
    OWNER,
    PRIVATE,
    PUBLIC,
    STRANGER,
    TEAM,
    Unit,
    ack,
    finished_run,
    unit,
)


@pytest.fixture(scope="module")
def db(module_tmp: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{module_tmp / 'bot.db'}")
    database.create_all()
    yield database
    database.dispose()


@pytest.fixture
def slack(db: Database, module_tmp: Path) -> Unit:
    settings = Settings(
        _env_file=None,
        data_root=module_tmp / "data",
        output_root=module_tmp / "outputs",
        allowed_user_ids=frozenset({OWNER, OTHER, OUTSIDER}),
        admin_user_ids=frozenset({ADMIN}),
    )
    runs = [
        finished_run(module_tmp / "outputs", 1, OWNER, PRIVATE),
        finished_run(module_tmp / "outputs", 2, OTHER, PUBLIC, status=RunStatus.RUNNING),
    ]
    made = unit(db, settings, runs)
    for package in (commands, home, messages, events):  # in register_all's order
        package.register(made.app, made.ctx)  # type: ignore[arg-type]
    return made


def slash(slack: Unit, user: str, text: str, channel: str = PUBLIC) -> tuple[Mock, Mock]:
    acked, respond = ack(), Mock()
    command = {"text": text, "user_id": user, "channel_id": channel, "team_id": TEAM}
    slack.app.commands["/train"](ack=acked, command=command, respond=respond)
    return acked, respond


def test_commands_ack_at_once_and_list_only_what_the_person_may_see(slack: Unit) -> None:
    acked, respond = slash(slack, OUTSIDER, "list")
    acked.assert_called_once_with()
    (listed,) = [call.args[0] for call in respond.call_args_list]
    assert "#2" in listed and "#1" not in listed  # run 1 lives in a private channel the outsider is not in
    _acked, respond = slash(slack, OWNER, "목록")
    assert "#1" in respond.call_args.args[0] and "#2" in respond.call_args.args[0]
    _acked, respond = slash(slack, OUTSIDER, "status")
    assert "#2" in respond.call_args.args[0]


def test_a_slash_command_from_an_unlisted_person_opens_no_thread(slack: Unit) -> None:
    acked, respond = slash(slack, STRANGER, "resnet18 on pets")
    acked.assert_called_once_with()
    assert not slack.client.chat_postMessage.called and not respond.called
    (refusal,) = slack.ephemeral_texts()
    assert "not on this bot's list of people who can use it" in refusal


def test_stop_by_id_is_refused_to_others_and_done_for_the_owner(slack: Unit) -> None:
    _acked, respond = slash(slack, OUTSIDER, "stop 2")
    assert (
        "Only the person who started run #2 (<@UOTHER>), or an admin, can stop it."
        in respond.call_args.args[0]
    )
    assert slack.runs.calls == []
    _acked, respond = slash(slack, OTHER, "중지 2")
    assert slack.runs.calls == [("stop", 2, OTHER)] and "#2" in respond.call_args.args[0]


def test_a_mention_starts_a_conversation_in_its_thread(slack: Unit) -> None:
    (on_mention,) = slack.app.events["app_mention"]
    event = {"channel": PUBLIC, "user": OWNER, "text": "<@UBOT> resnet18 classifier", "ts": "31.0"}
    on_mention(event=event, body={"team_id": TEAM})
    session = slack.ctx.conversation.get_session(TEAM, PUBLIC, "31.0")
    assert session is not None and session.user_id == OWNER
    (posted,) = slack.client.chat_postMessage.call_args_list
    assert posted.kwargs["thread_ts"] == "31.0" and "dataset" in posted.kwargs["text"]


def test_a_mention_by_an_unlisted_person_never_reaches_the_engine(slack: Unit) -> None:
    (on_mention,) = slack.app.events["app_mention"]
    on_mention(event={"channel": PUBLIC, "user": STRANGER, "text": "<@UBOT> hi", "ts": "32.0"}, body={})
    assert slack.ctx.conversation.get_session("", PUBLIC, "32.0") is None
    assert not slack.client.chat_postMessage.called and len(slack.ephemeral_texts()) == 1


def test_messages_outside_conversations_and_from_bots_are_left_alone(slack: Unit) -> None:
    on_message = slack.app.events["message"][0]
    on_message(
        event={"channel": PUBLIC, "user": OWNER, "text": "lunch?", "ts": "40.0"}, body={"team_id": TEAM}
    )
    on_message(
        event={"channel": PUBLIC, "user": OWNER, "text": "hello", "ts": "41.0", "thread_ts": "39.0"},
        body={"team_id": TEAM},
    )
    assert not messages.is_human_message({"user": "UBOT", "bot_id": "B1", "text": "x"})
    assert not slack.client.chat_postMessage.called and slack.ephemeral_texts() == []


def test_a_dm_is_a_conversation_of_its_own(slack: Unit) -> None:
    on_message = slack.app.events["message"][0]
    event = {
        "channel": "DOTHER",
        "channel_type": "im",
        "user": OTHER,
        "text": "efficientnet_b0 please",
        "ts": "50.0",
    }
    on_message(event=event, body={"team_id": TEAM})
    session = slack.ctx.conversation.get_session(TEAM, "DOTHER", "50.0")
    assert session is not None and slack.client.chat_postMessage.call_args.kwargs["channel"] == "DOTHER"


def test_the_app_home_shows_own_runs_and_only_visible_queued_ones(slack: Unit) -> None:
    (on_home_opened,) = slack.app.events["app_home_opened"]
    on_home_opened(event={"user": OUTSIDER, "tab": "home"})
    view = slack.client.views_publish.call_args.kwargs["view"]
    assert slack.client.views_publish.call_args.kwargs["user_id"] == OUTSIDER
    assert "#2" in str(view) and "#1" not in str(view)
    on_home_opened(event={"user": OUTSIDER, "tab": "messages"})  # another tab: nothing published
    assert slack.client.views_publish.call_count == 1
