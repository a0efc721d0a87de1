"""Conversation threads: feed messages to the actions layer, answer in the thread, start or schedule runs
and post their progress message, take dataset uploads.

Everything here runs on the project's WorkExecutor, never on a Bolt listener thread, and the work of one
thread runs in that thread's lane (`replies.in_thread_order`), one message after the other.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bot.actions import Failed, Said, Started, StartPlace, Thread
from bot.policy import Refusal
from bot.present import runs as present
from bot.runs import RunUpdate, RunView
from bot.slack import model_use, render, sweeps
from bot.slack.context import SlackContext, actor
from bot.slack.files import download_shared_file
from bot.slack.replies import answer, in_thread_order, post, refuse, reply_turn
from bot.uploads import UploadError, extract_dataset_zip, shown_name


def converse(ctx: SlackContext, where: Thread, user_id: str, text: str) -> None:
    """One user message: a typed start, a command word ("export onnx", "10 more epochs", "predict"), or
    a message for the conversation engine, whose reply comes with Start/Cancel once the setup is complete
    (or, for a sweep asked for, the sweep's proposal with Start)."""
    who = actor(user_id, where)
    if ctx.actions.sweeps is not None:  # a sweep started, stopped, resumed or its trials shown
        swept = ctx.actions.sweeps.handle_text(who, where, text)
        if swept is not None:
            with ctx.actions.start_lock:
                sweeps.reply(ctx, where, user_id, swept)
            return
    with ctx.actions.start_lock:
        started = ctx.actions.typed_start(who, where, text, StartPlace(where.channel, where.thread_ts))
        if started is not None:
            say_started(ctx, where, user_id, started)
            return
    turn = ctx.actions.talk(who, where, text)
    if isinstance(turn, Refusal):
        answer(ctx, where, user_id, ctx.person_language(user_id, text), turn)
    elif turn.sweep is not None and ctx.actions.sweeps is not None:
        proposed = ctx.actions.sweeps.propose(where, turn)
        if proposed is not None:
            with ctx.actions.start_lock:
                sweeps.reply(ctx, where, user_id, proposed)
    elif turn.sweep_objective is not None and ctx.actions.sweeps is not None:  # "pick by val loss"
        with ctx.actions.start_lock:
            sweeps.reply(ctx, where, user_id, ctx.actions.sweeps.reobjective(who, where, turn))
    elif turn.intent == "command" and turn.command in model_use.THREAD_COMMANDS:
        for notice in turn.notices:
            post(ctx, where, render.escape(notice))
        model_use.THREAD_COMMANDS[turn.command](ctx, where, user_id, turn)
    else:
        reply_turn(ctx, where, turn)


def say_started(
    ctx: SlackContext, where: Thread, user_id: str, result: Started | Refusal | Failed | Said
) -> None:
    """A start's answer: the progress message, or why not (the caller holds actions.start_lock). A failed
    start is said in the thread; a refused or stale one only to the person who pressed Start."""
    if isinstance(result, Started):
        attach_progress_message(ctx, where, result.run)
    elif isinstance(result, Failed):
        post(ctx, where, render.escape(present.run_error(ctx.thread_language(where), result.error)))
    elif isinstance(result, Said):
        refuse(ctx, where, user_id, render.escape(result.text))
    else:
        answer(ctx, where, user_id, ctx.person_language(user_id), result)


def attach_progress_message(ctx: SlackContext, where: Thread, run: RunView) -> None:
    """Post the run's progress message, once (caller holds actions.start_lock), and keep it current."""
    if run.slack_ts:
        return  # this start was already handled (a double click, a re-sent "start")
    rendered = render.progress_message(run, ctx.run_language(run))
    ts = post(ctx, where, **rendered.as_kwargs())
    ctx.runs.set_progress_message(run.id, where.channel, ts)
    ctx.progress.track(run, where.channel, ts)
    # updates from before set_progress_message carried no message ts and were skipped: catch up on them
    ctx.progress.on_update(RunUpdate(ctx.runs.get(run.id)))


def receive_zip(ctx: SlackContext, where: Thread, user_id: str, file: dict[str, Any], text: str) -> None:
    """A .zip shared in a conversation thread: extract it safely and use it as the dataset. Only people who
    may start runs here may make the bot download and unpack a file, and only in their own setup."""
    language = ctx.thread_language(where)
    refusal = ctx.actions.may_upload(actor(user_id, where), where)
    if refusal is not None:
        answer(ctx, where, user_id, ctx.person_language(user_id, text), refusal)
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
    summary = dataset.summary
    counts = ", ".join(f"{cls} {n}" for cls, n in summary.counts.items())  # detection: boxes per class
    detection = (
        {"format": summary.detection.format.upper(), "boxes": summary.detection.boxes}
        if summary.detection is not None
        else {}
    )
    report = render.slack_text(
        language,
        "upload_done_detection" if detection else "upload_done",
        name=name,
        path=dataset.relative_path,
        classes=len(summary.classes),
        images=dataset.images,
        counts=counts,
        **detection,
    )
    if dataset.dropped:
        report += " " + render.slack_text(language, "upload_dropped", count=dataset.dropped)
    post(ctx, where, report)
    message = f"dataset: {dataset.relative_path}"
    # back in the thread's lane: the dataset is a message of the conversation, in its order
    in_thread_order(ctx, where, converse, user_id, f"{text}\n{message}".strip() if text else message)
