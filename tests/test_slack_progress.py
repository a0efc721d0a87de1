"""The progress publisher: coalesced edits, the final state always shown, one ending reply per run."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.runs import RunUpdate
from bot.slack.executor import WorkExecutor
from bot.slack.progress import ProgressPublisher
from bot.storage import RunStatus
from tests.run_views import view
from tests.waiting import wait_until
from training.events import DoneEvent, EpochEvent, ProgressEvent


class RecordingClient:
    """Stands in for slack_sdk.WebClient: records the calls the publisher makes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], float]] = []
        self.lock = threading.Lock()

    def _record(self, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.calls.append((method, kwargs, time.monotonic()))
        return {"ok": True, "ts": "9.9"}

    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        return self._record("chat_update", kwargs)

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        return self._record("chat_postMessage", kwargs)

    def files_upload_v2(self, **kwargs: Any) -> dict[str, Any]:
        return self._record("files_upload_v2", kwargs)

    def named(self, method: str) -> list[tuple[dict[str, Any], float]]:
        with self.lock:
            return [(kwargs, at) for name, kwargs, at in self.calls if name == method]


def settled(publisher: ProgressPublisher, client: RecordingClient) -> None:
    """Wait until the publisher has worked through what it was given: a marker run's update, fed last,
    has been edited into its message."""
    marker = view(id=999, slack_channel="CMARK", slack_ts="9.9")
    publisher.track(marker, "CMARK", "9.9")
    publisher.on_update(RunUpdate(dataclasses.replace(marker, current_epoch=5), epoch_event(5)))
    wait_until(lambda: any(kwargs["channel"] == "CMARK" for kwargs, _at in client.named("chat_update")))


def unmarked(client: RecordingClient, method: str) -> list[tuple[dict[str, Any], float]]:
    return [(kwargs, at) for kwargs, at in client.named(method) if kwargs.get("channel") != "CMARK"]


@pytest.fixture
def publisher() -> Iterator[tuple[ProgressPublisher, RecordingClient]]:
    client = RecordingClient()
    executor = WorkExecutor(max_workers=2)
    publisher = ProgressPublisher(client, executor, min_interval=0.2, tick_interval=0.6)  # type: ignore[arg-type]
    publisher.edits.start()  # no RunManager here: updates are fed by hand
    yield publisher, client
    publisher.close()
    executor.shutdown()


def epoch_event(epoch: int) -> EpochEvent:
    return EpochEvent(epoch=epoch, epochs=5, train_loss=0.5, train_acc=0.5, val_loss=0.5, val_acc=0.5,
                      lr=0.001, epoch_seconds=1, eta_seconds=1, best_val_acc=0.5)  # fmt: skip


def test_bursts_are_coalesced_and_the_final_state_is_always_shown(publisher, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    publisher, client = publisher
    model, curves = tmp_path / "model.safetensors", tmp_path / "curves.png"
    model.write_bytes(b"m")
    curves.write_bytes(b"c")
    running = view(slack_ts=None)
    publisher.track(running, "C1", "1.2")
    for step in range(200):
        tick = ProgressEvent(epoch=1, step=step + 1, steps_per_epoch=200, loss=1.0, images_per_sec=10)
        publisher.on_update(RunUpdate(dataclasses.replace(running, progress=step / 1000), tick))
    done = dataclasses.replace(
        running, status=RunStatus.COMPLETED, progress=1.0, current_epoch=5,
        metrics={"artifacts": {"model": str(model), "curves": str(curves)}},
    )  # fmt: skip
    final = DoneEvent(epochs_completed=5, final={"val_acc": 0.75, "val_loss": 0.5}, best_val_acc=0.8,
                      best_epoch=4, per_class_acc={"cat": 0.5, "dog": 1.0},
                      artifacts={})  # fmt: skip
    publisher.on_update(RunUpdate(done, final))
    wait_until(lambda: client.named("files_upload_v2"))

    edits = client.named("chat_update")
    assert 1 <= len(edits) <= 2  # 201 updates, one or two edits
    assert "Completed" in edits[-1][0]["text"] and edits[-1][0]["ts"] == "1.2"
    [(reply, _at)] = client.named("chat_postMessage")
    assert reply["thread_ts"] == "1.1" and "*75.0%*" in reply["text"] and "cat 50%, dog 100%" in reply["text"]
    [(upload, _at)] = client.named("files_upload_v2")
    assert [f["file"] for f in upload["file_uploads"]] == [str(model), str(curves)]

    publisher.on_update(RunUpdate(running, None))  # an older snapshot arriving late is dropped
    publisher.on_update(RunUpdate(done, None))  # a repeat of the final state: edited, not re-announced
    wait_until(lambda: len(client.named("chat_update")) == len(edits) + 1)
    settled(publisher, client)
    assert (
        len(client.named("chat_postMessage")) == 1
        and "Completed" in unmarked(client, "chat_update")[-1][0]["text"]
    )


def test_epochs_edit_sooner_than_ticks_and_edits_are_spaced(publisher) -> None:  # type: ignore[no-untyped-def]
    publisher, client = publisher
    running = view()
    publisher.track(running, "C1", "1.2")
    tracked_at = time.monotonic()
    publisher.on_update(
        RunUpdate(running, ProgressEvent(epoch=1, step=1, steps_per_epoch=9, loss=1, images_per_sec=1))
    )
    wait_until(lambda: client.named("chat_update"))
    assert client.named("chat_update")[0][1] - tracked_at >= 0.55  # a tick alone waits tick_interval
    publisher.on_update(RunUpdate(dataclasses.replace(running, current_epoch=4), epoch_event(4)))
    wait_until(lambda: len(client.named("chat_update")) == 2)
    first, second = (at for _kwargs, at in client.named("chat_update"))
    assert 0.15 <= second - first <= 0.5  # an epoch only waits min_interval after the last edit


def test_runs_not_from_slack_are_ignored(publisher) -> None:  # type: ignore[no-untyped-def]
    publisher, client = publisher
    console_run = view(slack_channel=None, slack_thread_ts=None, slack_ts=None, status=RunStatus.FAILED)
    publisher.on_update(RunUpdate(console_run, None))
    settled(publisher, client)
    assert unmarked(client, "chat_update") == [] and client.named("chat_postMessage") == []


def test_a_failed_edit_does_not_stop_the_edits_of_other_runs(publisher) -> None:  # type: ignore[no-untyped-def]
    publisher, client = publisher
    record = client.chat_update
    failures = []

    def flaky_update(**kwargs: Any) -> dict[str, Any]:
        if not failures:
            failures.append(kwargs)
            raise ConnectionResetError("connection reset by peer")
        return record(**kwargs)

    client.chat_update = flaky_update
    publisher.track(view(id=7), "C1", "1.2")
    publisher.on_update(RunUpdate(view(id=7, current_epoch=4), epoch_event(4)))
    wait_until(lambda: failures)
    publisher.track(view(id=8), "C1", "1.3")
    publisher.on_update(RunUpdate(view(id=8, current_epoch=2), epoch_event(2)))
    wait_until(lambda: client.named("chat_update"))
    assert client.named("chat_update")[0][0]["ts"] == "1.3"


def test_a_final_state_still_rate_limited_after_the_retries_is_shown_at_the_next_turn(publisher) -> None:  # type: ignore[no-untyped-def]
    publisher, client = publisher
    record = client.chat_update
    limited: list[dict[str, Any]] = []

    def rate_limited_once(**kwargs: Any) -> dict[str, Any]:
        if not limited:  # what slack_sdk raises once its RateLimitErrorRetryHandler has given up
            limited.append(kwargs)
            raise SlackApiError("ratelimited", {"ok": False, "error": "ratelimited"})
        return record(**kwargs)

    client.chat_update = rate_limited_once
    publisher.track(view(id=7), "C1", "1.2")
    publisher.on_update(RunUpdate(view(id=7, status=RunStatus.FAILED), None))
    wait_until(lambda: client.named("chat_postMessage"))  # the ending reply, after the state was shown
    [(edit, _at)] = client.named("chat_update")
    assert limited and "Failed" in limited[0]["text"] and "Failed" in edit["text"] and edit["ts"] == "1.2"
