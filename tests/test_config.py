"""TrainingConfig: the one config shared by bot and trainer."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from training.config import (
    FIELD_NAMES,
    FieldError,
    TrainingConfig,
    describe_errors,
    field_defaults,
    validate_field,
)


def make(**overrides: object) -> TrainingConfig:
    return TrainingConfig(**{"dataset_path": "cats", **overrides})


def test_defaults_match_the_plan() -> None:
    config = make()
    assert config.model == "resnet50"
    assert config.task == "classification"
    assert config.num_classes is None
    assert config.batch_size == 32
    assert config.learning_rate == 0.001
    assert config.image_size == 224
    assert config.pretrained is True


def test_dataset_path_is_required() -> None:
    with pytest.raises(ValidationError) as info:
        TrainingConfig()
    assert describe_errors(info.value) == ["dataset_path: Field required"]


@pytest.mark.parametrize(
    ("field", "low_ok", "high_ok", "too_low", "too_high"),
    [
        ("epochs", 1, 1000, 0, 1001),
        ("batch_size", 1, 4096, 0, 4097),
        ("image_size", 32, 1024, 31, 1025),
        ("num_classes", 2, 100_000, 1, 100_001),
        ("learning_rate", 1e-12, 1.0, 0.0, 1.0001),
    ],
)
def test_every_bound(field: str, low_ok: float, high_ok: float, too_low: float, too_high: float) -> None:
    assert getattr(make(**{field: low_ok}), field) == low_ok
    assert getattr(make(**{field: high_ok}), field) == high_ok
    for bad, word in ((too_low, "greater than"), (too_high, "less than")):
        with pytest.raises(ValidationError) as info:
            make(**{field: bad})
        (message,) = describe_errors(info.value)
        assert message.startswith(f"{field}: ")
        assert word in message


def test_negative_learning_rate_is_refused() -> None:
    with pytest.raises(ValidationError, match="learning_rate"):
        make(learning_rate=-0.1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epochs", "ten"),
        ("epochs", 2.5),
        ("batch_size", [32]),
        ("learning_rate", "fast"),
        ("pretrained", "maybe"),
        ("image_size", None),
        ("model", 50),
        ("task", "segmentation"),
    ],
)
def test_wrong_types_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        make(**{field: value})
    assert describe_errors(info.value)[0].startswith(f"{field}")


def test_numeric_strings_are_coerced_like_json_numbers() -> None:
    config = make(epochs="12", learning_rate="1e-4")
    assert config.epochs == 12
    assert config.learning_rate == pytest.approx(1e-4)


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        make(optimizer="sgd")
    assert describe_errors(info.value) == ["optimizer: Extra inputs are not permitted"]


@pytest.mark.parametrize("name", ["resnet50; rm -rf /", "", "   ", "res net", "../../etc"])
def test_model_names_must_look_like_timm_names(name: str) -> None:
    if name == "../../etc":
        # dots and slashes are legal in timm names (hf-hub:org/name, vit_base_patch16_224.augreg_in21k)
        assert make(model=name).model == name
        return
    with pytest.raises(ValidationError, match="model"):
        make(model=name)


def test_assignment_is_validated() -> None:
    config = make()
    with pytest.raises(ValidationError):
        config.epochs = 0
    assert config.epochs == 10


def test_json_round_trip() -> None:
    config = make(
        model="efficientnet_b0",
        epochs=50,
        batch_size=16,
        learning_rate=3e-4,
        num_classes=3,
        image_size=160,
        pretrained=False,
    )
    text = config.to_json()
    assert json.loads(text)["learning_rate"] == 3e-4
    again = TrainingConfig.from_json(text)
    assert again == config


def test_from_json_refuses_bad_documents() -> None:
    with pytest.raises(ValidationError):
        TrainingConfig.from_json('{"dataset_path": "x", "epochs": 0}')
    with pytest.raises(ValidationError):
        TrainingConfig.from_json("not json")


def test_validate_field_checks_one_field_with_the_same_rules() -> None:
    assert validate_field("epochs", "30") == 30
    assert validate_field("model", " resnet18 ") == "resnet18"
    with pytest.raises(FieldError) as info:
        validate_field("batch_size", 0)
    assert info.value.field == "batch_size"
    assert "greater than or equal to 1" in info.value.message
    with pytest.raises(FieldError, match="unknown setting"):
        validate_field("dataset", "x")


def test_field_defaults_cover_every_optional_field() -> None:
    defaults = field_defaults()
    assert "dataset_path" not in defaults
    assert set(defaults) == set(FIELD_NAMES) - {"dataset_path"}
    assert defaults["epochs"] == 10
