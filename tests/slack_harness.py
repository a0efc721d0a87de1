"""The real Bolt app (Socket Mode, built-in client) wired to the Slack stand-in, a RunManager and the
conversation engine, for end-to-end tests and the edit-latency benchmark."""

from __future__ import annotations

import io
import os
import sys
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.actions import Actions
from bot.runs import RunManager
from bot.settings import Settings
from bot.slack.app import build, connect, make_web_client
from bot.slack.context import SlackContext
from bot.slack.membership import ChannelMembers
from bot.slack.progress import EDIT_INTERVAL_S
from bot.storage import Database
from tests.imagegen import make_image_folder
from tests.slack_standin import BOT_USER_ID, Message, SlackStandIn, has_button

CHANNEL = "C0TRAIN"
FAKE_TRAINER = str(Path(__file__).with_name("fake_trainer.py"))
OWNER, STRANGER = "UOWNER", "USTRANGER"
ACK_LIMIT_S = 3.0
ENV_TO_CLEAR = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
)


@dataclass
class SlackHarness:
    standin: SlackStandIn
    settings: Settings
    runs: RunManager
    ctx: SlackContext
    handler: SocketModeHandler

    @classmethod
    def start(
        cls,
        tmp_path: Path,
        trainer_command: Sequence[str],
        *,
        parser: str = "rules",
        anthropic_client: Any = None,
        edit_interval: float = EDIT_INTERVAL_S,
        **settings_overrides: Any,
    ) -> SlackHarness:
        for name in ENV_TO_CLEAR:
            os.environ.pop(name, None)
        standin = SlackStandIn().start()
        settings = Settings(
            _env_file=None,
            slack_bot_token=standin.bot_token,
            slack_app_token=standin.app_token,
            slack_api_url=standin.base_url,
            data_root=tmp_path / "data",
            output_root=tmp_path / "outputs",
            database_url=f"sqlite:///{tmp_path / 'trainbot.db'}",
            conversation_parser=parser,
            **{"max_concurrent_runs": 1, "stop_grace_seconds": 5, **settings_overrides},
        )
        # the composition root's order (bot/cli.py): one database, one Slack client, the services, the app
        db = Database(settings.database_url_or_default)
        db.create_all()
        slack = connect(make_web_client(settings))
        actions = Actions.compose(
            settings,
            db,
            parser,
            membership=ChannelMembers(slack.client),
            anthropic_client=anthropic_client,
            trainer_command=trainer_command,
        )
        _app, ctx = build(settings, actions, slack, db, edit_interval=edit_interval)
        actions.runs.start()  # in the order run_socket_mode uses
        actions.start_sweeps()
        handler = SocketModeHandler(_app, standin.app_token)
        handler.connect()
        standin.wait_connected()
        return cls(standin, settings, actions.runs, ctx, handler)

    def close(self) -> None:
        self.handler.close()
        self.ctx.close()
        self.runs.shutdown()
        self.standin.stop()

    # ---- driving a thread ------------------------------------------------------------------------------

    def open_thread(self, user: str, text: str, channel: str = CHANNEL) -> str:
        """`/train text` in the channel; returns the ts of the bot's top-level message (the thread)."""
        envelope = self.standin.slash_command(channel, user, text)
        self.standin.wait_ack(envelope)
        root = self.wait_message(
            lambda m: m.thread_ts is None and m.channel == channel and f"<@{user}>" in m.text,
            "the /train thread root",
        )
        return root.ts

    def say(self, thread_ts: str, user: str, text: str, **kwargs: Any) -> str:
        envelope, _ts = self.standin.user_message(CHANNEL, user, text, thread_ts=thread_ts, **kwargs)
        self.standin.wait_ack(envelope)
        return envelope

    def bot_messages(self, thread_ts: str) -> list[Message]:
        return [m for m in self.standin.thread(CHANNEL, thread_ts) if m.user == BOT_USER_ID]

    def wait_message(self, predicate: Callable[[Message], bool], what: str, timeout: float = 10) -> Message:
        def found() -> Message | None:
            matches = [
                m for m in list(self.standin.messages.values()) if m.user == BOT_USER_ID and predicate(m)
            ]
            return matches[-1] if matches else None

        return self.standin.wait_for(found, timeout, what)

    def wait_reply(self, thread_ts: str, contains: str, timeout: float = 10) -> Message:
        return self.wait_message(
            lambda m: m.thread_ts == thread_ts and contains in (m.text + str(m.blocks)),
            f"a reply with {contains!r}",
            timeout,
        )

    def summary(self, thread_ts: str) -> Message:
        return self.wait_message(
            lambda m: m.thread_ts == thread_ts and has_button(m.blocks, "train_start"), "the summary"
        )

    def progress_message(self, thread_ts: str) -> Message:
        return self.wait_message(
            lambda m: (
                m.thread_ts == thread_ts and any(b.get("block_id") == "progress" for b in m.blocks or [])
            ),
            "the progress message",
        )


# ---- helpers the Slack test modules share ---------------------------------------------------------------


def harness(tmp_path: Path, epoch_seconds: float, *flags: str, **kwargs: object) -> SlackHarness:
    """The app with a `pets` dataset and the fake trainer (with extra `flags`, e.g. a failure mode)."""
    make_image_folder(tmp_path / "data" / "pets", classes=("cat", "dog"), per_class=4)
    command = [sys.executable, FAKE_TRAINER, "--epoch-seconds", str(epoch_seconds), *flags]
    return SlackHarness.start(tmp_path, command, **kwargs)  # type: ignore[arg-type]


def setup_thread(
    slack: SlackHarness,
    epochs: int,
    request: str = "resnet18 classifier, {epochs} epochs",
    asks: str = "Which dataset",
) -> str:
    """/train `request`, then answer the bot's dataset question (`asks`) with `pets`."""
    thread = slack.open_thread(OWNER, request.format(epochs=epochs))
    slack.wait_reply(thread, asks)
    slack.say(thread, OWNER, "pets")
    return thread


def click(slack: SlackHarness, message_ts: str, user: str, action_id: str) -> None:
    message = slack.standin.messages[(CHANNEL, message_ts)]
    envelope = slack.standin.click(message, user, action_id)
    ack = slack.standin.wait_ack(envelope, timeout=ACK_LIMIT_S)
    assert ack["envelope_id"] == envelope


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()
