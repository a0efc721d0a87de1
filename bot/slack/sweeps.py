"""Sweeps in a Slack thread: the proposal with Start, the one live table (edited in place through the
run progress messages' throttled edits, bot/slack/edits.py: the same spacing and 429 handling), Stop,
Resume, the button that gives each trial its own run progress message (default: the table only), and
the result reply with the best trial's model and curves."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, MarkdownTextObject, SectionBlock

from bot.actions import Thread
from bot.actions.sweeps import (
    SweepProposed,
    SweepResult,
    SweepResumed,
    SweepSaid,
    SweepStarted,
    SweepStopped,
    SweepTrialsShown,
)
from bot.conversation.sweeps import objective_text
from bot.i18n import t
from bot.policy import Refusal
from bot.runs import RunView
from bot.slack import render
from bot.slack.context import SlackContext, actor
from bot.slack.files import upload_artifacts
from bot.slack.progress import upload_model
from bot.slack.replies import answer, post
from bot.storage import SweepStatus
from bot.sweeps import present
from bot.sweeps.views import SweepView

SWEEP_START, SWEEP_STOP, SWEEP_RESUME = "sweep_start", "sweep_stop", "sweep_resume"
SWEEP_SHOW_TRIALS, SWEEP_HIDE_TRIALS = "sweep_show_trials", "sweep_hide_trials"

# posts a run's progress message in a thread and keeps it current (bot/slack/threads.py)
AttachProgress = Callable[[SlackContext, Thread, RunView], None]


def _message(text: str, buttons: list[ButtonElement]) -> render.Rendered:
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=render.escape(text)[: render.SECTION_LIMIT]))
    ]
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return render.Rendered(text.splitlines()[0], blocks)


def proposal_message(result: SweepProposed) -> render.Rendered:
    start = ButtonElement(
        text=t(result.language, "sweep_button_start"),
        action_id=SWEEP_START,
        value=str(result.sweep.id),
        style="primary",
    )
    return _message(result.text, [start])


def table_message(sweep: SweepView, language: str) -> render.Rendered:
    """The table; a running sweep's with Stop and the trials' progress switch, a stopped one's with Resume."""
    value = str(sweep.id)
    buttons = []
    if sweep.status == SweepStatus.RUNNING:
        switch = (
            (SWEEP_HIDE_TRIALS, "sweep_button_hide_trials")
            if sweep.show_trials
            else (SWEEP_SHOW_TRIALS, "sweep_button_show_trials")
        )
        buttons = [
            ButtonElement(
                text=t(language, "sweep_button_stop"), action_id=SWEEP_STOP, value=value, style="danger"
            ),
            ButtonElement(text=t(language, switch[1]), action_id=switch[0], value=value),
        ]
    elif sweep.status == SweepStatus.STOPPED:
        buttons = [
            ButtonElement(
                text=t(language, "sweep_button_resume"), action_id=SWEEP_RESUME, value=value, style="primary"
            )
        ]
    return _message(present.table(language, sweep), buttons)


def reply(ctx: SlackContext, where: Thread, user_id: str, result: SweepResult) -> None:
    """What a sweep action answered, in the thread (a refusal only to the person)."""
    match result:
        case SweepProposed():
            post(ctx, where, **proposal_message(result).as_kwargs())
        case SweepStarted(sweep=sweep, language=language):
            # one table, also for a second Start (a double click, a typed "start sweep" meanwhile)
            controller = ctx.actions.sweeps.controller if ctx.actions.sweeps is not None else None
            if controller is not None and controller.view(sweep.id).slack_ts is None:
                ts = post(ctx, where, **table_message(sweep, language).as_kwargs())
                controller.set_table_message(sweep.id, ts)
                ctx.progress.edits.posted(table_key(sweep.id), where.channel, ts)
        case SweepStopped(sweep=sweep, language=language):
            stopped = render.slack_text(language, "sweep_stopped", id=sweep.id)
            post(ctx, where, f"{stopped}\n{render.slack_text(language, 'sweep_resume_hint')}")
        case SweepResumed(sweep=sweep, language=language):
            post(ctx, where, render.slack_text(language, "sweep_resumed", id=sweep.id))
        case SweepTrialsShown(sweep=sweep, language=language):
            key = "sweep_trials_shown" if sweep.show_trials else "sweep_trials_hidden"
            post(ctx, where, render.slack_text(language, key, id=sweep.id))
        case SweepSaid(text=text):
            post(ctx, where, render.escape(text))
        case Refusal():
            answer(ctx, where, user_id, ctx.person_language(user_id), result)


def on_start(ctx: SlackContext, where: Thread, user: str, action: dict[str, Any]) -> None:
    if ctx.actions.sweeps is None:
        return
    with ctx.actions.start_lock:
        result = ctx.actions.sweeps.start(actor(user, where), _id(action), ctx.thread_language(where))
        reply(ctx, where, user, result)


def on_stop(ctx: SlackContext, where: Thread, user: str, action: dict[str, Any]) -> None:
    if ctx.actions.sweeps is not None:
        language = ctx.thread_language(where)
        reply(ctx, where, user, ctx.actions.sweeps.stop(actor(user, where), _id(action), language))


