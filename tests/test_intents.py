"""The rule parser's intents: questions change nothing, requests phrased as questions do, commands and small
talk are recognised, in Korean and English."""

from __future__ import annotations

import pytest

from bot.conversation.parsing import ParseContext, ThreadState
from bot.conversation.rules import parse_message

IN_A_THREAD = ParseContext(asked_field=None, last_field="epochs", draft={"epochs": 2})
# the thread of a finished run: its model can predict, be exported and be trained more
FINISHED = ThreadState(finished_run=True, continuable_run=True)
IN_A_FINISHED_THREAD = ParseContext(
    asked_field=None, last_field="epochs", draft={"epochs": 2}, thread=FINISHED
)
ASKED_EPOCHS = ParseContext(asked_field="epochs", last_field=None)


@pytest.mark.parametrize(
    ("text", "topic", "field", "value"),
    [
        ("which model is best for 400 images?", "model", None, 400),
        ("이미지 400장이면 어떤 모델이 좋아?", "model", None, 400),
        ("what model should I use", "model", None, None),
        ("what does batch size 128 mean?", "field", "batch_size", 128),
        ("배치 크기가 뭐야?", "field", "batch_size", None),
        ("what's a learning rate?", "field", "learning_rate", None),
        ("학습률을 높이면 어떻게 돼?", "field", "learning_rate", None),
        ("what happens if I make the image size bigger?", "field", "image_size", None),
        ("is 50 epochs too many?", "epochs", "epochs", 50),
        ("에폭은 몇 번이 좋아?", "epochs", "epochs", None),
        ("how many epochs should I use?", "epochs", "epochs", None),
        ("처음부터 학습하는 게 나아?", "pretrained", None, False),
        ("should I use pretrained weights?", "pretrained", None, True),
        ("how long will it take?", "duration", None, None),
        ("얼마나 걸려?", "duration", None, None),
        ("학습 시간이 얼마나 걸릴까요", "duration", None, None),
        ("which GPUs do you have?", "gpus", None, None),
        ("GPU 뭐 있어?", "gpus", None, None),
        ("what datasets are there?", "datasets", None, None),
        ("데이터셋 뭐 있어?", "datasets", None, None),
        ("what are the current settings?", "settings", None, None),
        ("지금 설정 알려줘", "settings", None, None),
        ("what can you do?", "help", None, None),
        ("어떻게 사용해?", "help", None, None),
        ("what's the weather like tomorrow?", "unknown", None, None),
    ],
)
def test_questions_change_nothing_and_say_what_they_ask(
    text: str, topic: str, field: str | None, value: object
) -> None:
    for context in (IN_A_THREAD, ASKED_EPOCHS):
        result = parse_message(text, context)
        assert result.intent == "question", text
        assert result.updates == {}
        assert result.question is not None
        assert (result.question.topic, result.question.field, result.question.value) == (topic, field, value)


@pytest.mark.parametrize(
    ("text", "updates"),
    [
        ("can you make it 20 epochs?", {"epochs": 20}),
        ("20 에폭으로 해줄래?", {"epochs": 20}),
        ("could you set batch size to 16?", {"batch_size": 16}),
        ("배치 64로 바꿔줄 수 있어?", {"batch_size": 64}),
        ("would you change the learning rate to 1e-4?", {"learning_rate": 0.0001}),
        ("이미지 크기 256으로 해 주실 수 있나요?", {"image_size": 256}),
        ("how about resnet18?", {"model": "resnet18"}),
        ("can we train from scratch?", {"pretrained": False}),
        ("한 40번쯤?", {"epochs": 40}),  # a hedged answer to the bot's question
        ("30 epochs?", {"epochs": 30}),
    ],
)
def test_requests_phrased_as_questions_are_settings(text: str, updates: dict[str, object]) -> None:
    result = parse_message(text, ASKED_EPOCHS)
    assert result.intent == "settings"
    assert result.updates == updates


