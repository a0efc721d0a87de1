"""What a sweep varies: a grid of listed values, or a search over ranges with a trial budget.

Values are checked with the trainer's own field rules (training/config.py); a problem is a SweepRefusal
with a reason code the catalogue words (bot/i18n/sweeps.py)."""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field

from training.config import FIELD_SPECS, NUMERIC_FIELDS, FieldError, field_bounds, validate_field

# the settings a sweep may vary; the others (the dataset, its classes, the GPUs, the task) stay the same
VARIABLE_FIELDS = ("learning_rate", "batch_size", "image_size", "epochs", "model", "early_stopping_patience")


class Objective(NamedTuple):
    """A figure the trainer's epoch events carry (training/events.py EpochEvent) that a sweep may pick
    its best trial by: the task whose runs report it, whether higher is better and whether it is a
    fraction (shown as a percentage)."""

    task: str
    maximise: bool = True
    fraction: bool = True


OBJECTIVES: dict[str, Objective] = {
    "val_acc": Objective("classification"),
    "val_loss": Objective("classification", maximise=False, fraction=False),
    "val_map50": Objective("detection"),
    "val_map": Objective("detection"),
}
# the headline metric, per task, when the person names none (a config without a task is a classification)
OBJECTIVE_BY_TASK = {"classification": "val_acc", "detection": "val_map50"}


class SweepRefusal(Exception):
    """A sweep that cannot be run as asked; nothing was changed."""

    def __init__(self, reason: str, **values: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


class SearchRange(BaseModel):
    low: float
    high: float
    log: bool = False


class SweepSpec(BaseModel):
    """A grid (`grid`: every combination of the listed values) or a search (`ranges`, `trials` runs)."""

    grid: dict[str, list[Any]] = Field(default_factory=dict)
    ranges: dict[str, SearchRange] = Field(default_factory=dict)
    trials: int | None = None  # a search's budget; a grid has one trial per combination
    objective: str | None = None  # one of OBJECTIVES; None: the task's headline (`checked` fills it in)

    @property
    def kind(self) -> Literal["grid", "search"]:
        return "search" if self.ranges else "grid"

    @property
    def fields(self) -> list[str]:
        return [*self.grid, *self.ranges]

    def trial_count(self) -> int:
        if self.kind == "search":
            return self.trials or 0
        return math.prod(len(values) for values in self.grid.values())

    def grid_points(self) -> list[dict[str, Any]]:
        names = list(self.grid)
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*self.grid.values())]


def maximised(objective: str | None) -> bool:
    """Higher is better for this objective (accuracy, mAP; every headline, None's); lower for a loss."""
    found = OBJECTIVES.get(objective or "")
    return found is None or found.maximise


def objectives_of(task: str) -> list[str]:
    return [name for name, objective in OBJECTIVES.items() if objective.task == task]


def checked(spec: SweepSpec, max_trials: int, task: str = "classification") -> SweepSpec:
    """The spec with its values validated as the trainer would and its objective one that `task`'s runs
    report (the task's headline when none was named); raises SweepRefusal."""
    objective = spec.objective or OBJECTIVE_BY_TASK.get(task, "val_acc")
    if objective not in objectives_of(task):
        raise SweepRefusal("objective_not_reported", objective=objective, task=task)
    for name in spec.fields:
        if name not in VARIABLE_FIELDS:
            raise SweepRefusal("cannot_vary", field=name)
    grid: dict[str, list[Any]] = {}
    for name, values in spec.grid.items():
        kept: list[Any] = []
        for value in values:
            value = _valid(name, value)
            if value not in kept:
                kept.append(value)
        if len(kept) < 2:
            raise SweepRefusal("one_value", field=name)
        grid[name] = kept
    for name, span in spec.ranges.items():
        if name not in NUMERIC_FIELDS:
            raise SweepRefusal("not_a_range", field=name)
        if span.low >= span.high:
            raise SweepRefusal("empty_range", field=name, low=span.low, high=span.high)
        for end in (span.low, span.high):
            _valid(name, NUMERIC_FIELDS[name](end))
    if spec.ranges and not spec.trials:
        raise SweepRefusal("no_budget")
    result = spec.model_copy(update={"grid": grid, "objective": objective})
    count = result.trial_count()
    if count > max_trials:
        raise SweepRefusal("too_many_trials", count=count, limit=max_trials)
    if count < 2 and result.kind == "search":
        raise SweepRefusal("too_few_trials", count=count)
    return result


def _valid(name: str, value: Any) -> Any:
    """The value as the trainer takes it; a refusal names the field's range (or a bad model name)."""
    try:
        return validate_field(name, value)
    except FieldError:
        bounds = field_bounds(name)
        if bounds is None:
            raise SweepRefusal("bad_name", field=name, value=value) from None
        raise SweepRefusal("bad_value", field=name, value=value, low=bounds.low, high=bounds.high) from None


def log_scale(name: str) -> bool:
    """Learning rates are searched on a log scale; sizes and counts on a linear one."""
    return name == "learning_rate"


def field_label(name: str, language: str) -> str:
    spec = FIELD_SPECS.get(name)
    return spec.labels.get(language, name) if spec is not None else name
