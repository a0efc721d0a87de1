"""What a parser returns for one user message, and what it is told about the conversation.

Every message has one intent:
- "settings": it provides or changes settings (also a request phrased as a question: "can you make it
  20 epochs?"); the engine applies `updates`. It may also ask for a sweep (`sweep`: several values of
  some settings, the best trial kept), alone or with the setup it varies.
- "question": it asks something; `question` says what, and nothing in the draft changes.
- "command": a command for the front end (`command`, with `command_args`); the draft does not change.
- "smalltalk": greetings, thanks; answered briefly, nothing changes.
- "cancel": abandon this setup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.sweeps.spec import SweepSpec

Intent = Literal["settings", "question", "command", "smalltalk", "cancel"]
INTENTS: tuple[str, ...] = ("settings", "question", "command", "smalltalk", "cancel")

# Commands front ends act on. command_args keys: "run_id" (int) for stop/resume/continue/export_onnx/
# predict when one was given; "text" (the message as typed) for start, whose time ("start at 02:00") the
# front end reads, and for predict (the console reads file paths from it); "epochs" (int) for continue;
# "score_threshold" (float, unchecked) for rethreshold: a detection run's last images answered again.
# A finished run's model: predict (classify images), export_onnx (a verified ONNX file), continue (a new
# run from its last checkpoint for `epochs` more epochs).
Command = Literal[
    "help", "status", "list", "start", "stop", "resume", "predict", "export_onnx", "continue", "rethreshold"
]
COMMANDS: tuple[str, ...] = (
    "help", "status", "list", "start", "stop", "resume", "predict", "export_onnx", "continue", "rethreshold"
)  # fmt: skip

# What a question is about; the rule answers know each one (bot/conversation/answers.py).
Topic = Literal[
    "help",  # what the bot can do
    "settings",  # the current settings
    "model",  # which model suits this data
    "epochs",  # how many epochs
    "duration",  # how long training will take
    "field",  # what a setting means / what changing it costs (`field` names it)
    "gpus",  # which GPUs this host has, how runs share them
    "datasets",  # which datasets exist
    "pretrained",  # pretrained weights: what, and whether available here
    "detection_metric",  # what mAP / IoU mean
    "detection_model",  # which detector suits this data
    "unknown",
]
TOPICS: tuple[str, ...] = (
    "help",
    "settings",
    "model",
    "epochs",
    "duration",
    "field",
    "gpus",
    "datasets",
    "pretrained",
    "detection_metric",
    "detection_model",
    "unknown",
)


@dataclass(frozen=True)
class ThreadState:
    """What the conversation's thread holds besides its setup draft: what a command word can act on.
    The default is a thread with no run (a fresh setup)."""

    ready: bool = False  # the draft is complete: start acts on it
    active_run: bool = False  # a run started here is scheduled, queued or running: stop acts on it
    finished_run: bool = False  # a run started here completed (or the thread was opened for one's model)
    continuable_run: bool = False  # a run started here completed or was stopped: continue acts on it

    def facts(self) -> dict[str, bool]:
        """The state as the Claude parser's facts show it."""
        return {
            "draft_complete": self.ready,
            "active_run": self.active_run,
            "finished_run": self.finished_run,
            "finished_or_stopped_run": self.continuable_run,
        }


# What each command acts on, when the message names no run: a command word where there is nothing for it
# to act on is a command only if the message holds nothing else to read (the front end then says why).
COMMAND_NEEDS: dict[str, str] = {
    "start": "ready",
    "stop": "active_run",
    "predict": "finished_run",
    "export_onnx": "finished_run",
    "rethreshold": "finished_run",
    "continue": "continuable_run",
}


def acts_here(command: str, run_id: int | None, thread: ThreadState) -> bool:
    """The command has something to act on: the run it names, or what the thread holds."""
    need = COMMAND_NEEDS.get(command)
    return need is None or run_id is not None or bool(getattr(thread, need))


@dataclass(frozen=True)
class ParseContext:
    asked_field: str | None  # the field the bot asked for last: a bare answer fills it
    last_field: str | None  # the field the user changed last: "actually 30" corrects it
    draft: dict[str, Any] = field(default_factory=dict)
    language: str = "en"
    last_bot_message: str = ""  # the bot's previous reply ("the second one" refers to its list)
    facts: str = ""  # the facts block the Claude parser is grounded by (rendered by facts.render_facts)
    thread: ThreadState = field(default_factory=ThreadState)  # what the thread holds: runs, a complete draft


@dataclass(frozen=True)
class Question:
    topic: str  # one of TOPICS
    field: str | None = None  # for topic "field" (and "epochs"): the setting asked about
    value: Any = None  # a value the question names ("is 50 epochs too many?" → 50)
    answer: str | None = None  # an answer already written (Claude's); None: the rule answers write it


@dataclass
class ParseResult:
    """Proposed field updates (TrainingConfig names, not yet validated) and the message's intent."""

    updates: dict[str, Any] = field(default_factory=dict)
    intent: Intent = "settings"
    command: str | None = None  # one of COMMANDS when intent == "command"
    command_args: dict[str, Any] = field(default_factory=dict)
    question: Question | None = None  # when intent == "question"
    unattached: list[str] = field(default_factory=list)  # numbers read but not attached to a setting
    notices: list[str] = field(default_factory=list)  # e.g. "Claude unavailable; used the built-in parser"
    task_unclear: bool = False  # asks for a model in words either task is called by: the bot asks which
    sweep: SweepSpec | None = None  # a sweep asked for (unchecked; bot/sweeps/spec.py checks it)
    # an objective named on its own (bot/sweeps/spec.py OBJECTIVES): the sweep asked for before picks its
    # best trial by it ("pick by val loss instead")
    objective: str | None = None


class Parser(Protocol):
    def parse(self, text: str, context: ParseContext) -> ParseResult: ...
