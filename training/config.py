"""The one training configuration shared by the bot and the trainer.

Each field is declared once, here: its type and bounds, plus a FieldSpec with what only a person can
write (its labels in each language, its CLI help). Everything else about a field is derived from that
declaration: the trainer's CLI flag (training/cli.py), Claude's output schema (bot/conversation/claude.py),
whether the parsers read it as a number and which kind (NUMERIC_FIELDS), the range shown when a value is
refused (field_bounds), and its place in the summary (declaration order).

Pure pydantic: importing this module must never import torch, because the bot imports it.
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from training.contract import DEFAULT_DETECTOR, DETECTION_IMAGE_SIZE

EPOCHS_RANGE = (1, 1000)
BATCH_SIZE_RANGE = (1, 4096)
IMAGE_SIZE_RANGE = (32, 1024)
NUM_CLASSES_RANGE = (2, 100_000)
LEARNING_RATE_MAX = 1.0
EARLY_STOPPING_RANGE = (0, 1000)
GPUS_RANGE = (1, 64)
SCORE_THRESHOLD_RANGE = (0.01, 0.99)

REQUIRED_FIELDS = ("dataset_path",)
# what a detection run gets where it sets nothing else: COCO-pretrained Faster R-CNN fine-tunes at a lower
# lr than a classifier, and 8 images of 640 px fit one GPU
DETECTION_DEFAULTS = {
    "model": DEFAULT_DETECTOR,
    "image_size": DETECTION_IMAGE_SIZE,
    "batch_size": 8,
    "learning_rate": 1e-4,
}


@dataclass(frozen=True)
class FieldSpec:
    """The part of a field's declaration that cannot be derived from its type and bounds."""

    labels: Mapping[str, str]  # what users see it called, per language ("en", "ko")
    help: str  # the trainer's --flag help (English, like the rest of the trainer's CLI)
    flag: str | None = None  # the trainer's flag when it is not --field-name, e.g. "--lr"


