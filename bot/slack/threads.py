"""Conversation threads: feed messages to the engine, answer in the thread, start or schedule runs.

Everything here runs on the project's WorkExecutor, never on a Bolt listener thread, and the work of one
thread runs in that thread's lane (`in_thread_order`), one message after the other.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.conversation.service import StartOrder, Turn
from bot.i18n import t
from bot.present import runs as present
from bot.runs import RunError, RunUpdate, RunView, StartRequest
from bot.slack import model_use, render
from bot.slack.context import SlackContext, ThreadRef
from bot.slack.files import download_shared_file
from bot.storage import ChatSession
from bot.uploads import UploadError, extract_dataset_zip, shown_name

log = logging.getLogger(__name__)


def in_thread_order(
    ctx: SlackContext, where: ThreadRef, fn: Callable[..., Any], *args: Any, sent_at: str | None = None
) -> None:
    """Run `fn(ctx, where, *args)` after the thread's earlier work (messages, clicks) has finished;
    `sent_at` is the Slack ts of the message or click, which orders work that arrives together."""
    ctx.executor.submit_in_order(where, fn, ctx, where, *args, sent_at=_seconds(sent_at))


def _seconds(ts: str | None) -> float | None:
    try:
        return float(ts) if ts else None
    except ValueError:
        return None


def post(ctx: SlackContext, where: ThreadRef, text: str, **kwargs: Any) -> str:
    response = ctx.client.chat_postMessage(
        channel=where.channel, thread_ts=where.thread_ts, text=text, **kwargs
    )
    return response["ts"]


def refuse(ctx: SlackContext, where: ThreadRef, user_id: str, text: str) -> None:
    ctx.client.chat_postEphemeral(channel=where.channel, user=user_id, thread_ts=where.thread_ts, text=text)


def converse(ctx: SlackContext, where: ThreadRef, user_id: str, text: str) -> None:
    """One user message: a typed start ("start", "start at 02:00") in a confirming thread starts the run;
    anything else goes to the engine, whose reply comes with Start/Cancel once the config is complete."""
    session = ctx.conversation.get_session(where.team_id, where.channel, where.thread_ts)
    order = ctx.conversation.start_order(session, text) if session is not None else None
    if session is not None and order is not None:
        start_run(ctx, where, user_id, session, order)
        return
    turn = ctx.conversation.handle_message(
        team_id=where.team_id, channel_id=where.channel, thread_ts=where.thread_ts, user_id=user_id, text=text
    )
    if turn.intent == "command" and turn.command in model_use.THREAD_COMMANDS:
        for notice in turn.notices:
            post(ctx, where, render.escape(notice))
        model_use.THREAD_COMMANDS[turn.command](ctx, where, user_id, turn)
        return
    reply_turn(ctx, where, turn)


def reply_turn(ctx: SlackContext, where: ThreadRef, turn: Turn) -> None:
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


def start_run(
    ctx: SlackContext, where: ThreadRef, user_id: str, session: ChatSession, order: StartOrder
) -> None:
    """Submit (or schedule) the run and post its progress message. Idempotent on the config key, so a
    double click or a re-sent "start" gives one run and one progress message."""
    language = session.language
    if not ctx.may_start(user_id, where.channel):
        refuse(ctx, where, user_id, render.slack_text(language, "not_allowed_start"))
        return
    request = StartRequest(
        config=order.config,
        requested_by=user_id,
        start_key=order.config_key,
        session_id=session.id,
        slack_channel=where.channel,
        slack_thread_ts=where.thread_ts,
        continues_run_id=order.continues_run_id,
    )
    with ctx.start_lock:
        try:
            run = ctx.runs.schedule(request, order.at) if order.at is not None else ctx.runs.submit(request)
        except RunError as error:
            post(ctx, where, render.escape(present.run_error(language, error)))
            return
        attach_progress_message(ctx, where, run)
    ctx.conversation.mark_started(session.id)


def attach_progress_message(ctx: SlackContext, where: ThreadRef, run: RunView) -> None:
    """Post the run's progress message, once (caller holds ctx.start_lock), and keep it current."""
    if run.slack_ts:
        return  # this start was already handled (a double click, a re-sent "start")
    rendered = render.progress_message(run, ctx.run_language(run))
    ts = post(ctx, where, **rendered.as_kwargs())
    ctx.runs.set_progress_message(run.id, where.channel, ts)
    ctx.progress.track(run, where.channel, ts)
    # updates from before set_progress_message carried no message ts and were skipped: catch up on them
    ctx.progress.on_update(RunUpdate(ctx.runs.get(run.id)))


def receive_zip(ctx: SlackContext, where: ThreadRef, user_id: str, file: dict[str, Any], text: str) -> None:
    """A .zip shared in a conversation thread: extract it safely and use it as the dataset. Only users
    who may start runs here may make the bot download and unpack a file."""
    language = ctx.thread_language(where)
    if not ctx.may_start(user_id, where.channel):
        refuse(ctx, where, user_id, render.slack_text(language, "not_allowed_upload"))
        return
    name = shown_name(str(file.get("name") or "dataset.zip"))  # echoed in replies: one short line
    try:
        with tempfile.TemporaryDirectory(prefix="trainbot-upload-") as folder:
            zip_path = download_shared_file(
                ctx.client, file, Path(folder) / "upload.zip", ctx.settings.upload_max_bytes
            )
            dataset = extract_dataset_zip(zip_path, ctx.settings, name, owner=user_id)
    except UploadError as error:
        post(ctx, where, render.escape(error.words(language)))
        return
    counts = ", ".join(f"{cls} {n}" for cls, n in dataset.summary.counts.items())
    report = render.slack_text(
        language,
        "upload_done",
        name=name,
        path=dataset.relative_path,
        classes=len(dataset.summary.classes),
        images=dataset.images,
        counts=counts,
    )
    if dataset.dropped:
        report += " " + render.slack_text(language, "upload_dropped", count=dataset.dropped)
    post(ctx, where, report)
    message = f"dataset: {dataset.relative_path}"
    converse(ctx, where, user_id, f"{text}\n{message}".strip() if text else message)
