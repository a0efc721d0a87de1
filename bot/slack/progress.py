"""The live progress message: RunManager updates -> coalesced chat.update edits, then the ending reply.

Updates arrive on the run manager's threads and only record the newest snapshot per run; the edits go
through ThrottledEdits (bot/slack/edits.py, shared with the sweep tables): each message is edited at most
once per `min_interval` seconds (so an epoch event is shown within that interval unless Slack
rate-limits, which slack_sdk's RateLimitErrorRetryHandler honours), and a terminal state is always
shown. Step-progress ticks alone wait `tick_interval` (longer): they keep the bar moving without using
up chat.update's budget (Tier 3, ~50/min) or delaying the next epoch's edit. After the final edit the
thread gets one reply: results and the model file on success; the reason and a Resume button on failure
or stop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_sdk import WebClient

from bot.i18n import DEFAULT_LANGUAGE, t
from bot.runs import RunManager, RunUpdate, RunView
from bot.slack import render
from bot.slack.edits import ThrottledEdits
from bot.slack.executor import WorkExecutor
from bot.slack.files import upload_artifacts
from bot.storage import RunStatus
from training.events import DoneEvent, ProgressEvent

# a little under 1 s: about one edit a second, and an epoch is shown within 1 s of its event
EDIT_INTERVAL_S = 0.9


@dataclass
class _Run:
    channel: str
    ts: str
    thread_ts: str | None = None
    latest: RunView | None = None
    done: DoneEvent | None = None
    ended: bool = False  # its ending reply is on its way


class ProgressPublisher:
    def __init__(
        self,
        client: WebClient,
        executor: WorkExecutor,
        *,
        min_interval: float = EDIT_INTERVAL_S,
        tick_interval: float = 3.0,
        language_of: Callable[[RunView], str] = lambda _run: DEFAULT_LANGUAGE,
    ) -> None:
        self._client = client
        self._language_of = language_of  # the run's conversation language, looked up at each message
        # every live message's edits, the sweep tables' too (bot/slack/sweeps.py)
        self.edits = ThrottledEdits(client, executor, min_interval=min_interval, tick_interval=tick_interval)
        self._runs: dict[int, _Run] = {}
        self._lock = threading.Lock()
        self._unsubscribe: Any = None

    def start(self, runs: RunManager) -> None:
        self._unsubscribe = runs.subscribe(self.on_update)
        self.edits.start()

    def close(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        self.edits.close()

    def track(self, posted: RunView, channel: str, ts: str) -> None:
        """The run's progress message (channel, ts) was just posted showing `posted`: edit it from now on."""
        with self._lock:
            message = self._runs.setdefault(posted.id, _Run(channel, ts))
            message.channel, message.ts = channel, ts
            message.thread_ts = message.thread_ts or posted.slack_thread_ts
            message.latest = message.latest or posted
            self.edits.posted(("run", posted.id), channel, ts)

    def on_update(self, update: RunUpdate) -> None:
        run = update.run
        with self._lock:
            message = self._runs.get(run.id)
            if message is None:
                if not (run.slack_channel and run.slack_ts):
                    return  # not a Slack run (console), or its message is not posted yet: track() comes
                message = self._runs[run.id] = _Run(run.slack_channel, run.slack_ts, run.slack_thread_ts)
            if message.latest and message.latest.status.is_terminal and not run.status.is_terminal:
                return  # an older snapshot arriving late; the final state stays
            message.latest = run
            if isinstance(update.event, DoneEvent):
                message.done = update.event
            first_end = run.status.is_terminal and not message.ended
            message.ended |= run.status.is_terminal
            self.edits.show(
                ("run", run.id),
                partial(self._draw, run),
                urgent=not isinstance(update.event, ProgressEvent),
                then=partial(self._reply_ending, message) if first_end else None,
                where=(message.channel, message.ts),
            )

    def _draw(self, run: RunView) -> render.Rendered:
        return render.progress_message(run, self._language_of(run))

    def _reply_ending(self, message: _Run) -> None:
        with self._lock:
            view, done = message.latest, message.done
        assert view is not None
        channel, thread_ts = message.channel, message.thread_ts or view.slack_thread_ts or message.ts
        language = self._language_of(view)
        if view.status == RunStatus.COMPLETED:
            results = render.completion_message(view, language, done)
            self._client.chat_postMessage(channel=channel, thread_ts=thread_ts, **results.as_kwargs())
            upload_model(self._client, view, channel, thread_ts, language, with_curves=True)
        else:
            ending = render.ending_message(view, language)
            self._client.chat_postMessage(channel=channel, thread_ts=thread_ts, **ending.as_kwargs())


def upload_model(
    client: WebClient, view: RunView, channel: str, thread_ts: str, language: str, *, with_curves: bool
) -> bool:
    artifacts = view.figures.artifacts
    model = view.model
    files = (
        [(artifacts["model"], t(language, "file_model", id=view.id, model=model))]
        if "model" in artifacts
        else []
    )
    if with_curves and "curves" in artifacts:
        files.append((artifacts["curves"], t(language, "file_curves", id=view.id)))
    if with_curves and "val_predictions" in artifacts:  # a detector's validation images with boxes
        files.append((artifacts["val_predictions"], t(language, "file_val_predictions", id=view.id)))
    if not files:
        return False
    upload_artifacts(
        client, channel, thread_ts, files, comment=render.slack_text(language, "files_comment", id=view.id)
    )
    return True
