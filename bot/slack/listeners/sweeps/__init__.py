"""Sweep buttons (Start on the proposal; Stop, Resume and the trials' progress switch on the table) and
the live table of every sweep."""

from __future__ import annotations

from slack_bolt import App

from bot.slack import sweeps, threads
from bot.slack.context import SlackContext
from bot.slack.listeners.actions import acking


def register(app: App, ctx: SlackContext) -> None:
    if ctx.actions.sweeps is None:
        return
    table = sweeps.SweepTable(ctx, threads.attach_progress_message)
    ctx.actions.sweeps.controller.subscribe(table.on_change)
    app.action(sweeps.SWEEP_START)(acking(ctx, sweeps.on_start))
    app.action(sweeps.SWEEP_STOP)(acking(ctx, sweeps.on_stop))
    app.action(sweeps.SWEEP_RESUME)(acking(ctx, sweeps.on_resume))
    app.action(sweeps.SWEEP_SHOW_TRIALS)(acking(ctx, sweeps.on_show_trials))
    app.action(sweeps.SWEEP_HIDE_TRIALS)(acking(ctx, sweeps.on_hide_trials))