def on_resume(ctx: SlackContext, where: Thread, user: str, action: dict[str, Any]) -> None:
    if ctx.actions.sweeps is None:
        return
    with ctx.actions.start_lock:
        language = ctx.thread_language(where)
        reply(ctx, where, user, ctx.actions.sweeps.resume(actor(user, where), _id(action), language))


def on_show_trials(ctx: SlackContext, where: Thread, user: str, action: dict[str, Any]) -> None:
    _switch_trials(ctx, where, user, action, shown=True)


def on_hide_trials(ctx: SlackContext, where: Thread, user: str, action: dict[str, Any]) -> None:
    _switch_trials(ctx, where, user, action, shown=False)


def _switch_trials(
    ctx: SlackContext, where: Thread, user: str, action: dict[str, Any], *, shown: bool
) -> None:
    if ctx.actions.sweeps is not None:
        language = ctx.thread_language(where)
        result = ctx.actions.sweeps.show_trials(actor(user, where), _id(action), shown, language)
        reply(ctx, where, user, result)


def _id(action: dict[str, Any]) -> int:
    value = str(action.get("value", ""))
    return int(value) if value.isdigit() else -1


def table_key(sweep_id: int) -> tuple[str, int]:
    """The table message's key among the throttled edits (runs' are ("run", id))."""
    return ("sweep", sweep_id)


class SweepTable:
    """Keeps each sweep's table message current: its changes go to the run progress messages' throttled
    edits (the newest state always shown); when the sweep ends (stops or finishes), one reply with the
    best trial and its model, again after a resume. While the sweep shows each trial's progress, every
    trial gets its ordinary run progress message in the thread (`attach`)."""

    def __init__(self, ctx: SlackContext, attach: AttachProgress) -> None:
        self._ctx = ctx
        self._attach = attach
        self._lock = threading.Lock()
        self._ended: set[int] = set()
        self._attached: set[int] = set()  # trial runs whose progress message is posted or on its way

    def on_change(self, sweep: SweepView) -> None:
        if sweep.slack_channel is None or sweep.slack_ts is None:
            return
        with self._lock:
            first_end = present.is_finished(sweep) and sweep.id not in self._ended
            if first_end:
                self._ended.add(sweep.id)
            elif sweep.status == SweepStatus.RUNNING:
                self._ended.discard(sweep.id)  # resumed: its next end is told again
            unposted = [
                trial.run
                for trial in sweep.trials
                if sweep.show_trials
                and trial.run is not None
                and not trial.run.status.is_terminal
                and trial.run.slack_ts is None
                and trial.run.id not in self._attached
            ]
            self._attached.update(run.id for run in unposted)
        self._ctx.progress.edits.show(
            table_key(sweep.id),
            partial(self._draw, sweep),
            then=partial(self._reply_result, sweep.id) if first_end else None,
            where=(sweep.slack_channel, sweep.slack_ts),
        )
        for run in unposted:
            self._ctx.executor.submit(self._attach_trial, sweep, run.id)

    def _draw(self, sweep: SweepView) -> render.Rendered:
        return table_message(sweep, self._language(sweep))

    def _language(self, sweep: SweepView) -> str:
        run = next((trial.run for trial in sweep.trials if trial.run is not None), None)
        return self._ctx.conversation.session_language(run.session_id if run is not None else None)

    def _attach_trial(self, sweep: SweepView, run_id: int) -> None:
        """The trial's own progress message, as for any run (the team is not needed to post)."""
        assert sweep.slack_channel is not None
        where = Thread("", sweep.slack_channel, sweep.slack_thread_ts or sweep.slack_ts or "")
        with self._ctx.actions.start_lock:
            self._attach(self._ctx, where, self._ctx.runs.get(run_id))

    def _reply_result(self, sweep_id: int) -> None:
        assert self._ctx.actions.sweeps is not None
        sweep = self._ctx.actions.sweeps.controller.view(sweep_id)
        if not present.is_finished(sweep):
            return  # resumed before its end was shown
        language = self._language(sweep)
        channel, thread_ts = sweep.slack_channel or "", sweep.slack_thread_ts or sweep.slack_ts or ""
        self._ctx.client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=render.escape(present.result(language, sweep))
        )
        best = sweep.best
        if best is not None and best.run is not None and sweep.status == SweepStatus.COMPLETED:
            upload_model(self._ctx.client, best.run, channel, thread_ts, language, with_curves=True)
        if sweep.chart is not None:
            title = t(
                language,
                "sweep_file_chart",
                id=sweep.id,
                objective=objective_text(language, sweep.objective),
            )
            upload_artifacts(
                self._ctx.client, channel, thread_ts, [(sweep.chart, title)], comment=render.escape(title)
            )


def listed(ctx: SlackContext, user: str, language: str) -> str:
    """The sweeps a person may see, for `/train list` and the App Home ("" when there are none)."""
    if ctx.actions.sweeps is None:
        return ""
    lines = present.list_lines(language, ctx.actions.sweeps.visible(user))
    return render.escape("\n".join(lines))
