"""`/train [request] | status | list | stop <id> | predict <id> | help` (also `상태`, `목록`, `중지 <번호>`,
`예측 <번호>`, `도움말`). A slash command carries no files: `/train predict <id>` opens a thread for that
run's model, where posted images are classified. Status and list show only runs the person may see.

The answer is in the language of the command: Korean for Hangul, else the user's latest conversation's.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.actions import Stopped, Thread
from bot.slack import render, sweeps
from bot.slack.context import SlackContext, actor
from bot.slack.model_use import open_predict_thread, said_text
from bot.slack.replies import in_thread_order
from bot.slack.threads import converse

WORDS = {
    "help": "help",
    "도움말": "help",
    "status": "status",
    "상태": "status",
    "list": "list",
    "목록": "list",
    "stop": "stop",
    "중지": "stop",
    "predict": "predict",
    "예측": "predict",
}


def register(app: App, ctx: SlackContext) -> None:
    @app.command("/train")
    def train_command(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        ctx.executor.submit(handle_train, ctx, command, respond)


def handle_train(ctx: SlackContext, command: dict[str, Any], respond: Respond) -> None:
    text = (command.get("text") or "").strip()
    word, _, rest = text.partition(" ")
    user, channel = command["user_id"], command["channel_id"]
    who = actor(user, channel=channel)
    language = ctx.person_language(user, text)
    match WORDS.get(word.lower()):
        case "help":
            respond(render.slack_text(language, "slack_help"))
        case "status":
            respond(render.run_list(language, "status_title", ctx.actions.status(who), "status_empty"))
        case "list":
            runs = render.run_list(language, "list_title", ctx.actions.recent(who), "list_empty")
            respond("\n\n".join(part for part in (runs, sweeps.listed(ctx, user, language)) if part))
        case "stop":
            respond(stop_by_id(ctx, rest.strip().lstrip("#"), user, channel, language))
        case "predict":
            refusal = open_predict_thread(
                ctx, command.get("team_id", ""), channel, user, rest.strip().lstrip("#"), language
            )
            if refusal is not None:
                respond(refusal)
        case _:
            open_thread(ctx, command.get("team_id", ""), channel, user, text, language)


def stop_by_id(ctx: SlackContext, run_id: str, user: str, channel: str, language: str) -> str:
    if not run_id.isdigit():
        return render.slack_text(language, "stop_usage")
    result = ctx.actions.stop(actor(user, channel=channel), int(run_id))
    if isinstance(result, Stopped):
        return render.slack_text(language, "stopping", id=result.run.id)
    return said_text(language, result)


def open_thread(ctx: SlackContext, team_id: str, channel: str, user: str, text: str, language: str) -> None:
    """Slash commands cannot be used in threads: post a new top-level message and talk in its thread.
    Someone who may not talk to the bot here is told why, privately, and no thread is opened."""
    refusal = ctx.actions.policy.may_start(actor(user, channel=channel))
    if refusal is not None:
        ctx.client.chat_postEphemeral(channel=channel, user=user, text=said_text(language, refusal))
        return
    started = render.slack_text(language, "setup_started", user=render.mention(user))
    root = ctx.client.chat_postMessage(channel=channel, text=started)
    where = Thread(team_id, channel, root["ts"])
    in_thread_order(ctx, where, converse, user, text)
