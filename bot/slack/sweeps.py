"""Sweeps in a Slack thread: the proposal with Start, the one live table (edited in place, throttled like
the run progress messages; slack_sdk's retry handler waits out a 429), Stop, and the result reply with
the best trial's model and curves. Trials post no progress messages of their own."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, MarkdownTextObject, SectionBlock

from bot.actions import Thread
from bot.actions.sweeps import SweepProposed, SweepResult, SweepSaid, SweepStarted, SweepStopped
from bot.i18n import t
from bot.policy import Refusal
from bot.slack import render
from bot.slack.context import SlackContext, actor
from bot.slack.files import upload_artifacts
from bot.slack.progress import EDIT_INTERVAL_S, upload_model
from bot.slack.replies import answer, post
from bot.storage import SweepStatus
from bot.sweeps import present
from bot.sweeps.views import SweepView

log = logging.getLogger(__name__)

SWEEP_START, SWEEP_STOP = "sweep_start", "sweep_stop"


def _message(text: str, button: ButtonElement | None) -> render.Rendered:
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=render.escape(text)[: render.SECTION_LIMIT]))
    ]
    if button is not None:
        blocks.append(ActionsBlock(elements=[button]))
    return render.Rendered(text.splitlines()[0], blocks)


def proposal_message(result: SweepProposed) -> render.Rendered:
    start = ButtonElement(
        text=t(result.language, "sweep_button_start"),
        action_id=SWEEP_START,
        value=str(result.sweep.id),
        style="primary",
    )
    return _message(result.text, start)


def table_message(sweep: SweepView, language: str) -> render.Rendered:
    stop = None
    if sweep.status == SweepStatus.RUNNING:
        stop = ButtonElement(
            text=t(language, "sweep_button_stop"), action_id=SWEEP_STOP, value=str(sweep.id), style="danger"
        )
    return _message(present.table(language, sweep), stop)


def reply(ctx: SlackContext, where: Thread, user_id: str, result: SweepResult) -> None:
    """What a sweep action answered, in the thread (a refusal only to the person)."""
    match result:
        case SweepProposed():
            post(ctx, where, **proposal_message(result).as_kwargs())
        case SweepStarted(sweep=sweep, language=language):
            if sweep.slack_ts is None and ctx.actions.sweeps is not None:
                ts = post(ctx, where, **table_message(sweep, language).as_kwargs())
                ctx.actions.sweeps.controller.set_table_message(sweep.id, ts)
        case SweepStopped(sweep=sweep, language=language):
            post(ctx, where, render.slack_text(language, "sweep_stopped", id=sweep.id))
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
        reply(
            ctx,
            where,
            user,
            ctx.actions.sweeps.stop(actor(user, where), _id(action), ctx.thread_language(where)),
        )


def _id(action: dict[str, Any]) -> int:
    value = str(action.get("value", ""))
    return int(value) if value.isdigit() else -1


class SweepTable:
    """Keeps each sweep's table message current: at most one edit per `min_interval` per sweep, the last
    state always shown; when the sweep ends, one reply with the best trial and its model."""

    def __init__(self, ctx: SlackContext, min_interval: float = EDIT_INTERVAL_S) -> None:
        self._ctx = ctx
        self._min_interval = min_interval
        self._latest: dict[int, SweepView] = {}
        self._last_edit: dict[int, float] = {}
        self._ended: set[int] = set()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="slack-sweeps", daemon=True)
        self._thread.start()

    def on_change(self, sweep: SweepView) -> None:
        if sweep.slack_channel is None or sweep.slack_ts is None:
            return
        with self._cond:
            self._latest[sweep.id] = sweep
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                sweep = self._next_due()
            self._edit(sweep)

    def _next_due(self) -> SweepView:
        while True:
            now = time.monotonic()
            wait = math.inf
            for sweep_id, sweep in self._latest.items():
                due = self._last_edit.get(sweep_id, -math.inf) + self._min_interval
                if due <= now:
                    del self._latest[sweep_id]
                    self._last_edit[sweep_id] = now
                    return sweep
                wait = min(wait, due - now)
            self._cond.wait(None if wait == math.inf else wait)

    def _edit(self, sweep: SweepView) -> None:
        assert sweep.slack_channel is not None and sweep.slack_ts is not None
        language = self._ctx.conversation.session_language(self._session_of(sweep))
        try:
            self._ctx.client.chat_update(
                channel=sweep.slack_channel, ts=sweep.slack_ts, **table_message(sweep, language).as_kwargs()
            )
            if sweep.status in (SweepStatus.COMPLETED, SweepStatus.STOPPED) and sweep.id not in self._ended:
                self._ended.add(sweep.id)
                self._reply_result(sweep, language)
        except Exception:
            log.exception("could not show sweep %s in Slack", sweep.id)

    def _session_of(self, sweep: SweepView) -> int | None:
        best = next((trial.run for trial in sweep.trials if trial.run is not None), None)
        return best.session_id if best is not None else None

    def _reply_result(self, sweep: SweepView, language: str) -> None:
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
                objective=present.objective_text(language, sweep.objective),
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
