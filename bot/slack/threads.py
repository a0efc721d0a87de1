"""Conversation threads: feed messages to the engine, answer in the thread, start or schedule runs.

Everything here runs on the project's WorkExecutor, never on a Bolt listener thread.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.runs import RunError, RunUpdate, RunView, StartRequest
from bot.slack import render
from bot.slack.context import SlackContext, ThreadRef
from bot.slack.files import download_shared_file
from bot.slack.start_intent import start_intent
from bot.storage import SessionState
from bot.uploads import UploadError, extract_dataset_zip
from training.config import TrainingConfig

log = logging.getLogger(__name__)


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
    if session is not None and session.state == SessionState.CONFIRMING:
        intent = start_intent(text, ctx.settings.timezone)
        confirmed = ctx.conversation.confirmed_config(session) if intent else None
        if intent and confirmed:
            config, key = confirmed
            start_run(ctx, where, user_id, config, key, session.id, at=intent.at)
            return
    turn = ctx.conversation.handle_message(
        team_id=where.team_id, channel_id=where.channel, thread_ts=where.thread_ts, user_id=user_id, text=text
    )
    reply = "\n".join([*turn.notices, turn.reply]).strip()  # notices come formatted
    if turn.complete and turn.config is not None:
        summary = render.config_summary(
            reply, turn.config, session_id=turn.session_id, config_key=turn.config_key
        )
        ts = post(ctx, where, **summary.as_kwargs())
        ctx.conversation.set_summary_ts(turn.session_id, ts)
    elif reply:
        post(ctx, where, reply)


def start_run(
    ctx: SlackContext,
    where: ThreadRef,
    user_id: str,
    config: TrainingConfig,
    config_key: str,
    session_id: int | None,
    *,
    at: datetime | None = None,
) -> RunView | None:
    """Submit (or schedule) the run and post its progress message. Idempotent on config_key, so a
    double click or a re-sent "start" gives one run and one progress message."""
    if not ctx.may_start(user_id, where.channel):
        refuse(ctx, where, user_id, "Sorry, you are not allowed to start training runs here.")
        return None
    request = StartRequest(
        config=config,
        requested_by=user_id,
        start_key=config_key,
        session_id=session_id,
        slack_channel=where.channel,
        slack_thread_ts=where.thread_ts,
    )
    with ctx.start_lock:
        try:
            run = ctx.runs.schedule(request, at) if at is not None else ctx.runs.submit(request)
        except RunError as error:
            post(ctx, where, error.message)
            return None
        attach_progress_message(ctx, where, run)
    if session_id is not None:
        ctx.conversation.mark_started(session_id)
    return run


def attach_progress_message(ctx: SlackContext, where: ThreadRef, run: RunView) -> None:
    """Post the run's progress message, once (caller holds ctx.start_lock), and keep it current."""
    if run.slack_ts:
        return  # this start was already handled (a double click, a re-sent "start")
    rendered = render.progress_message(run)
    ts = post(ctx, where, **rendered.as_kwargs())
    ctx.runs.set_progress_message(run.id, where.channel, ts)
    ctx.progress.track(run, where.channel, ts)
    # updates from before set_progress_message carried no message ts and were skipped: catch up on them
    ctx.progress.on_update(RunUpdate(ctx.runs.get(run.id)))


def receive_zip(ctx: SlackContext, where: ThreadRef, user_id: str, file: dict[str, Any], text: str) -> None:
    """A .zip shared in a conversation thread: extract it safely and use it as the dataset."""
    token = ctx.settings.slack_bot_token
    name = str(file.get("name") or "dataset.zip")
    try:
        with tempfile.TemporaryDirectory(prefix="trainbot-upload-") as folder:
            zip_path = download_shared_file(
                file,
                token.get_secret_value() if token else "",
                Path(folder) / "upload.zip",
                ctx.settings.upload_max_bytes,
            )
            dataset = extract_dataset_zip(zip_path, ctx.settings, name)
    except UploadError as error:
        post(ctx, where, f"I could not use `{name}`: {error.message}")
        return
    counts = ", ".join(f"{cls} {n}" for cls, n in dataset.summary.counts.items())
    dropped = f" ({dataset.dropped} other files left out)" if dataset.dropped else ""
    post(
        ctx,
        where,
        f"Unpacked `{name}` into `{dataset.relative_path}`: {len(dataset.summary.classes)} classes, "
        f"{dataset.images} images{dropped}. Classes: {counts}.",
    )
    message = f"dataset: {dataset.relative_path}"
    converse(ctx, where, user_id, f"{text}\n{message}".strip() if text else message)
