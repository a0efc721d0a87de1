"""The App Home tab: published for a user when they open it (app_home_opened) and after a button there."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError

from bot.present.runs import clock
from bot.slack import render
from bot.slack.context import SlackContext

log = logging.getLogger(__name__)

OWN_RUNS_SHOWN = 15
RECENT_RUNS_SEARCHED = 200


def publish_home(ctx: SlackContext, user_id: str) -> None:
    """views.publish the user's runs (running, queued, recent, with results and buttons) and the queue."""
    language = ctx.conversation.user_language(user_id)
    own = [run for run in ctx.runs.recent_runs(limit=RECENT_RUNS_SEARCHED) if run.requested_by == user_id]
    view = render.home_view(language, own[:OWN_RUNS_SHOWN], ctx.runs.active_runs(), clock(datetime.now(UTC)))
    try:
        ctx.client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        log.warning("could not publish the App Home of %s: %s", user_id, exc.response.get("error"))
