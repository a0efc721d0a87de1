"""Buttons: Start / Cancel on the setup summary; Stop / Download / Resume on the progress message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.runs import RunError
from bot.slack import render
from bot.slack.context import SlackContext, ThreadRef
from bot.slack.progress import upload_model
from bot.slack.threads import attach_progress_message, post, refuse, start_run
from bot.storage import RunStatus, SessionState
from training.config import TrainingConfig


def register(app: App, ctx: SlackContext) -> None:
    handlers: dict[str, Callable[[SlackContext, ThreadRef, str, dict[str, Any]], None]] = {
        render.START: on_start,
        render.CANCEL: on_cancel,
        render.STOP: on_stop,
        render.DOWNLOAD: on_download,
        render.RESUME: on_resume,
    }
    for action_id, handler in handlers.items():
        app.action(action_id)(_acking(ctx, handler))


def _acking(
    ctx: SlackContext, handler: Callable[[SlackContext, ThreadRef, str, dict[str, Any]], None]
) -> Callable:
    def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        container = body.get("container") or {}
        channel = container.get("channel_id") or body["channel"]["id"]
        thread_ts = container.get("thread_ts") or container.get("message_ts", "")
        where = ThreadRef(body.get("team", {}).get("id", ""), channel, thread_ts)
        ctx.executor.submit(
            handler, ctx, where, body["user"]["id"], {**action, "message_ts": container.get("message_ts")}
        )

    listener.__name__ = f"on_{handler.__name__}"
    return listener


def on_start(ctx: SlackContext, where: ThreadRef, user: str, action: dict[str, Any]) -> None:
    value = render.StartValue.decode(action["value"])
    session = ctx.conversation.get_session(where.team_id, where.channel, where.thread_ts)
    if session is None or session.id != value.session_id:
        refuse(ctx, where, user, "This setup is no longer available.")
        return
    if session.summary_ts not in (None, action["message_ts"]):  # a replaced summary, also after a start
        refuse(ctx, where, user, "The setup changed since this summary; use Start on the newest summary.")
        return
    if session.state == SessionState.CANCELLED:
        refuse(ctx, where, user, "This setup was cancelled; reply in the thread to set it up again.")
        return
    config = TrainingConfig.model_validate(value.config)
    start_run(ctx, where, user, config, value.config_key, value.session_id)


def on_cancel(ctx: SlackContext, where: ThreadRef, user: str, action: dict[str, Any]) -> None:
    session = ctx.conversation.get_session(where.team_id, where.channel, where.thread_ts)
    if session is None or session.state != SessionState.CONFIRMING:
        return
    if user != session.user_id and user not in ctx.settings.admin_user_ids:
        refuse(ctx, where, user, f"Only <@{session.user_id}> or an admin can cancel this setup.")
        return
    ctx.conversation.mark_cancelled(session.id)
    post(ctx, where, f"Setup cancelled by <@{user}>. Reply in this thread to start over.")


def _managed_run(ctx: SlackContext, where: ThreadRef, user: str, action: dict[str, Any]) -> Any:
    """The button's run, if the user may manage it (owner or admin); else an ephemeral refusal."""
    try:
        run = ctx.runs.get(int(action["value"]))
    except RunError as error:
        refuse(ctx, where, user, error.message)
        return None
    if not ctx.runs.can_manage(run, user):
        refuse(
            ctx,
            where,
            user,
            f"Only <@{run.requested_by}> (who started run #{run.id}) or an admin can do that.",
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
        refuse(ctx, where, user, error.message)


def on_download(ctx: SlackContext, where: ThreadRef, user: str, action: dict[str, Any]) -> None:
    run = _managed_run(ctx, where, user, action)
    if run is not None and not upload_model(
        ctx.client, run, where.channel, where.thread_ts, with_curves=False
    ):
        refuse(ctx, where, user, f"Run #{run.id} has no model file to download.")


def on_resume(ctx: SlackContext, where: ThreadRef, user: str, action: dict[str, Any]) -> None:
    run = _managed_run(ctx, where, user, action)
    if run is None:
        return
    try:
        resumed = ctx.runs.resume(run.id, user)
    except RunError as error:
        refuse(ctx, where, user, error.message)
        return
    with ctx.start_lock:
        attach_progress_message(ctx, where, resumed)
