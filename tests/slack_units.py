"""Listener unit tests in the bolt starter app's style: each listener package registered on an app that
only records its listeners, called with a mocked `ack` and a mocked Slack client, over the real actions
layer and policy, a real conversation service, and a run manager stand-in that records what it was
asked to do."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock, Mock

from slack_bolt import Ack

from bot.actions import Actions
from bot.conversation import ConversationService
from bot.policy import Policy
from bot.runs import InvalidRunState, RunNotFound, RunView
from bot.settings import Settings
from bot.slack.context import SlackContext
from bot.storage import Database, RunStatus
from tests.onnx_reports import CLASSIFIER_REPORT
from tests.run_views import METRICS, view
from training.contract import CHECKPOINT_LAST_FILE, METRICS_FILE, MODEL_FILE, ONNX_FILE

OWNER, ADMIN, OTHER, OUTSIDER, STRANGER = "UOWNER", "UADMIN", "UOTHER", "UOUTSIDER", "USTRANGER"
PRIVATE, PUBLIC, DM = "GPRIVATE", "CPUBLIC", "DOWNER"
TEAM = "T1"
MEMBERS = {PRIVATE: {OWNER, OTHER}, PUBLIC: {OWNER, OTHER, OUTSIDER, STRANGER, ADMIN}, DM: {OWNER}}


class FakeRuns:
    """The run manager's reading and acting methods over a few RunViews; `calls` is what was done."""

    def __init__(self, runs: list[RunView]) -> None:
        self.runs = {run.id: run for run in runs}
        self.calls: list[tuple[str, int, str]] = []

    def get(self, run_id: int) -> RunView:
        if run_id not in self.runs:
            raise RunNotFound("not_found", run_id=run_id)
        return self.runs[run_id]

    def active_runs(self) -> list[RunView]:
        return [run for run in self.runs.values() if not run.status.is_terminal]

    def recent_runs(self, limit: int = 10) -> list[RunView]:
        return sorted(self.runs.values(), key=lambda run: -run.id)[:limit]

    def thread_runs(self, channel: str, thread_ts: str) -> list[RunView]:
        return [r for r in self.recent_runs() if (r.slack_channel, r.slack_thread_ts) == (channel, thread_ts)]

    def gpus(self) -> tuple[str, ...]:
        return ()

    def subscribe(self, _callback: Callable[..., None]) -> Callable[[], None]:
        return lambda: None

    def busy_gpus(self) -> set[str]:
        return set()

    def stop(self, run_id: int, user_id: str) -> RunView:
        run = self.get(run_id)
        if run.status.is_terminal:
            raise InvalidRunState("already_finished", run_id=run_id, status=run.status)
        self.calls.append(("stop", run_id, user_id))
        return run

    def cancel_scheduled(self, run_id: int, user_id: str) -> RunView:
        self.calls.append(("cancel_scheduled", run_id, user_id))
        return self.get(run_id)

    def resume(self, run_id: int, user_id: str) -> RunView:
        self.calls.append(("resume", run_id, user_id))
        new = dataclasses.replace(
            self.get(run_id), id=max(self.runs) + 1, status=RunStatus.QUEUED, slack_ts=None
        )
        self.runs[new.id] = new
        return new

    def submit(self, request: Any) -> RunView:
        self.calls.append(("submit", request.continues_run_id or 0, request.requested_by))
        new = view(
            id=max(self.runs) + 1, status=RunStatus.QUEUED, requested_by=request.requested_by, slack_ts=None
        )
        self.runs[new.id] = new
        return new

    def set_progress_message(self, run_id: int, channel: str, ts: str) -> None:
        self.runs[run_id] = dataclasses.replace(self.runs[run_id], slack_channel=channel, slack_ts=ts)


