"""Config fields are declared once (training/config.py); every list about them is derived from that.

The last test adds a field to a copy of the code the way a developer would, with its declaration and its
rule-parser patterns only, and checks the trainer's CLI, Claude's schema and the conversation all use it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bot.conversation.claude import OUTPUT_SCHEMA
from bot.conversation.messages import FIELD_LABELS
from bot.i18n import LANGUAGES
from training.cli import build_parser, load_config
from training.config import FIELD_NAMES, FIELD_SPECS, NUMERIC_FIELDS, TrainingConfig

REPO = Path(__file__).resolve().parents[1]


def test_every_field_has_a_label_in_every_language() -> None:
    for name in FIELD_NAMES:
        assert name in FIELD_SPECS, f"{name} has no FieldSpec"
        for language in LANGUAGES:
            assert FIELD_LABELS[language].get(name), f"{name} has no {language} label"


def test_every_field_has_a_trainer_flag_with_help() -> None:
    actions = {action.dest: action for action in build_parser()._actions}
    for name in FIELD_NAMES:
        assert name in actions, f"{name} has no flag in python -m training"
        assert actions[name].help


def test_every_flag_sets_its_field() -> None:
    args = build_parser().parse_args(
        [
            *("--data", "cats", "--model", "resnet18", "--num-classes", "3", "--epochs", "7"),
            *("--batch-size", "8", "--lr", "1e-4", "--image-size", "64", "--no-pretrained"),
            *("--task", "classification"),
        ]
    )
    config = load_config(args)
    assert config == TrainingConfig(
        dataset_path="cats",
        model="resnet18",
        num_classes=3,
        epochs=7,
        batch_size=8,
        learning_rate=1e-4,
        image_size=64,
        pretrained=False,
    )


def test_every_field_has_an_entry_in_claudes_schema() -> None:
    properties = OUTPUT_SCHEMA["properties"]["updates"]["properties"]
    assert list(properties) == list(FIELD_NAMES)
    assert properties["learning_rate"] == {"type": "number"} and properties["epochs"] == {"type": "integer"}
    assert properties["pretrained"] == {"type": "boolean"} and properties["num_classes"] == {
        "type": "integer"
    }


def test_numeric_fields_and_their_kinds_come_from_the_types() -> None:
    kinds = {name: kind.__name__ for name, kind in NUMERIC_FIELDS.items()}
    assert kinds == {
        "num_classes": "int",
        "epochs": "int",
        "batch_size": "int",
        "learning_rate": "float",
        "image_size": "int",
        "early_stopping_patience": "int",
        "gpus": "int",
        "score_threshold": "float",
    }


NEW_FIELD = """    weight_decay: Annotated[
        float,
        Field(ge=0.0, le=1.0),
        FieldSpec({"en": "weight decay", "ko": "가중치 감쇠"}, "AdamW weight decay"),
    ] = 0.05
"""
NEW_PATTERNS = """
_PATTERNS["weight_decay"] = [
    re.compile(
        r"(?:weight[\\s_-]*decay|가중치\\s*감쇠)\\s*(?:=|:|는|은|를|을)?\\s*"
        r"(\\d+(?:\\.\\d+)?(?:e-?\\d+)?)",
        re.I,
    )
]
"""
CHECK = """
import json, subprocess, sys
from bot.conversation.claude import OUTPUT_SCHEMA
from bot.conversation.parsing import ParseContext
from bot.conversation.rules import parse_message
from training.cli import build_parser, load_config
from training.config import NUMERIC_FIELDS

config = load_config(build_parser().parse_args(["--data", "cats", "--weight-decay", "0.01"]))
help = subprocess.run([sys.executable, "-m", "training", "--help"], capture_output=True, text=True).stdout
print(json.dumps({
    "flag": config.weight_decay,
    "help": help,
    "schema": OUTPUT_SCHEMA["properties"]["updates"]["properties"].get("weight_decay"),
    "numeric": NUMERIC_FIELDS.get("weight_decay").__name__,
    "bare": parse_message("0.2", ParseContext(asked_field="weight_decay", last_field=None)).updates,
}))
"""


def _copy_with_new_field(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    for package in ("bot", "training"):
        shutil.copytree(REPO / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    config = copy / "training" / "config.py"
    source = config.read_text(encoding="utf-8")
    anchor = "    task: Annotated["
    assert anchor in source, "the example inserts the new field before `task`"
    config.write_text(source.replace(anchor, NEW_FIELD + anchor), encoding="utf-8")
    with (copy / "bot" / "conversation" / "rules.py").open("a", encoding="utf-8") as rules:
        rules.write(NEW_PATTERNS)
    return copy


def _parse(copy: Path, *messages: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "parse", "--parser", "rules", *messages],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(copy)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_new_numeric_field_needs_only_its_declaration_and_its_patterns(tmp_path: Path) -> None:
    copy = _copy_with_new_field(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(copy)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    derived = json.loads(result.stdout)
    assert derived["flag"] == 0.01
    assert "--weight-decay" in derived["help"] and "AdamW weight decay (default 0.05)" in derived["help"]
    assert derived["schema"] == {"type": "number"}
    assert derived["numeric"] == "float" and derived["bare"] == {"weight_decay": 0.2}

    english = _parse(copy, "train resnet18 on ./cats for 5 epochs with weight decay 0.01")
    assert english["config"]["weight_decay"] == 0.01
    assert "weight decay: 0.01" in english["reply"]  # the summary, with the English label

    korean = _parse(copy, "./cats 데이터로 5 에폭 학습해줘", "가중치 감쇠는 5")
    assert "weight_decay" not in korean["config"]
    assert "가중치 감쇠" in korean["reply"] and "0.0~1.0" in korean["reply"]  # refused with its range
