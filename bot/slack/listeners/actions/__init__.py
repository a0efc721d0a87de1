"""Buttons: Start / Cancel on the setup summary; Stop / Download / Resume on the progress message and in
the App Home; Export ONNX on the results reply. Stop and Cancel ask for confirmation in Slack itself
(Block Kit `confirm`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.present import runs as present
from bot.runs import RunError, RunView
from bot.slack import model_use, render
from bot.slack.context import SlackContext, ThreadRef
from bot.slack.home import publish_home
from bot.slack.progress import upload_model
from bot.slack.threads import attach_progress_message, in_thread_order, post, refuse, start_run
from bot.storage import RunStatus, SessionState

Handler = Callable[[SlackContext, ThreadRef, str, dict[str, Any]], None]


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
        app.action(action_id)(_acking(ctx, handler))


def _acking(ctx: SlackContext, handler: Handler) -> Callable[..., None]:
    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        container = body.get("container") or {}
        user = body["user"]["id"]
        details = {**action, "message_ts": container.get("message_ts")}
        if container.get("type") == "view":  # a button in the App Home: act on the run's own thread
            ctx.executor.submit(_from_home, ctx, handler, body.get("team", {}).get("id", ""), user, details)
            return
        channel = container.get("channel_id") or body["channel"]["id"]
        thread_ts = container.get("thread_ts") or container.get("message_ts", "")
        where = ThreadRef(body.get("team", {}).get("id", ""), channel, thread_ts)
        in_thread_order(ctx, where, handler, user, details, sent_at=action.get("action_ts"))

    listener.__name__ = f"on_{handler.__name__}"
    return listener


def _from_home(ctx: SlackContext, handler: Handler, team_id: str, user: str, action: dict[str, Any]) -> None:
    try:
        run = ctx.runs.get(int(action["value"]))
    except (RunError, ValueError):
        publish_home(ctx, user)
        return
    if run.slack_channel and run.slack_thread_ts:
        handler(ctx, ThreadRef(team_id, run.slack_channel, run.slack_thread_ts), user, action)
    publish_home(ctx, user)  # show the run's new state


def on_start(ctx: SlackContext, where: ThreadRef, user: str, action: dict[str, Any]) -> None:
    value = render.StartValue.decode(action["value"])
    session = ctx.conversation.get_session(where.team_id, where.channel, where.thread_ts)
    if session is None or session.id != value.session_id:
        refuse(ctx, where, user, render.slack_text(ctx.thread_language(where), "setup_gone"))
        return
    if session.summary_ts not in (None, action["message_ts"]):  # a replaced summary, also after a start
        refuse(ctx, where, user, render.slack_text(session.language, "setup_replaced"))
        return
    if session.state == SessionState.CANCELLED:
        refuse(ctx, where, user, render.slack_text(session.language, "setup_was_cancelled"))
        return
    order = ctx.conversation.start_order(session)
    if order is None:
        refuse(ctx, where, user, render.slack_text(session.language, "error_dataset_gone"))
    elif order.config_key != value.config_key:  # the settings changed since this summary
        refuse(ctx, where, user, render.slack_text(session.language, "setup_replaced"))
    else:
        start_run(ctx, where, user, session, order)


def on_cancel(ctx: SlackContext, where: ThreadRef, user: str, action: dict[str, Any]) -> None:
    session = ctx.conversation.get_session(where.team_id, where.channel, where.thread_ts)
    if session is None or session.state != SessionState.CONFIRMING:
        return
    if user != session.user_id and user not in ctx.settings.admin_user_ids:
        text = render.slack_text(session.language, "cancel_only_owner", owner=render.mention(session.user_id))
        refuse(ctx, where, user, text)
        return
    ctx.conversation.mark_cancelled(session.id)
    post(ctx, where, render.slack_text(session.language, "setup_cancelled", user=render.mention(user)))


def _managed_run(ctx: SlackContext, where: ThreadRef, user: str, action: dict[str, Any]) -> RunView | None:
    """The button's run, if the user may manage it (owner or admin); else an ephemeral refusal."""
    try:
        run = ctx.runs.get(int(action["value"]))
    except RunError as error:
        refuse(ctx, where, user, render.escape(present.run_error(ctx.thread_language(where), error)))
        return None
    if not ctx.runs.can_manage(run, user):
        owner = render.mention(run.requested_by or "")
        refuse(
            ctx,
            where,
            user,
            render.slack_text(ctx.run_language(run), "manage_only_owner", owner=owner, id=run.id),
        )
        return None
    return run


def on_stop(ctx: SlackContext, where: ThreadRef, user: str, action: dict[str, Any]) -> None:
    run = _managed_run(ctx, where, user, action)
    if run is None:
        return
    try:
        if run.status == RunStatus.PENDING:
            ctx.runs.cancel_scheduled(run.id, user)
        else:
            ctx.runs.stop(run.id, user)
    except RunError as error:
        refuse(ctx, where, user, render.escape(present.run_error(ctx.run_language(run), error)))


def on_download(ctx: SlackContext, where: ThreadRef, user: str, action: dict[str, Any]) -> None:
    run = _managed_run(ctx, where, user, action)
    if run is None:
        return
    language = ctx.run_language(run)
    if not upload_model(ctx.client, run, where.channel, where.thread_ts, language, with_curves=False):
        refuse(ctx, where, user, render.slack_text(language, "no_model_file", id=run.id))


def on_resume(ctx: SlackContext, where: ThreadRef, user: str, action: dict[str, Any]) -> None:
    run = _managed_run(ctx, where, user, action)
    if run is None:
        return
    try:
        resumed = ctx.runs.resume(run.id, user)
    except RunError as error:
        refuse(ctx, where, user, render.escape(present.run_error(ctx.run_language(run), error)))
        return
    with ctx.start_lock:
        attach_progress_message(ctx, where, resumed)


def on_export_onnx(ctx: SlackContext, where: ThreadRef, user: str, action: dict[str, Any]) -> None:
    try:
        run = ctx.runs.get(int(action["value"]))
    except RunError as error:
        refuse(ctx, where, user, render.escape(present.run_error(ctx.thread_language(where), error)))
        return
    model_use.export_onnx(ctx, where, user, run)
