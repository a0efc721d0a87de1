"""Bolt listeners, one package per Slack surface; each package's `register(app, ctx)` adds its handlers."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.context import SlackContext
from bot.slack.listeners import actions, commands, events, home, messages, sweeps


def register_all(app: App, ctx: SlackContext) -> None:
    # Bolt runs only the first matching listener: specific ones first, the message catch-all (events) last.
    for surface in (commands, actions, sweeps, home, messages, events):
        surface.register(app, ctx)
