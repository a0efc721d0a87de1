"""`/train [request] | status | list | stop <id> | help`."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.runs import RunError
from bot.slack import render
from bot.slack.context import SlackContext, ThreadRef
from bot.slack.threads import converse

HELP = """*Train Bot* — train an image classifier by chatting in a thread.
• `/train [request]` starts a setup thread, e.g. `/train resnet18 on cats for 5 epochs`
  or `/train 고양이 분류 모델 만들어줘`
• @mention the bot or DM it to start a thread there; reply in the thread to answer its questions
• attach a .zip of class folders (`cat/1.jpg`, `dog/1.jpg`) in the thread to upload a dataset
• `/train status` — running and queued runs · `/train list` — recent runs with results
• `/train stop <id>` — stop a run (its owner or an admin) · `/train help` — this text"""


def register(app: App, ctx: SlackContext) -> None:
    @app.command("/train")
    def train_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        ctx.executor.submit(handle_train, ctx, command, respond)


def handle_train(ctx: SlackContext, command: dict[str, Any], respond: Respond) -> None:
    text = (command.get("text") or "").strip()
    word, _, rest = text.partition(" ")
    user, channel = command["user_id"], command["channel_id"]
    match word.lower():
        case "help":
            respond(HELP)
        case "status":
            respond(
                render.run_list(
                    "Running and queued runs", ctx.runs.active_runs(), "No runs are running or queued."
                )
            )
        case "list":
            respond(render.run_list("Recent runs", ctx.runs.recent_runs(limit=10), "No runs yet."))
        case "stop":
            respond(stop_by_id(ctx, rest.strip().lstrip("#"), user))
        case _:
            open_thread(ctx, command.get("team_id", ""), channel, user, text)


def stop_by_id(ctx: SlackContext, run_id: str, user: str) -> str:
    if not run_id.isdigit():
        return "Usage: `/train stop <run id>` (see `/train status`)."
    try:
        run = ctx.runs.stop(int(run_id), user)
    except RunError as error:
        return error.message
    return f"Stopping run #{run.id}…"


def open_thread(ctx: SlackContext, team_id: str, channel: str, user: str, text: str) -> None:
    """Slash commands cannot be used in threads: post a new top-level message and talk in its thread."""
    root = ctx.client.chat_postMessage(channel=channel, text=f"Training setup started by <@{user}>")
    converse(ctx, ThreadRef(team_id, channel, root["ts"]), user, text)
