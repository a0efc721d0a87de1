"""The live progress message: RunManager updates -> coalesced chat.update edits, then the ending reply.

Updates arrive on the run manager's threads and only record the newest snapshot per run; one publisher
thread edits each message at most once per `min_interval` seconds (so an epoch event is shown within
that interval unless Slack rate-limits, which slack_sdk's RateLimitErrorRetryHandler honours), and a
terminal state is always shown. Step-progress ticks alone wait `tick_interval` (longer): they keep the
bar moving without using up chat.update's budget (Tier 3, ~50/min) or delaying the next epoch's edit.
After the final edit the thread gets one reply: results and the model file on success; the reason and
a Resume button on failure or stop.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.i18n import DEFAULT_LANGUAGE, t
from bot.runs import RunManager, RunUpdate, RunView
from bot.slack import render
from bot.slack.executor import WorkExecutor
from bot.slack.files import upload_artifacts
from bot.storage import RunStatus
from training.events import DoneEvent, ProgressEvent

log = logging.getLogger(__name__)

# a little under 1 s: about one edit a second, and an epoch is shown within 1 s of its event
EDIT_INTERVAL_S = 0.9


@dataclass
class _Message:
    channel: str
    ts: str
    thread_ts: str | None = None
    latest: RunView | None = None
    done: DoneEvent | None = None
    dirty: bool = False
    urgent: bool = False  # an epoch, status or final change is waiting (not just a step tick)
    last_edit: float = -math.inf
    ended: bool = False


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
        self._executor = executor
        self._min_interval = min_interval
        self._tick_interval = max(tick_interval, min_interval)
        self._messages: dict[int, _Message] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._unsubscribe: Any = None
        self._thread = threading.Thread(target=self._loop, name="slack-progress", daemon=True)

    def start(self, runs: RunManager) -> None:
        self._unsubscribe = runs.subscribe(self.on_update)
        self._thread.start()

    def close(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def track(self, posted: RunView, channel: str, ts: str) -> None:
        """The run's progress message (channel, ts) was just posted showing `posted`: edit it from now on."""
        with self._cond:
            message = self._messages.setdefault(posted.id, _Message(channel, ts))
            message.channel, message.ts = channel, ts
            message.thread_ts = message.thread_ts or posted.slack_thread_ts
            message.latest = message.latest or posted
            message.last_edit = time.monotonic()
            self._cond.notify_all()

    def on_update(self, update: RunUpdate) -> None:
        run = update.run
        with self._cond:
            message = self._messages.get(run.id)
            if message is None:
                if not (run.slack_channel and run.slack_ts):
                    return  # not a Slack run (console), or its message is not posted yet: track() comes
                message = self._messages[run.id] = _Message(
                    run.slack_channel, run.slack_ts, run.slack_thread_ts
                )
            if message.latest and message.latest.status.is_terminal and not run.status.is_terminal:
                return  # an older snapshot arriving late; the final state stays
            message.latest = run
            message.dirty = True
            message.urgent |= not isinstance(update.event, ProgressEvent)
            if isinstance(update.event, DoneEvent):
                message.done = update.event
            self._cond.notify_all()

    # ---- publisher thread ------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                due = self._wait_for_due()
                if due is None:
                    return
                message, view = due
                message.dirty = message.urgent = False
            self._edit(message, view)
            with self._cond:
                message.last_edit = time.monotonic()  # after the call: a 429 wait also spaces the edits
            if view.status.is_terminal:
                with self._cond:
                    first_end = not message.ended
                    message.ended = True
                if first_end:
                    self._executor.submit(self._reply_ending, message, view)

    def _wait_for_due(self) -> tuple[_Message, RunView] | None:
        while not self._closed:
            now = time.monotonic()
            next_due = math.inf
            for message in self._messages.values():
                if not (message.dirty and message.ts and message.latest):
                    continue
                due_at = message.last_edit + (self._min_interval if message.urgent else self._tick_interval)
                if due_at <= now:
                    return message, message.latest
                next_due = min(next_due, due_at)
            self._cond.wait(None if next_due == math.inf else next_due - now)
        return None

    def _edit(self, message: _Message, view: RunView) -> None:
        rendered = render.progress_message(view, self._language_of(view))
        try:
            self._client.chat_update(channel=message.channel, ts=message.ts, **rendered.as_kwargs())
        except SlackApiError as exc:
            log.warning(
                "could not edit the progress message of run %s: %s", view.id, exc.response.get("error")
            )
        except Exception:
            # e.g. the connection is down after slack_sdk's retries: this thread edits every run's message
            log.exception("could not edit the progress message of run %s", view.id)

    def _reply_ending(self, message: _Message, view: RunView) -> None:
        channel, thread_ts = message.channel, message.thread_ts or view.slack_thread_ts or message.ts
        language = self._language_of(view)
        if view.status == RunStatus.COMPLETED:
            results = render.completion_message(view, language, message.done)
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
