"""@mentions start or continue a conversation in their thread; every other message event is acked."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import App

from bot.actions import Thread
from bot.slack.context import SlackContext
from bot.slack.replies import in_thread_order
from bot.slack.threads import converse

MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def register(app: App, ctx: SlackContext) -> None:
    @app.event("app_mention")
    def on_mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("bot_id"):
            return
        where = Thread(body.get("team_id", ""), event["channel"], event.get("thread_ts") or event["ts"])
        text = MENTION.sub("", event.get("text") or "").strip()
        in_thread_order(ctx, where, converse, event["user"], text, sent_at=event.get("ts"))

    # Unhandled events are not acked in Socket Mode (and Slack re-sends them): acknowledge message edits,
    # deletions and other subtypes here, registered last.
    @app.event("message")
    def ignore_other_messages() -> None:
        return None