class TrainingConfig(BaseModel):
    """What to train. Unknown fields are rejected; every bound has a readable message."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    model: Annotated[
        str,
        Field(min_length=1, max_length=128, description="a timm model name, or a torchvision detector"),
        FieldSpec(
            {"en": "model", "ko": "모델"},
            "any timm model name; for detection one of torchvision's detectors (training/contract.py)",
        ),
    ] = "resnet50"
    dataset_path: Annotated[
        str,
        Field(min_length=1, max_length=1024),
        FieldSpec(
            {"en": "dataset", "ko": "데이터셋"},
            "dataset folder: ImageFolder (classification) or YOLO, COCO or VOC (detection); optional splits",
            "--data",
        ),
    ]
    num_classes: Annotated[
        int | None,
        Field(ge=NUM_CLASSES_RANGE[0], le=NUM_CLASSES_RANGE[1], description="inferred from the dataset"),
        FieldSpec(
            {"en": "classes", "ko": "클래스 수"}, "expected number of classes (checked against the data)"
        ),
    ] = None
    epochs: Annotated[
        int,
        Field(ge=EPOCHS_RANGE[0], le=EPOCHS_RANGE[1]),
        FieldSpec({"en": "epochs", "ko": "에폭"}, "number of epochs"),
    ] = 10
    batch_size: Annotated[
        int,
        Field(ge=BATCH_SIZE_RANGE[0], le=BATCH_SIZE_RANGE[1]),
        FieldSpec({"en": "batch size", "ko": "배치 크기"}, "images per step"),
    ] = 32
    learning_rate: Annotated[
        float,
        Field(gt=0.0, le=LEARNING_RATE_MAX),
        FieldSpec({"en": "learning rate", "ko": "학습률"}, "peak AdamW learning rate", "--lr"),
    ] = 0.001
    image_size: Annotated[
        int,
        Field(ge=IMAGE_SIZE_RANGE[0], le=IMAGE_SIZE_RANGE[1]),
        FieldSpec({"en": "image size", "ko": "이미지 크기"}, "training/eval resolution in pixels"),
    ] = 224
    pretrained: Annotated[
        bool,
        FieldSpec(
            {"en": "pretrained weights", "ko": "사전학습 가중치"},
            "start from pretrained weights when available",
        ),
    ] = True
    early_stopping_patience: Annotated[
        int,
        Field(ge=EARLY_STOPPING_RANGE[0], le=EARLY_STOPPING_RANGE[1]),
        FieldSpec(
            {"en": "early stopping (epochs without improvement)", "ko": "조기 종료 (개선 없는 에폭 수)"},
            "stop when val accuracy has not improved for this many epochs; 0 never stops",
        ),
    ] = 10
    gpus: Annotated[
        int,
        Field(ge=GPUS_RANGE[0], le=GPUS_RANGE[1]),
        FieldSpec(
            {"en": "GPUs", "ko": "GPU 수"},
            "GPUs of one node for this run, one process each; more than 1 runs DistributedDataParallel "
            "and must be started by torchrun (python -m training.launch)",
        ),
    ] = 1
    task: Annotated[
        Literal["classification", "detection"],
        FieldSpec(
            {"en": "task", "ko": "작업"},
            "what to train: an image classifier (ImageFolder) or an object detector (YOLO, COCO or VOC data)",
        ),
    ] = "classification"
    score_threshold: Annotated[
        float,
        Field(ge=SCORE_THRESHOLD_RANGE[0], le=SCORE_THRESHOLD_RANGE[1]),
        FieldSpec(
            {"en": "score threshold", "ko": "점수 임계값"},
            "detection: the lowest score a predicted box needs to be shown (the model's default for predict)",
        ),
    ] = 0.5

    @model_validator(mode="before")
    @classmethod
    def _detection_defaults(cls, values: Any) -> Any:
        """A detection run not naming its model or image size gets the detection defaults."""
        if isinstance(values, dict) and values.get("task") == "detection":
            values = DETECTION_DEFAULTS | values
        return values

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


FIELD_NAMES: tuple[str, ...] = tuple(TrainingConfig.model_fields)  # also the order of the summary


def field_spec(name: str) -> FieldSpec | None:
    return next(
        (item for item in TrainingConfig.model_fields[name].metadata if isinstance(item, FieldSpec)), None
    )


FIELD_SPECS: dict[str, FieldSpec] = {name: spec for name in FIELD_NAMES if (spec := field_spec(name))}


def value_type(name: str) -> Any:
    """The field's type without None (`int | None` is int; a Literal stays a Literal)."""
    annotation = TrainingConfig.model_fields[name].annotation
    if get_origin(annotation) in (Union, types.UnionType):
        (annotation,) = (arg for arg in get_args(annotation) if arg is not type(None))
    return annotation


# the fields users give as a number, with the kind of number ("lr 1e-4" is a float, "50 epochs" an int)
NUMERIC_FIELDS: dict[str, type[int] | type[float]] = {
    name: kind for name in FIELD_NAMES if (kind := value_type(name)) in (int, float)
}


@dataclass(frozen=True)
class Bounds:
    low: Any = None
    high: Any = None
    low_exclusive: bool = False
    high_exclusive: bool = False


def field_bounds(name: str) -> Bounds | None:
    """The field's numeric bounds as TrainingConfig enforces them (None when it has none)."""
    found: dict[str, Any] = {}
    for item in TrainingConfig.model_fields[name].metadata:
        for bound in ("ge", "gt", "le", "lt"):
            if getattr(item, bound, None) is not None:
                found[bound] = getattr(item, bound)
    if not found:
        return None
    return Bounds(
        low=found.get("ge", found.get("gt")),
        high=found.get("le", found.get("lt")),
        low_exclusive="gt" in found,
        high_exclusive="lt" in found,
    )


def field_defaults() -> dict[str, Any]:
    """The default of every field that has one (required fields are absent)."""
    return {
        name: info.default for name, info in TrainingConfig.model_fields.items() if not info.is_required()
    }


def _field_adapter(name: str) -> TypeAdapter[Any]:
    info = TrainingConfig.model_fields[name]
    annotation: Any = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    return TypeAdapter(annotation)


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
