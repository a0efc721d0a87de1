"""A sweep asked for in the conversation (bot/sweeps): checked with the conversation's model names, kept
in the conversation's history while it waits for its setup to be complete, and its words: a refusal,
the objective it picks the best trial by."""

from __future__ import annotations

from typing import Any

from bot.conversation import messages as msg
from bot.conversation.model_names import is_detector, is_known_model, normalize_model_name
from bot.conversation.tasks import DETECTION
from bot.i18n import t
from bot.sweeps.spec import OBJECTIVES, SweepRefusal, SweepSpec, checked, maximised, objectives_of
from training.config import EPOCHS_RANGE

# the history entries' keys: a user message's sweep waiting for the setup; a bot reply after which no
# sweep waits any more (it was proposed or refused, or the setup was cancelled)
WAITING_KEY = "sweep"
SETTLED_KEY = "sweep_settled"


def checked_sweep(sweep: SweepSpec, max_trials: int, task: str, max_epochs: int) -> SweepSpec:
    """The sweep checked as the trainer takes its values (bot/sweeps/spec.py), its epochs within this
    bot's MAX_EPOCHS as a setup's are, and its model names as the conversation takes them ("ResNet-50"
    is resnet50): each one a model of the task. Raises SweepRefusal."""
    sweep = checked(sweep, max_trials, task)
    span = sweep.ranges.get("epochs")
    for epochs in [*sweep.grid.get("epochs", []), *([span.high] if span else [])]:
        if epochs > max_epochs:
            raise SweepRefusal(
                "bad_value", field="epochs", value=epochs, low=EPOCHS_RANGE[0], high=max_epochs
            )
    models = sweep.grid.get("model")
    if not models:
        return sweep
    named = [normalize_model_name(str(model)) for model in models]
    for model in named:
        if is_detector(model) != (task == DETECTION):
            raise SweepRefusal("model_for_task", value=model, task=task)
        if task != DETECTION and not is_known_model(model):
            raise SweepRefusal("bad_name", field="model", value=model)
    return sweep.model_copy(update={"grid": {**sweep.grid, "model": named}})


def waiting_sweep(history: list[dict[str, Any]]) -> SweepSpec | None:
    """The sweep asked for while the setup was incomplete, not proposed, refused or cancelled since."""
    for entry in reversed(history):
        if entry.get(SETTLED_KEY):
            return None
        if entry.get("role") == "user" and isinstance(entry.get(WAITING_KEY), dict):
            return SweepSpec.model_validate(entry[WAITING_KEY])
    return None


def waiting_line(language: str, sweep: SweepSpec) -> str:
    fields = ", ".join(msg.label(language, name) for name in sweep.fields)
    return t(language, "sweep_after_setup", count=sweep.trial_count(), fields=fields)


def objective_text(language: str, objective: str) -> str:
    """The objective in words; a name the bot does not know (a model's answer) as it came."""
    return t(language, f"sweep_objective_{objective}") if objective in OBJECTIVES else objective


def picked_by(language: str, objective: str) -> str:
    """What "best" means from now on, for a sweep not started yet."""
    key = "sweep_pick_by" if maximised(objective) else "sweep_pick_by_min"
    return t(language, key, objective=objective_text(language, objective))


def refused_text(language: str, refused: SweepRefusal) -> str:
    """Why a sweep is refused, with the setting's label and range, or the objectives the task reports."""
    values = dict(refused.values)
    if "objective" in values:
        values["objective"] = objective_text(language, str(values["objective"]))
    if "task" in values:
        task = str(values["task"])
        values["available"] = ", ".join(objective_text(language, name) for name in objectives_of(task))
        values["task"] = msg.format_value(language, "task", task)
    if "field" in values:
        values["field"] = msg.label(language, str(values["field"]))
    for end in ("low", "high", "value"):
        if isinstance(values.get(end), float):
            values[end] = f"{values[end]:g}"
    return t(language, f"sweep_refused_{refused.reason}", **values)
