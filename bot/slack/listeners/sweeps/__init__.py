"""Sweep buttons (Start on the proposal, Stop on the table) and the live table of every sweep."""

from __future__ import annotations

from slack_bolt import App

from bot.slack import sweeps
from bot.slack.context import SlackContext
from bot.slack.listeners.actions import acking


def register(app: App, ctx: SlackContext) -> None:
    if ctx.actions.sweeps is None:
        return
    table = sweeps.SweepTable(ctx)
    ctx.actions.sweeps.controller.subscribe(table.on_change)
    app.action(sweeps.SWEEP_START)(acking(ctx, sweeps.on_start))
    app.action(sweeps.SWEEP_STOP)(acking(ctx, sweeps.on_stop))
