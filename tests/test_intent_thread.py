"""Intent from the message and the thread together: a command word opens many requests, but a message is a
command only when the whole of it is the command, and a message that also reads as settings is the
command only where the command can act (a finished run to predict with, a running one to stop)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.conversation.intents import COMMAND_WORDS, CommandMatch, command_stands
from bot.conversation.parsing import ParseContext, ThreadState
from bot.conversation.rules import parse_message

SETUP = ThreadState()
RUNNING = ThreadState(ready=True, active_run=True)
FINISHED = ThreadState(ready=True, finished_run=True, continuable_run=True)
STATES = {"setup": SETUP, "running": RUNNING, "finished": FINISHED}


def context(thread: ThreadState, asked: str | None = None, last: str | None = None) -> ParseContext:
    return ParseContext(asked_field=asked, last_field=last, thread=thread)


# every setting in them is kept, whatever the thread holds
REQUESTS: list[tuple[str, dict[str, Any]]] = [
    (
        "분류 모델 만들어줘. resnet18, 데이터는 ./birds, 20 에폭",
        {"model": "resnet18", "dataset_path": "./birds", "epochs": 20, "task": "classification"},
    ),
    (
        "classify defects into 4 types with efficientnet_b0, data in ./defects, 15 epochs",
        {
            "num_classes": 4,
            "model": "efficientnet_b0",
            "dataset_path": "./defects",
            "epochs": 15,
            "task": "classification",
        },
    ),
    ("예측 모델 만들어줘. 데이터는 ./birds, 10 에폭", {"dataset_path": "./birds", "epochs": 10}),
    (
        "predict the bird species: 9 classes, resnet50, data in ./birds, 30 epochs",
        {"num_classes": 9, "model": "resnet50", "dataset_path": "./birds", "epochs": 30},
    ),
    (
        "분류해줘 고양이 세 종류, resnet34, 데이터 cats3, 에폭 7",
        {
            "num_classes": 3,
            "model": "resnet34",
            "dataset_path": "cats3",
            "epochs": 7,
            "task": "classification",
        },
    ),
    ("예측 정확도를 높이고 싶어. 에폭을 50으로 늘려줘", {"epochs": 50}),
    ("stop at 10 epochs, batch 32", {"epochs": 10, "batch_size": 32}),
    (
        "start training resnet18 on ./pets for 9 epochs",
        {"model": "resnet18", "dataset_path": "./pets", "epochs": 9},
    ),
    ("학습 시작해줘, 데이터는 ./mnist, 에폭 3", {"dataset_path": "./mnist", "epochs": 3}),
    ("export the model after 12 epochs with resnet18", {"epochs": 12, "model": "resnet18"}),
    (
        "detect scratches with resnet18, data ./scratches, 6 epochs",
        {"model": "resnet18", "dataset_path": "./scratches", "epochs": 6, "task": "detection"},
    ),
    ("검출 모델로 ./welds 학습, 8 에폭", {"dataset_path": "./welds", "epochs": 8}),  # "검출": either task
    (
        "탐지해줘 ./parts, 두 종류, 5 에폭",
        {"dataset_path": "./parts", "num_classes": 2, "epochs": 5, "task": "detection"},
    ),
]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize(("text", "expected"), REQUESTS)
def test_a_request_opening_with_a_command_word_keeps_all_its_settings(
    text: str, expected: dict[str, Any], state: str
) -> None:
    result = parse_message(text, context(STATES[state]))
    assert (result.intent, result.command, result.updates) == ("settings", None, expected)


SETTINGS_TAIL = "resnet18, data in ./birds, 12 epochs"


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("word", sorted({word for words in COMMAND_WORDS.values() for word in words}))
def test_no_command_word_turns_settings_into_a_command(word: str, state: str) -> None:
    """Every command word (those a later command adds too) in front of settings leaves them settings."""
    for text in (f"{word} {SETTINGS_TAIL}", f"{word}: {SETTINGS_TAIL}", f"{word}. 데이터는 ./birds, 12 에폭"):
        result = parse_message(text, context(STATES[state]))
        if word.startswith("what"):  # "what's running resnet18, …" asks
            assert result.intent == "question", text
            continue
        assert result.intent == "settings", text
        assert {"dataset_path": "./birds", "epochs": 12}.items() <= result.updates.items(), text


@pytest.mark.parametrize(
    ("text", "updates"),
    [
        ("learning rate should be 0.0005", {"learning_rate": 0.0005}),
        ("the batch size needs to be 48", {"batch_size": 48}),
        ("epochs must be 30", {"epochs": 30}),
        ("image size has to be 192", {"image_size": 192}),
        ("set the learning rate to 3e-4", {"learning_rate": 0.0003}),
        ("lr will be 0.01", {"learning_rate": 0.01}),
        ("학습률을 0.0005로 해줘", {"learning_rate": 0.0005}),
        ("배치는 48으로", {"batch_size": 48}),
        ("에폭은 30으로 해 주세요", {"epochs": 30}),
        ("학습률은 1e-4가 되어야 해", {"learning_rate": 0.0001}),
        ("이미지는 128 픽셀이면 돼", {"image_size": 128}),
    ],
)
def test_what_a_setting_should_be_is_set(text: str, updates: dict[str, Any]) -> None:
    result = parse_message(text, context(SETUP, last="epochs"))
    assert (result.intent, result.updates) == ("settings", updates)


@pytest.mark.parametrize(
    ("text", "classes"),
    [
        ("a model that tells apart 10 digit classes", 10),
        ("tell apart seven animals", 7),
        ("distinguish between 3 kinds of leaves", 3),
        ("an 8-way classifier", 8),
        ("a twelve-way bird classifier", 12),
        ("a three way classifier", 3),
        ("make it a 6-class problem", 6),
        ("a binary classifier", 2),
        ("sort the photos into five groups", 5),
        ("다섯 가지로 나눠줘", 5),
        ("여섯 종으로 분류", 6),
        ("4개 카테고리로 나눠 주세요", 4),
        ("3개로 분류하는 모델", 3),
        ("두 클래스", 2),
        ("한 가지", 1),
        ("네 종류", 4),
        ("일곱 개 그룹으로 나눠", 7),
        ("여덟 가지", 8),
        ("아홉 종류", 9),
        ("열 가지 과일", 10),
        ("열한 개 카테고리", 11),
        ("열두 종류", 12),
        ("스무 가지 새", 20),
        ("스물한 개 클래스", 21),
        ("이진 분류 모델", 2),
    ],
)
def test_class_counts_in_their_many_phrasings(text: str, classes: int) -> None:
    assert parse_message(text, context(SETUP)).updates.get("num_classes") == classes


@pytest.mark.parametrize(
    "text",
    [
        "is a learning rate of 0.0005 too small?",
        "should the batch size be 48?",
        "what happens with 100 epochs?",
        "would 10 classes be too many for resnet18?",
        "학습률 0.0005는 너무 작아?",
        "10 에폭이면 충분할까?",
        "세 종류로 나누면 괜찮을까?",
        "배치 64면 메모리 괜찮을까?",
    ],
)
def test_questions_that_mention_numbers_change_nothing(text: str) -> None:
    for thread in STATES.values():
        result = parse_message(text, context(thread, last="epochs"))
        assert (result.intent, result.updates) == ("question", {}), text


@pytest.mark.parametrize(
    ("command", "settings", "thread", "stands"),
    [
        (CommandMatch("predict"), set(), SETUP, True),  # only the command: the front end says why not
        (CommandMatch("continue", epochs=3), {"epochs"}, SETUP, True),  # its own argument
        (CommandMatch("predict"), {"dataset_path"}, SETUP, True),  # "predict ./photos/cat.jpg"
        # a command word that a setting shares (a later task word, "detect"): the thread decides
        (CommandMatch("predict"), {"task"}, SETUP, False),
        (CommandMatch("predict"), {"task"}, FINISHED, True),
        (CommandMatch("predict", run_id=3), {"task"}, SETUP, True),  # it names its run
        (CommandMatch("stop"), {"epochs"}, FINISHED, False),
        (CommandMatch("stop"), {"epochs"}, RUNNING, True),
        (CommandMatch("continue", epochs=3), {"epochs", "batch_size"}, RUNNING, False),
        (CommandMatch("continue", epochs=3), {"epochs", "batch_size"}, FINISHED, True),
        (CommandMatch("export_onnx"), {"model"}, SETUP, False),
        (CommandMatch("start"), {"epochs"}, SETUP, False),
        (CommandMatch("start"), {"epochs"}, RUNNING, True),  # a complete draft
        (CommandMatch("start", whole=False), {"epochs"}, RUNNING, False),  # a time inside settings
        (CommandMatch("help"), {"epochs"}, SETUP, True),
    ],
)
def test_a_command_that_also_reads_as_settings_stands_only_where_it_can_act(
    command: CommandMatch, settings: set[str], thread: ThreadState, stands: bool
) -> None:
    assert command_stands(command, settings, thread) is stands


@pytest.mark.parametrize(
    ("text", "command", "run_id"),
    [
        ("predict", "predict", None),
        ("예측해줘", "predict", None),
        ("export onnx", "export_onnx", None),
        ("onnx로 내보내줘", "export_onnx", None),
        ("10 more epochs", "continue", None),
        ("stop", "stop", None),
        ("중지", "stop", None),
        ("stop 7", "stop", 7),
        ("predict 3 cat.jpg", "predict", 3),
        ("another 3 epochs on run 4", "continue", 4),
        ("another 3 epochs", "continue", None),
        ("추가로 7 에폭 학습해줘", "continue", None),
        ("predict ./photos/cat.jpg", "predict", None),
    ],
)
def test_a_message_that_is_only_the_command_stays_it_anywhere(
    text: str, command: str, run_id: int | None
) -> None:
    """Named by its run, it acts anywhere; else the front end says there is nothing here to act on."""
    for thread in STATES.values():
        result = parse_message(text, context(thread))
        assert (result.intent, result.command, result.command_args.get("run_id")) == (
            "command",
            command,
            run_id,
        )
