"""A finished run's model, used from Slack: images posted in its thread are classified, "export onnx"
(or the Export ONNX button) exports and verifies it, "10 more epochs" drafts a run continuing it.

Which run a thread means: its newest completed run for predictions and ONNX, its newest completed or
stopped run for continuing; a thread opened by `/train predict <id>` means that run.

Files in a conversation thread are for predicting, not a dataset upload, when the thread has a completed
run and is not setting up a new one (its conversation has started its run and nobody has edited the
settings since): loose images (JPEG, PNG, WebP) and a .zip of them. Everywhere else a .zip is still a
dataset, and loose images in a thread without a finished run get a reply saying so.

Everything heavy runs outside the bot process: predictions in a warm `python -m training.serve` worker
(bot/predict), the ONNX export in a `python -m training.export` subprocess.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.conversation.language import detect_language
from bot.conversation.service import Turn
from bot.i18n import t
from bot.predict import Limits, export
from bot.predict.answer import continue_refusal, latest_completed, latest_continuable, predict_reply
from bot.predict.files import IMAGE_SUFFIXES, ZIP_SUFFIX
from bot.present import runs as present
from bot.runs import RunError, RunView
from bot.slack import render, threads
from bot.slack.context import SlackContext, ThreadRef
from bot.slack.files import download_shared_file, upload_artifacts
from bot.storage import ChatSession, RunStatus, SessionState
from bot.uploads import UploadError, shown_name
from training.contract import MODEL_FILE


def is_image(file: dict[str, Any]) -> bool:
    return Path(str(file.get("name") or "")).suffix.lower() in IMAGE_SUFFIXES


def is_zip(file: dict[str, Any]) -> bool:
    return str(file.get("name") or "").lower().endswith(ZIP_SUFFIX)


def model_run(ctx: SlackContext, where: ThreadRef, session: ChatSession | None) -> RunView | None:
    """The run whose model images posted in this thread are classified with."""
    found = latest_completed(ctx.runs.thread_runs(where.channel, where.thread_ts))
    if found is None and session is not None and session.model_run_id is not None:
        try:
            found = ctx.runs.get(session.model_run_id)
        except RunError:
            return None
    return found


def takes_files_for_prediction(
    ctx: SlackContext, where: ThreadRef, session: ChatSession | None, files: list[dict[str, Any]]
) -> bool:
    """Loose images are never a dataset; a .zip is one unless the thread has a finished run and is not
    setting up a new one."""
    if any(is_image(file) for file in files):
        return True
    if not any(is_zip(file) for file in files) or session is None:
        return False
    return session.state == SessionState.STARTED and model_run(ctx, where, session) is not None


def predict_files(
    ctx: SlackContext, where: ThreadRef, user_id: str, files: list[dict[str, Any]], text: str = ""
) -> None:
    """Download the posted images (or zips), classify them with the thread's run, reply with the top 3 (in
    the language of the message's comment, if it has one)."""
    session = ctx.conversation.get_session(where.team_id, where.channel, where.thread_ts)
    language = detect_language(text, ctx.thread_language(where))
    if not ctx.may_start(user_id, where.channel):
        threads.refuse(ctx, where, user_id, render.slack_text(language, "predict_not_allowed"))
        return
    run = model_run(ctx, where, session)
    if run is None:
        threads.post(ctx, where, render.slack_text(language, "predict_no_thread_run"))
        return
    if ctx.predictions is None:
        return
    limits = Limits()
    token = ctx.settings.slack_bot_token.get_secret_value() if ctx.settings.slack_bot_token else ""
    with tempfile.TemporaryDirectory(prefix="trainbot-predict-") as folder:
        local: list[tuple[str, Path]] = []
        refused: list[str] = []
        for index, file in enumerate(files[: limits.max_images]):  # any other file: the checks word it
            name = shown_name(str(file.get("name") or "image"))
            limit = limits.max_zip_bytes if is_zip(file) else limits.max_bytes
            try:
                path = Path(folder) / f"{index:03d}{Path(name).suffix.lower()}"
                local.append((name, download_shared_file(file, token, path, limit)))
            except UploadError as error:
                refused.append(error.words(language))
        reply = predict_reply(ctx.predictions, run, local, language, limits) if local else ""
    threads.post(ctx, where, render.escape("\n".join([line for line in (*refused, reply) if line])))


