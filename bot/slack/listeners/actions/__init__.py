"""Buttons: Start / Cancel on the setup summary; Stop / Download / Resume on the progress message and in
the App Home; Export ONNX on the results reply. Stop and Cancel ask for confirmation in Slack itself
(Block Kit `confirm`). Who may press which: bot/policy.py, through bot/actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.actions import Cancelled, ModelOf, Resumed, Stopped, Thread
from bot.runs import RunError
from bot.slack import model_use, render
from bot.slack.context import SlackContext, actor
from bot.slack.home import publish_home
from bot.slack.progress import upload_model
from bot.slack.replies import answer, in_thread_order, post, refuse
from bot.slack.threads import attach_progress_message, say_started

Handler = Callable[[SlackContext, Thread, str, dict[str, Any]], None]


def register(app: App, ctx: SlackContext) -> None:
    handlers: dict[str, Handler] = {
        render.START: on_start,
        render.CANCEL: on_cancel,
        render.STOP: on_stop,
        render.DOWNLOAD: on_download,
        render.RESUME: on_resume,
        render.EXPORT_ONNX: on_export_onnx,
    }
    for action_id, handler in handlers.items():
        app.action(action_id)(acking(ctx, handler))


def acking(ctx: SlackContext, handler: Handler) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        container = body.get("container") or {}
        user = body["user"]["id"]
        details = {**action, "message_ts": container.get("message_ts")}
        if container.get("type") == "view":  # a button in the App Home: act on the run's own thread
            ctx.executor.submit(from_home, ctx, handler, body.get("team", {}).get("id", ""), user, details)
            return
        channel = container.get("channel_id") or body["channel"]["id"]
        thread_ts = container.get("thread_ts") or container.get("message_ts", "")
        where = Thread(body.get("team", {}).get("id", ""), channel, thread_ts)
        in_thread_order(ctx, where, handler, user, details, sent_at=action.get("action_ts"))

    listener.__name__ = f"on_{handler.__name__}"
    return listener


def from_home(ctx: SlackContext, handler: Handler, team_id: str, user: str, action: dict[str, Any]) -> None:
    """The App Home shows only runs the person may see; the button acts in the run's thread."""
    try:
        run = ctx.runs.get(run_id_of(action))
    except RunError:
        run = None
    if run is not None and run.slack_channel and run.slack_thread_ts:
        handler(ctx, Thread(team_id, run.slack_channel, run.slack_thread_ts), user, action)
    publish_home(ctx, user)  # show the run's new state


def on_start(ctx: SlackContext, where: Thread, user: str, action: dict[str, Any]) -> None:
    value = render.StartValue.decode(action["value"])
    with ctx.actions.start_lock:
        result = ctx.actions.start_summary(
            actor(user, where), where, value.session_id, value.config_key, action["message_ts"]
        )
        say_started(ctx, where, user, result)


def on_cancel(ctx: SlackContext, where: Thread, user: str, action: dict[str, Any]) -> None:
    result = ctx.actions.cancel_draft(actor(user, where), where)
    if isinstance(result, Cancelled):
        post(
            ctx,
            where,
            render.slack_text(ctx.thread_language(where), "setup_cancelled", user=render.mention(user)),
        )
    elif result is not None:
        answer(ctx, where, user, ctx.person_language(user), result)


def run_id_of(action: dict[str, Any]) -> int:
    value = str(action.get("value", ""))
    return int(value) if value.isdigit() else -1


def on_stop(ctx: SlackContext, where: Thread, user: str, action: dict[str, Any]) -> None:
    result = ctx.actions.stop(actor(user, where), run_id_of(action))
    if not isinstance(result, Stopped):
        answer(ctx, where, user, ctx.person_language(user), result)


def on_download(ctx: SlackContext, where: Thread, user: str, action: dict[str, Any]) -> None:
    result = ctx.actions.download(actor(user, where), run_id_of(action))
    if not isinstance(result, ModelOf):
        answer(ctx, where, user, ctx.person_language(user), result)
        return
    language = ctx.run_language(result.run)
    if not upload_model(ctx.client, result.run, where.channel, where.thread_ts, language, with_curves=False):
        refuse(ctx, where, user, render.slack_text(language, "no_model_file", id=result.run.id))


def on_resume(ctx: SlackContext, where: Thread, user: str, action: dict[str, Any]) -> None:
    result = ctx.actions.resume(actor(user, where), run_id_of(action))
    if not isinstance(result, Resumed):
        answer(ctx, where, user, ctx.person_language(user), result)
        return
    with ctx.actions.start_lock:
        attach_progress_message(ctx, where, result.run)


def on_export_onnx(ctx: SlackContext, where: Thread, user: str, action: dict[str, Any]) -> None:
    language = ctx.person_language(user)
    ctx.executor.submit_heavy("export", model_use.export_onnx, ctx, where, user, run_id_of(action), language)