class InlineExecutor:
    """The WorkExecutor's interface, running each job at once on the caller's thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        fn(*args, **kwargs)

    def submit_heavy(self, _kind: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        fn(*args, **kwargs)

    def submit_in_order(self, _lane: Any, fn: Callable[..., Any], /, *args: Any, sent_at: Any = None) -> None:
        fn(*args)


class RecordingApp:
    """Takes `register(app, ctx)` like Bolt's App and keeps the listeners to call them directly."""

    def __init__(self) -> None:
        self.actions: dict[str, Callable[..., None]] = {}
        self.commands: dict[str, Callable[..., None]] = {}
        self.events: dict[str, list[Callable[..., None]]] = {}

    def action(self, action_id: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
        return lambda fn: self.actions.setdefault(action_id, fn)

    def command(self, name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
        return lambda fn: self.commands.setdefault(name, fn)

    def event(self, kind: str, matchers: Any = None) -> Callable[[Callable[..., None]], Callable[..., None]]:
        return lambda fn: self.events.setdefault(kind, []).append(fn) or fn


def finished_run(folder: Path, run_id: int, owner: str, channel: str, **changes: Any) -> RunView:
    """A completed run with its model, checkpoint, artifacts and a verified ONNX export on disk."""
    out = folder / f"run-{run_id}"
    out.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, CHECKPOINT_LAST_FILE, ONNX_FILE):
        (out / name).write_bytes(b"weights")
    (out / METRICS_FILE).write_text(json.dumps({"onnx": {**CLASSIFIER_REPORT, "file": str(out / ONNX_FILE)}}))
    shown: dict[str, Any] = {
        "status": RunStatus.COMPLETED,
        "requested_by": owner,
        "slack_channel": channel,
        "slack_thread_ts": f"{run_id}.0",
        "output_dir": str(out),
        "metrics": {**METRICS, "artifacts": {"model": str(out / MODEL_FILE)}},
        "checkpoint_path": str(out / CHECKPOINT_LAST_FILE),
    }
    return view(id=run_id, **{**shown, **changes})


@dataclass
class Unit:
    ctx: SlackContext
    runs: FakeRuns
    client: MagicMock
    app: RecordingApp = field(default_factory=RecordingApp)

    def ephemeral_texts(self) -> list[str]:
        return [call.kwargs["text"] for call in self.client.chat_postEphemeral.call_args_list]

    def posted_texts(self) -> list[str]:
        """Each posted message's text and the text of its blocks."""
        return [
            " ".join(
                [
                    call.kwargs.get("text", ""),
                    *(json.dumps(b.to_dict()) for b in call.kwargs.get("blocks") or []),
                ]
            )
            for call in self.client.chat_postMessage.call_args_list
        ]


def unit(db: Database, settings: Settings, runs: list[RunView]) -> Unit:
    """A SlackContext over `db` (already migrated), the settings' policy and channel MEMBERS."""
    client = MagicMock()
    client.chat_postMessage.return_value = {"ts": "100.1"}
    fake = FakeRuns(runs)
    actions = Actions(
        settings,
        Policy(settings, lambda channel, user: user in MEMBERS.get(channel, set())),
        ConversationService(db, settings, "rules"),
        fake,  # type: ignore[arg-type]
        predictions=Mock(),
    )
    ctx = SlackContext(
        settings=settings, actions=actions, client=client, executor=InlineExecutor(),  # type: ignore[arg-type]
        progress=Mock(), bot_user_id="UBOT",
    )  # fmt: skip
    return Unit(ctx, fake, client)


def ack() -> Mock:
    return Mock(spec=Ack)


def button_body(user: str, action_id: str, value: str, channel: str, thread_ts: str) -> dict[str, Any]:
    return {
        "user": {"id": user},
        "team": {"id": TEAM},
        "container": {"type": "message", "channel_id": channel, "thread_ts": thread_ts, "message_ts": "5.5"},
        "channel": {"id": channel},
        "actions": [{"action_id": action_id, "value": value}],
    }


def home_body(user: str, action_id: str, value: str) -> dict[str, Any]:
    return {"user": {"id": user}, "team": {"id": TEAM}, "container": {"type": "view"}, "actions": []}
