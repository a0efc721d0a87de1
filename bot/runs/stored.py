"""What a run's row holds, read typed: its config (a TrainingConfig) and its metrics (RunMetrics, the
trainer's events as record_event in bot/runs/record.py keeps them)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from training.config import DETECTION_DEFAULTS, FIELD_NAMES, TrainingConfig, field_defaults, value_type
from training.events import DataReport, EpochRecord, PreparingEvent, RunSummary, WarningEvent

# each field's type without its bounds or name rule: what a stored value must be to be read as it is
_FIELD_TYPES: dict[str, TypeAdapter[Any]] = {name: TypeAdapter(value_type(name)) for name in FIELD_NAMES}


def stored_config(stored: Mapping[str, Any] | None) -> TrainingConfig:
    """A run's config as its row holds it.

    Rows are validated when written (RunStore.create), so this is TrainingConfig's own validation. A row
    that no longer validates (written before a bound or rule changed, or made by hand, even `{}`) is
    still read, so that one old row never breaks a listing: `model_construct` over the defaults (a
    detection row's for a detection row) keeps each stored value of the field's type as it was stored (a
    stray model name is shown, escaped, as it was) and gives every other field its default; only the
    values kept count as set, so `exclude_unset` dumps what was stored. Such a config is only read: the
    manager validates a config again before a trainer gets it, and refuses one that does not validate.
    """
    values = dict(stored or {})
    try:
        return TrainingConfig.model_validate(values)
    except ValidationError:
        pass
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if name in _FIELD_TYPES:
            with suppress(ValidationError):
                kept[name] = _FIELD_TYPES[name].validate_python(value)
    defaults = field_defaults() | {"dataset_path": ""}
    if kept.get("task") == "detection":
        defaults |= DETECTION_DEFAULTS
    return TrainingConfig.model_construct(set(kept), **(defaults | kept))


class RunMetrics(BaseModel):
    """A run's stored metrics, read through the events' own models: record_event keeps the latest
    epoch's figures and the done event's results side by side in one flat dict, read here as `latest`
    (an EpochRecord) and `summary` (a RunSummary; its bests are tracked from the epoch events), beside
    what the other events left (the preparing phase, the start's device and data, progress, warnings,
    the done event's files). Like the config, a row an older bot stored that no longer validates is
    still read: each stored figure that does not validate is left out (read as absent), the rest kept."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    latest: EpochRecord = Field(default_factory=EpochRecord)
    summary: RunSummary = Field(default_factory=RunSummary)
    preparing: PreparingEvent | None = None  # until `start`
    device: str = ""  # from `start`
    counts: dict[str, int] = Field(default_factory=dict)  # images per split, from `start`
    data: DataReport | None = None  # how the images got ready, from `start`
    running_loss: float | None = None  # the epoch in progress's mean loss so far
    images_per_sec: float | None = None
    eta_seconds: float | None = None
    warnings: list[WarningEvent] = Field(default_factory=list)
    artifacts: dict[str, str] = Field(default_factory=dict)  # the done event's files

    @classmethod
    def of(cls, stored: Mapping[str, Any] | None) -> RunMetrics:
        values = dict(stored or {})
        try:
            return cls._read(values)
        except ValidationError as error:
            broken = {_stored_key(problem["loc"]) for problem in error.errors()}
            return cls._read({key: value for key, value in values.items() if key not in broken})

    @classmethod
    def _read(cls, values: dict[str, Any]) -> RunMetrics:
        return cls.model_validate({**values, "latest": values, "summary": values})


def _stored_key(loc: tuple[int | str, ...]) -> int | str:
    """The stored key a validation error is about: `latest` and `summary` are read from the whole dict."""
    return loc[1] if loc[0] in ("latest", "summary") and len(loc) > 1 else loc[0]
