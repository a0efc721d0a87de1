"""A finished run's model, used from Slack: images posted in its thread are classified, "export onnx"
(or the Export ONNX button) exports and verifies it, "10 more epochs" drafts a run continuing it.

Who may: bot/policy.py, through bot/actions. Which run a thread means: its newest completed run for
predictions and ONNX, its newest completed or stopped run for continuing; a thread opened by
`/train predict <id>` means that run.

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

from bot.actions import Exported, Failed, ModelOf, Said, Thread
from bot.conversation.language import detect_language
from bot.conversation.service import Turn
from bot.i18n import t
from bot.policy import Refusal
from bot.predict import Limits
from bot.predict.answer import Predicted, latest_completed, latest_continuable
from bot.predict.files import IMAGE_SUFFIXES, ZIP_SUFFIX
from bot.present import runs as present
from bot.runs import RunError, RunView
from bot.slack import render
from bot.slack.context import SlackContext, actor
from bot.slack.files import download_shared_file, upload_artifacts
from bot.slack.replies import answer, post, refusal_text, reply_turn
from bot.storage import ChatSession, SessionState
from bot.uploads import UploadError, shown_name
from training.config import SCORE_THRESHOLD_RANGE


def is_image(file: dict[str, Any]) -> bool:
    return Path(str(file.get("name") or "")).suffix.lower() in IMAGE_SUFFIXES


def is_zip(file: dict[str, Any]) -> bool:
    return str(file.get("name") or "").lower().endswith(ZIP_SUFFIX)


def model_run(ctx: SlackContext, where: Thread, session: ChatSession | None) -> RunView | None:
    """The run whose model images posted in this thread are classified with."""
    found = latest_completed(ctx.runs.thread_runs(where.channel, where.thread_ts))
    if found is None and session is not None and session.model_run_id is not None:
        try:
            found = ctx.runs.get(session.model_run_id)
        except RunError:
            return None
    return found


def takes_files_for_prediction(
    ctx: SlackContext, where: Thread, session: ChatSession | None, files: list[dict[str, Any]]
) -> bool:
    """Loose images are never a dataset; a .zip is one unless the thread has a finished run and is not
    setting up a new one."""
    if any(is_image(file) for file in files):
        return True
    if not any(is_zip(file) for file in files) or session is None:
        return False
    return session.state == SessionState.STARTED and model_run(ctx, where, session) is not None


def predict_files(
    ctx: SlackContext, where: Thread, user_id: str, files: list[dict[str, Any]], text: str = ""
) -> None:
    """Download the posted images (or zips), classify them with the thread's run, reply with the top 3 (in
    the language of the message's comment, if it has one)."""
    language = detect_language(text, ctx.thread_language(where))
    run = model_run(ctx, where, ctx.actions.session(where))
    if run is None:
        post(ctx, where, render.slack_text(language, "predict_no_thread_run"))
        return
    model = ctx.actions.model_for_prediction(actor(user_id, where), run, language)
    if not isinstance(model, ModelOf):
        answer(ctx, where, user_id, language, model)
        return
    limits = Limits()
    with tempfile.TemporaryDirectory(prefix="trainbot-predict-") as folder:
        local: list[tuple[str, Path]] = []
        refused: list[str] = []
        for index, file in enumerate(files[: limits.max_images]):  # any other file: the checks word it
            name = shown_name(str(file.get("name") or "image"))
            limit = limits.max_zip_bytes if is_zip(file) else limits.max_bytes
            try:
                path = Path(folder) / f"{index:03d}{Path(name).suffix.lower()}"
                local.append((name, download_shared_file(ctx.client, file, path, limit)))
            except UploadError as error:
                refused.append(error.words(language))
        predicted = ctx.actions.predict(model, local, language, limits, where)
        text = render.escape("\n".join([line for line in (*refused, predicted.text) if line]))
        post_predicted(ctx, where, language, text, predicted)


def post_predicted(ctx: SlackContext, where: Thread, language: str, text: str, predicted: Predicted) -> None:
    """The answer as one reply: the text alone, or a detection run's drawn images uploaded together with
    the text as their comment."""
    if not predicted.drawn:
        post(ctx, where, text)
        return
    title = t(language, "det_predict_drawn", run_id=predicted.run_id)
    files = [(str(path), f"{title} · {name}") for name, path in predicted.drawn]
    upload_artifacts(ctx.client, where.channel, where.thread_ts, files, comment=text)


def on_rethreshold_word(ctx: SlackContext, where: Thread, user_id: str, turn: Turn) -> None:
    """ "신뢰도 0.6으로 다시", "again with threshold 0.3": the thread's last images, answered again by the
    detection run that answered them, at the new threshold."""
    ctx.executor.submit_heavy("predict", rethreshold, ctx, where, user_id, turn)


