"""Human messages: DMs, and replies in threads that hold a conversation (plus .zip dataset uploads)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack.context import SlackContext, ThreadRef
from bot.slack.threads import converse, receive_zip

HANDLED_SUBTYPES = (None, "file_share", "thread_broadcast")


def register(app: App, ctx: SlackContext) -> None:
    # app.message() matches the subtypes None, bot_message, thread_broadcast and file_share; edits and
    # deletions fall through to the catch-all in listeners/events. Bolt already drops the bot's own events.
    @app.message()
    def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("bot_id") or event.get("subtype") not in HANDLED_SUBTYPES or not event.get("user"):
            return
        is_dm = event.get("channel_type") == "im"
        if not is_dm and f"<@{ctx.bot_user_id}>" in (event.get("text") or ""):
            return  # the app_mention listener answers it
        thread_ts = event.get("thread_ts")
        where = ThreadRef(body.get("team_id", ""), event["channel"], thread_ts or event["ts"])
        if not is_dm and not thread_ts:
            return
        ctx.executor.submit(handle_message, ctx, where, event, is_dm)


def handle_message(ctx: SlackContext, where: ThreadRef, event: dict[str, Any], is_dm: bool) -> None:
    if not is_dm and not ctx.conversation.has_session(where.team_id, where.channel, where.thread_ts):
        return  # a thread the bot is not part of
    text = (event.get("text") or "").strip()
    zips = [f for f in event.get("files") or [] if str(f.get("name", "")).lower().endswith(".zip")]
    if zips:
        receive_zip(ctx, where, event["user"], zips[0], text)
    elif text:
        converse(ctx, where, event["user"], text)