def open_predict_thread(
    ctx: SlackContext, team_id: str, channel: str, user_id: str, run_text: str, language: str
) -> str | None:
    """`/train predict <id>`: a slash command carries no files, so a new thread is opened for the run's
    model and images posted there are classified with it. Returns a refusal, or None when it opened."""
    if not run_text.isdigit():
        return render.slack_text(language, "predict_usage")
    if not ctx.may_start(user_id, channel):
        return render.slack_text(language, "predict_not_allowed")
    try:
        run = ctx.runs.get(int(run_text))
    except RunError as error:
        return render.escape(present.run_error(language, error))
    if run.status != RunStatus.COMPLETED:
        status = present.status_label(language, run.status)
        return render.slack_text(language, "predict_not_finished", run_id=run.id, status=status)
    if not run.output_dir or not (Path(run.output_dir) / MODEL_FILE).is_file():
        return render.slack_text(language, "predict_no_model", run_id=run.id)
    prompt = render.slack_text(language, "predict_prompt", run_id=run.id, model=str(run.config.get("model")))
    root = ctx.client.chat_postMessage(channel=channel, text=prompt)
    ctx.conversation.open_model_thread(team_id, channel, root["ts"], user_id, run.id, language)
    return None


def on_predict_word(ctx: SlackContext, where: ThreadRef, user_id: str, turn: Turn) -> None:
    """ "predict" typed in a thread: files are what it needs, so say where to post them."""
    run = model_run(ctx, where, ctx.conversation.get_session(where.team_id, where.channel, where.thread_ts))
    if run is None:
        threads.post(ctx, where, render.slack_text(turn.language, "predict_no_thread_run"))
    else:
        threads.post(ctx, where, render.slack_text(turn.language, "predict_attach", run_id=run.id))


def on_export_word(ctx: SlackContext, where: ThreadRef, user_id: str, turn: Turn) -> None:
    run_id = turn.command_args.get("run_id")
    session = ctx.conversation.get_session(where.team_id, where.channel, where.thread_ts)
    try:
        run = ctx.runs.get(int(run_id)) if run_id is not None else model_run(ctx, where, session)
    except RunError as error:
        threads.post(ctx, where, render.escape(present.run_error(turn.language, error)))
        return
    if run is None:
        threads.post(ctx, where, render.slack_text(turn.language, "onnx_no_run"))
        return
    export_onnx(ctx, where, user_id, run)


def export_onnx(ctx: SlackContext, where: ThreadRef, user_id: str, run: RunView) -> None:
    """Export the run's best model to ONNX in a subprocess, verified against PyTorch; the figures go to
    the thread, and the file too when it passed. Only the run's owner or an admin may, as for Download."""
    language = ctx.run_language(run)
    if not ctx.runs.can_manage(run, user_id):
        owner = render.mention(run.requested_by or "")
        text = render.slack_text(language, "manage_only_owner", owner=owner, id=run.id)
        threads.refuse(ctx, where, user_id, text)
        return
    if run.status != RunStatus.COMPLETED or not run.output_dir:
        status = present.status_label(language, run.status)
        text = render.slack_text(language, "predict_not_finished", run_id=run.id, status=status)
        threads.post(ctx, where, text)
        return
    report = export.verified_report(run)
    if report is None:
        threads.post(ctx, where, render.slack_text(language, "onnx_working", run_id=run.id))
        report = export.run_export(Path(run.output_dir), ctx.export_command, ctx.runs.helper_cpus())
    text = render.escape(present.onnx_report(language, run.id, report))
    offered = export.offered_file(run, report)
    if offered is None:
        threads.post(ctx, where, text)
        return
    title = t(language, "onnx_file", run_id=run.id, model=str(run.config.get("model")))
    upload_artifacts(ctx.client, where.channel, where.thread_ts, [(str(offered), title)], comment=text)


def on_continue_word(ctx: SlackContext, where: ThreadRef, user_id: str, turn: Turn) -> None:
    """ "10 more epochs": a new draft continuing the thread's finished or stopped run (or the one named),
    shown as a summary with Start."""
    language = turn.language
    if not ctx.may_start(user_id, where.channel):
        threads.refuse(ctx, where, user_id, render.slack_text(language, "not_allowed_start"))
        return
    run_id = turn.command_args.get("run_id")
    try:
        source = ctx.runs.get(int(run_id)) if run_id is not None else continuable_run(ctx, where)
    except RunError as error:
        threads.post(ctx, where, render.escape(present.run_error(language, error)))
        return
    refusal = continue_refusal(language, source)
    if refusal is not None or source is None:
        threads.post(ctx, where, render.escape(refusal or ""))
        return
    epochs = int(turn.command_args.get("epochs") or 0)
    threads.reply_turn(
        ctx, where, ctx.conversation.continue_run(turn.session_id, source.id, source.config, epochs, language)
    )


def continuable_run(ctx: SlackContext, where: ThreadRef) -> RunView | None:
    found = latest_continuable(ctx.runs.thread_runs(where.channel, where.thread_ts))
    if found is None:
        session = ctx.conversation.get_session(where.team_id, where.channel, where.thread_ts)
        found = model_run(ctx, where, session)
    return found


THREAD_COMMANDS: dict[str, Callable[[SlackContext, ThreadRef, str, Turn], None]] = {
    "predict": on_predict_word,
    "export_onnx": on_export_word,
    "continue": on_continue_word,
}
