"""Sending in a conversation thread: posts, private refusals, the engine's reply (a complete setup as the
summary with Start/Cancel), and the order work runs in per thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.actions import Failed, Said, Thread
from bot.conversation.service import Turn
from bot.i18n import t
from bot.policy import Refusal
from bot.present import runs as present
from bot.present.refusals import refusal_key, refusal_values
from bot.slack import render
from bot.slack.context import SlackContext


def in_thread_order(
    ctx: SlackContext, where: Thread, fn: Callable[..., Any], *args: Any, sent_at: str | None = None
) -> None:
    """Run `fn(ctx, where, *args)` after the thread's earlier work (messages, clicks) has finished;
    `sent_at` is the Slack ts of the message or click, which orders work that arrives together."""
    ctx.executor.submit_in_order(where, fn, ctx, where, *args, sent_at=_seconds(sent_at))


def _seconds(ts: str | None) -> float | None:
    try:
        return float(ts) if ts else None
    except ValueError:
        return None


def post(ctx: SlackContext, where: Thread, text: str, **kwargs: Any) -> str:
    response = ctx.client.chat_postMessage(
        channel=where.channel, thread_ts=where.thread_ts, text=text, **kwargs
    )
    return response["ts"]


def refuse(ctx: SlackContext, where: Thread, user_id: str, text: str) -> None:
    ctx.client.chat_postEphemeral(channel=where.channel, user=user_id, thread_ts=where.thread_ts, text=text)


def refusal_text(language: str, refusal: Refusal) -> str:
    owner = render.mention(refusal.owner) if refusal.owner else ""
    return render.slack_text(language, refusal_key(refusal), owner=owner, **refusal_values(refusal))


def answer(
    ctx: SlackContext, where: Thread, user_id: str, language: str, result: Refusal | Failed | Said
) -> None:
    """What an action answered instead of doing it: a refusal privately, anything else in the thread."""
    match result:
        case Refusal():
            refuse(ctx, where, user_id, refusal_text(language, result))
        case Failed(error=error):
            refuse(ctx, where, user_id, render.escape(present.run_error(language, error)))
        case Said(text=text):
            post(ctx, where, render.escape(text))


def reply_turn(ctx: SlackContext, where: Thread, turn: Turn) -> None:
    """The engine's reply; a complete config comes as the summary with Start/Cancel."""
    reply = "\n".join([*turn.notices, turn.reply]).strip()
    if turn.complete and turn.config is not None:
        summary = render.config_summary(
            f"{reply}\n{t(turn.language, 'slack_summary_footer')}",
            turn.language,
            model=turn.config.model,
            epochs=turn.config.epochs,
            session_id=turn.session_id,
            config_key=turn.config_key,
        )
        ts = post(ctx, where, **summary.as_kwargs())
        ctx.conversation.set_summary_ts(turn.session_id, ts)
    elif reply:
        post(ctx, where, render.escape(reply))
