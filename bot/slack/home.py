"""The App Home tab: published for a user when they open it (app_home_opened) and after a button there.
It lists the person's own runs and, of the queue, only the runs they may see (bot/policy.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock

from bot.policy import Actor
from bot.present.runs import clock
from bot.slack import render, sweeps
from bot.slack.context import SlackContext

log = logging.getLogger(__name__)

OWN_RUNS_SHOWN = 15


def publish_home(ctx: SlackContext, user_id: str) -> None:
    """views.publish the user's runs (running, queued, recent, with results and buttons) and the queue."""
    language = ctx.conversation.user_language(user_id)
    who = Actor(user_id)
    own = ctx.actions.own_recent(who, OWN_RUNS_SHOWN)
    view = render.home_view(language, own, ctx.actions.status(who), clock(datetime.now(UTC)))
    swept = sweeps.listed(ctx, user_id, language)
    if swept:  # before the "updated at" line, within Slack's block limit
        section = SectionBlock(
            block_id="home_sweeps", text=MarkdownTextObject(text=swept[: render.SECTION_LIMIT])
        )
        view["blocks"][-1:-1] = [section.to_dict()]
        view["blocks"] = view["blocks"][-render.HOME_BLOCK_LIMIT :]
    try:
        ctx.client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        log.warning("could not publish the App Home of %s: %s", user_id, exc.response.get("error"))