@pytest.mark.parametrize(
    ("text", "command", "run_id"),
    [
        ("help", "help", None),
        ("도움말", "help", None),
        ("status", "status", None),
        ("상태", "status", None),
        ("list", "list", None),
        ("목록 보여줘", "list", None),
        ("stop", "stop", None),
        ("stop 7", "stop", 7),
        ("stop run #12", "stop", 12),
        ("중지", "stop", None),
        ("3번 중지해줘", "stop", 3),
        ("5번 학습 재개", "resume", 5),
        ("resume 3", "resume", 3),
        ("재개", "resume", None),
        ("start", "start", None),
        ("시작", "start", None),
        ("start at 02:00", "start", None),
        ("새벽 2시에 시작", "start", None),
        ("<@U123> help", "help", None),
        ("/train status", "status", None),
    ],
)
def test_commands(text: str, command: str, run_id: int | None) -> None:
    result = parse_message(text, IN_A_THREAD)
    assert (result.intent, result.command, result.command_args.get("run_id")) == ("command", command, run_id)
    assert result.updates == {}


@pytest.mark.parametrize(
    ("text", "epochs", "run_id"),
    [
        ("10 more epochs", 10, None),
        ("train 5 more epochs", 5, None),
        ("can you train 5 more epochs?", 5, None),
        ("another 3 epochs please", 3, None),
        ("continue training for 4 more epochs", 4, None),
        ("train for 10 more epochs on run 4", 10, 4),
        ("10 epochs more", 10, None),
        ("10 에폭 더", 10, None),
        ("5 에폭 더 학습해줘", 5, None),
        ("10번 더 돌려줘", 10, None),
        ("추가로 7 에폭 학습해줘", 7, None),
        ("이어서 3 에폭 더 학습시켜줘", 3, None),
    ],
)
def test_more_epochs_is_the_continue_command(text: str, epochs: int, run_id: int | None) -> None:
    result = parse_message(text, IN_A_FINISHED_THREAD)
    assert (result.intent, result.command) == ("command", "continue") and result.updates == {}
    assert (result.command_args["epochs"], result.command_args.get("run_id")) == (epochs, run_id)


@pytest.mark.parametrize(
    ("text", "run_id"),
    [
        ("export onnx", None),
        ("export it to ONNX", None),
        ("could you export the model as onnx?", None),
        ("give me the onnx file", None),
        ("export onnx for run 3", 3),
        ("onnx로 내보내줘", None),
        ("ONNX로 변환해 줘", None),
        ("onnx 파일로 내보내 주세요", None),
    ],
)
def test_export_onnx_phrases(text: str, run_id: int | None) -> None:
    result = parse_message(text, IN_A_FINISHED_THREAD)
    assert (result.intent, result.command, result.command_args.get("run_id")) == (
        "command",
        "export_onnx",
        run_id,
    )


@pytest.mark.parametrize("text", ["predict", "예측해줘", "predict 3 cat.jpg dog.png", "classify"])
def test_predict_keeps_what_follows_for_the_front_end(text: str) -> None:
    result = parse_message(text, IN_A_FINISHED_THREAD)
    assert (result.intent, result.command, result.command_args["text"]) == ("command", "predict", text)


@pytest.mark.parametrize("text", ["10 epochs", "epochs 10", "make it 10 epochs", "훈련 10 에폭", "more data"])
def test_setting_the_epochs_is_no_continue(text: str) -> None:
    assert parse_message(text, IN_A_THREAD).command != "continue"


@pytest.mark.parametrize("text", ["help me train resnet50 on cats", "start training resnet18 on cats"])
def test_a_command_word_inside_a_request_is_no_command(text: str) -> None:
    assert parse_message(text, IN_A_THREAD).intent == "settings"


@pytest.mark.parametrize(
    "text", ["hi", "hello!", "thanks", "thank you!", "안녕하세요", "고마워요", "ok", "👍"]
)
def test_small_talk(text: str) -> None:
    result = parse_message(text, ASKED_EPOCHS)
    assert result.intent == "smalltalk" and result.updates == {}


@pytest.mark.parametrize("text", ["cancel", "취소", "never mind"])
def test_cancel(text: str) -> None:
    assert parse_message(text, IN_A_THREAD).intent == "cancel"