def rethreshold(ctx: SlackContext, where: Thread, user_id: str, turn: Turn) -> None:
    conf = turn.command_args.get("score_threshold")
    low, high = SCORE_THRESHOLD_RANGE
    if conf is None or not low <= conf <= high:
        post(ctx, where, render.slack_text(turn.language, "det_rethreshold_bad"))
        return
    result = ctx.actions.rethreshold(actor(user_id, where), where, conf, turn.language)
    if not isinstance(result, Predicted):
        answer(ctx, where, user_id, turn.language, result)
        return
    post_predicted(ctx, where, turn.language, render.escape(result.text), result)


def open_predict_thread(
    ctx: SlackContext, team_id: str, channel: str, user_id: str, run_text: str, language: str
) -> str | None:
    """`/train predict <id>`: a slash command carries no files, so a new thread is opened for the run's
    model and images posted there are classified with it. Returns a refusal, or None when it opened."""
    if not run_text.isdigit():
        return render.slack_text(language, "predict_usage")
    model = ctx.actions.model_for_prediction(actor(user_id, channel=channel), int(run_text), language)
    if not isinstance(model, ModelOf):
        return said_text(language, model)
    run = model.run
    prompt = render.slack_text(language, "predict_prompt", run_id=run.id, model=run.model)
    root = ctx.client.chat_postMessage(channel=channel, text=prompt)
    ctx.conversation.open_model_thread(team_id, channel, root["ts"], user_id, run.id, language)
    return None


def said_text(language: str, result: Refusal | Failed | Said) -> str:
    """An action's answer as one mrkdwn text (for a slash command's private reply)."""
    match result:
        case Refusal():
            return refusal_text(language, result)
        case Failed(error=error):
            return render.escape(present.run_error(language, error))
        case Said(text=text):
            return render.escape(text)


def on_predict_word(ctx: SlackContext, where: Thread, user_id: str, turn: Turn) -> None:
    """ "predict" typed in a thread: files are what it needs, so say where to post them."""
    run = model_run(ctx, where, ctx.actions.session(where))
    if run is None:
        post(ctx, where, render.slack_text(turn.language, "predict_no_thread_run"))
    else:
        post(ctx, where, render.slack_text(turn.language, "predict_attach", run_id=run.id))


def on_export_word(ctx: SlackContext, where: Thread, user_id: str, turn: Turn) -> None:
    run_id = turn.command_args.get("run_id")
    run = int(run_id) if run_id is not None else model_run(ctx, where, ctx.actions.session(where))
    ctx.executor.submit_heavy("export", export_onnx, ctx, where, user_id, run, turn.language)


def export_onnx(
    ctx: SlackContext, where: Thread, user_id: str, run: RunView | int | None, language: str
) -> None:
    """Export the run's best model to ONNX (bot/actions); the figures go to the thread, and the file too
    when it passed."""

    def working(found: RunView) -> None:
        post(ctx, where, render.slack_text(language, "onnx_working", run_id=found.id))

    result = ctx.actions.export_onnx(actor(user_id, where), run, language, working)
    if not isinstance(result, Exported):
        answer(ctx, where, user_id, language, result)
        return
    text = render.escape(present.onnx_report(language, result.run.id, result.report))
    if result.offered is None:
        post(ctx, where, text)
        return
    title = t(language, "onnx_file", run_id=result.run.id, model=result.run.model)
    upload_artifacts(ctx.client, where.channel, where.thread_ts, [(str(result.offered), title)], comment=text)


def on_continue_word(ctx: SlackContext, where: Thread, user_id: str, turn: Turn) -> None:
    """ "10 more epochs": a new draft continuing the thread's finished or stopped run (or the one named),
    shown as a summary with Start."""
    run_id = turn.command_args.get("run_id")
    result = ctx.actions.continue_draft(
        actor(user_id, where), turn, int(run_id) if run_id is not None else None, continuable_runs(ctx, where)
    )
    if isinstance(result, Turn):
        reply_turn(ctx, where, result)
    else:
        answer(ctx, where, user_id, turn.language, result)


def continuable_runs(ctx: SlackContext, where: Thread) -> list[RunView]:
    """The thread's runs, newest first, else the run its model thread was opened for."""
    found = ctx.runs.thread_runs(where.channel, where.thread_ts)
    if latest_continuable(found) is None:
        model = model_run(ctx, where, ctx.actions.session(where))
        return [model] if model is not None else []
    return found


THREAD_COMMANDS: dict[str, Callable[[SlackContext, Thread, str, Turn], None]] = {
    "predict": on_predict_word,
    "export_onnx": on_export_word,
    "continue": on_continue_word,
    "rethreshold": on_rethreshold_word,
}
