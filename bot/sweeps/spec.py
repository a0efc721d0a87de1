"""What a sweep varies: a grid of listed values, or a search over ranges with a trial budget.

Values are checked with the trainer's own field rules (training/config.py); a problem is a SweepRefusal
with a reason code the catalogue words (bot/i18n/sweeps.py)."""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal

from pydantic import BaseModel, Field

from training.config import FIELD_SPECS, NUMERIC_FIELDS, FieldError, field_bounds, validate_field

# the settings a sweep may vary; the others (the dataset, its classes, the GPUs, the task) stay the same
VARIABLE_FIELDS = ("learning_rate", "batch_size", "image_size", "epochs", "model", "early_stopping_patience")
# the headline metric a sweep maximises, per task (a config without a task is a classification)
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
    objective: str = "val_acc"

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


def objective_for(config: dict[str, Any]) -> str:
    return OBJECTIVE_BY_TASK.get(str(config.get("task") or "classification"), "val_acc")


def checked(spec: SweepSpec, max_trials: int) -> SweepSpec:
    """The spec with its values validated as the trainer would; raises SweepRefusal."""
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
    result = spec.model_copy(update={"grid": grid})
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
