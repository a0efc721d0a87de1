"""The App Home tab: opening it shows the user's runs and the queue."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack.context import SlackContext
from bot.slack.home import publish_home


def register(app: App, ctx: SlackContext) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            ctx.executor.submit(publish_home, ctx, event["user"])
