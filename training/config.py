"""The one training configuration shared by the bot and the trainer.

Pure pydantic: importing this module must never import torch, because the bot imports it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

EPOCHS_RANGE = (1, 1000)
BATCH_SIZE_RANGE = (1, 4096)
IMAGE_SIZE_RANGE = (32, 1024)
NUM_CLASSES_RANGE = (2, 100_000)
LEARNING_RATE_MAX = 1.0

REQUIRED_FIELDS = ("dataset_path",)


class TrainingConfig(BaseModel):
    """What to train. Unknown fields are rejected; every bound has a readable message."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    model: Annotated[str, Field(min_length=1, max_length=128, description="a timm model name")] = "resnet50"
    task: Literal["classification"] = "classification"
    dataset_path: Annotated[str, Field(min_length=1, max_length=1024)]
    num_classes: Annotated[
        int | None,
        Field(ge=NUM_CLASSES_RANGE[0], le=NUM_CLASSES_RANGE[1], description="inferred from the dataset"),
    ] = None
    epochs: Annotated[int, Field(ge=EPOCHS_RANGE[0], le=EPOCHS_RANGE[1])] = 10
    batch_size: Annotated[int, Field(ge=BATCH_SIZE_RANGE[0], le=BATCH_SIZE_RANGE[1])] = 32
    learning_rate: Annotated[float, Field(gt=0.0, le=LEARNING_RATE_MAX)] = 0.001
    image_size: Annotated[int, Field(ge=IMAGE_SIZE_RANGE[0], le=IMAGE_SIZE_RANGE[1])] = 224
    pretrained: bool = True

    @field_validator("model")
    @classmethod
    def _model_name_is_plain(cls, value: str) -> str:
        name = value.strip()
        allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/")
        if not name or set(name) - allowed:
            raise ValueError("model must be a timm model name such as 'resnet50' or 'efficientnet_b0'")
        return name

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> TrainingConfig:
        return cls.model_validate_json(text)


FIELD_NAMES: tuple[str, ...] = tuple(TrainingConfig.model_fields)


def field_defaults() -> dict[str, Any]:
    """The default of every field that has one (required fields are absent)."""
    return {
        name: info.default for name, info in TrainingConfig.model_fields.items() if not info.is_required()
    }


def _field_adapter(name: str) -> TypeAdapter[Any]:
    info = TrainingConfig.model_fields[name]
    if not info.metadata:
        return TypeAdapter(info.annotation)
    return TypeAdapter(Annotated[info.annotation, *info.metadata])  # type: ignore[valid-type]


_FIELD_ADAPTERS: dict[str, TypeAdapter[Any]] = {name: _field_adapter(name) for name in FIELD_NAMES}


class FieldError(ValueError):
    """One field's value is out of bounds or of the wrong type; `message` is user-readable."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def validate_field(name: str, value: Any) -> Any:
    """Validate one field on its own, with the same rules as TrainingConfig.

    Used for partial drafts (a conversation that has not collected every field yet).
    Raises FieldError with a readable message; unknown names are refused too.
    """
    if name not in _FIELD_ADAPTERS:
        raise FieldError(name, f"unknown setting; known settings are {', '.join(FIELD_NAMES)}")
    try:
        value = _FIELD_ADAPTERS[name].validate_python(value)
    except ValidationError as exc:
        raise FieldError(name, exc.errors()[0]["msg"]) from None
    if name == "model":
        try:
            value = TrainingConfig._model_name_is_plain(value)
        except ValueError as exc:
            raise FieldError(name, str(exc)) from None
    return value


def describe_errors(exc: ValidationError) -> list[str]:
    """Readable one-liners ("epochs: Input should be less than or equal to 1000") for a ValidationError."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "config"
        lines.append(f"{where}: {error['msg']}")
    return lines


def load_config_file(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return data
