"""Human messages: DMs, and replies in threads that hold a conversation (plus .zip dataset uploads, and
images posted in a finished run's thread, which are classified with its model: bot/slack/model_use.py).
Predictions and uploads run on their own worker pools (bot/slack/executor.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.actions import Thread
from bot.slack import model_use
from bot.slack.context import SlackContext
from bot.slack.replies import in_thread_order
from bot.slack.threads import converse, receive_zip

HANDLED_SUBTYPES = (None, "file_share", "thread_broadcast")


def is_human_message(event: dict[str, Any]) -> bool:
    return event.get("subtype") in HANDLED_SUBTYPES and bool(event.get("user")) and not event.get("bot_id")


def register(app: App, ctx: SlackContext) -> None:
    # Not app.message(): it skips messages with empty text, such as a .zip shared without a comment.
    # Edits, deletions and bot posts fall through to the catch-all in listeners/events; Bolt already
    # drops the bot's own events.
    @app.event("message", matchers=[is_human_message])
    def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        is_dm = event.get("channel_type") == "im"
        if not is_dm and f"<@{ctx.bot_user_id}>" in (event.get("text") or ""):
            return  # the app_mention listener answers it
        thread_ts = event.get("thread_ts")
        if not is_dm and not thread_ts:
            return
        where = Thread(body.get("team_id", ""), event["channel"], thread_ts or event["ts"])
        in_thread_order(ctx, where, handle_message, event, is_dm, sent_at=event.get("ts"))


def handle_message(ctx: SlackContext, where: Thread, event: dict[str, Any], is_dm: bool) -> None:
    session = ctx.actions.session(where)
    if not is_dm and session is None:
        return  # a thread the bot is not part of
    text = (event.get("text") or "").strip()
    files = list(event.get("files") or [])
    zips = [f for f in files if model_use.is_zip(f)]
    if files and model_use.takes_files_for_prediction(ctx, where, session, files):
        # images for a finished run's model
        ctx.executor.submit_heavy("predict", model_use.predict_files, ctx, where, event["user"], files, text)
    elif zips:
        ctx.executor.submit_heavy("upload", receive_zip, ctx, where, event["user"], zips[0], text)
    elif text:
        converse(ctx, where, event["user"], text)
