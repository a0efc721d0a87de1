"""Bad conversation input, by family: numbers are read as typed (signs, decimals, exponents, boundaries)
and refused with their own field's range, never cut or moved into another field; numbers with no setting
are asked about; messages are bounded in length and parse in linear time."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from benchmarks.parse_latency import adversarial_messages
from bot.conversation import ConversationService, Turn
from bot.conversation.facts import OfflineFacts
from bot.conversation.parsing import ParseContext, ParseResult
from bot.conversation.rules import RuleParser, parse_message
from bot.conversation.service import MAX_MESSAGE_CHARS
from bot.settings import Settings
from bot.storage import Database
from training.config import BATCH_SIZE_RANGE, EPOCHS_RANGE, IMAGE_SIZE_RANGE

RANGES = {
    "epochs": (str(EPOCHS_RANGE[0]), str(EPOCHS_RANGE[1])),
    "batch_size": (str(BATCH_SIZE_RANGE[0]), str(BATCH_SIZE_RANGE[1])),
    "image_size": (str(IMAGE_SIZE_RANGE[0]), str(IMAGE_SIZE_RANGE[1])),
    "learning_rate": ("0 (exclusive)", "1.0"),
}
PHRASES = {
    "epochs": ["epochs {v}", "{v} epochs", "에폭 {v}", "{v}번 돌려줘"],
    "batch_size": ["batch size {v}", "batch {v}", "배치 크기 {v}로 해줘", "배치 {v}"],
    "image_size": ["image size {v}", "{v}px images", "이미지 크기 {v}", "해상도 {v}"],
    "learning_rate": ["learning rate {v}", "lr {v}", "학습률 {v}로", "lr={v}"],
}
BAD_VALUES = {
    "epochs": ["-1", "-8", "0", "1e9", "1e400", "100000", "2.5", "-0.5", "\u22123"],
    "batch_size": ["-8", "0", "1e400", "100000", "10000", "7.5", "+0"],
    "image_size": ["-224", "7", "16", "100000", "1e9", "224.5"],
    "learning_rate": ["-0.01", "0", "5", "1e9", "-1e-4", "1e400"],
}
CASES = [
    (field, phrase.format(v=value), value)
    for field, phrases in PHRASES.items()
    for phrase, value in itertools.product(phrases, BAD_VALUES[field])
]


class Spy(RuleParser):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def parse(self, text: str, context: ParseContext) -> ParseResult:
        self.seen.append(text)
        return super().parse(text, context)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ConversationService:
    """One service for the module (each test plays its own thread), with offline facts."""
    db = Database("sqlite://")
    db.create_all()
    root = tmp_path_factory.mktemp("data")
    settings = Settings(data_root=root, _env_file=None)
    return ConversationService(db, settings, "rules", dataset_must_exist=False, facts=OfflineFacts(root))


def say(service: ConversationService, *texts: str, thread: str = "1") -> Turn:
    turn = None
    for text in texts:
        turn = service.handle_message(team_id="T", channel_id="C", thread_ts=thread, user_id="U", text=text)
    assert turn is not None
    return turn


@pytest.mark.parametrize(("field", "text", "value"), CASES)
def test_bad_numbers_are_refused_with_their_own_fields_range(
    service: ConversationService, field: str, text: str, value: str
) -> None:
    before = say(service, "train on cats, 10 epochs, batch 32, lr 0.001, image size 224", thread=text)
    turn = say(service, text, thread=text)
    assert turn.draft == before.draft, "a bad value changed the draft"
    low, high = RANGES[field]
    english = f"between {low} and {high}" in turn.reply
    korean = f"{low}~{high}" in turn.reply
    assert english or korean, turn.reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e2 epochs", {"epochs": 100}),  # an exponent read as typed, not as 1 or 2
        ("epochs 0020", {"epochs": 20}),
        ("batch 16.0", {"batch_size": 16}),
        ("lr .0005", {"learning_rate": 0.0005}),
        ("learning rate 3E-4", {"learning_rate": 0.0003}),
        ("+12 epochs", {"epochs": 12}),
    ],
)
def test_good_numbers_in_unusual_forms_are_read_as_typed(text: str, expected: dict[str, Any]) -> None:
    assert parse_message(text, ParseContext(None, None)).updates == expected


@pytest.mark.parametrize(
    ("text", "field", "raw"),
    [
        ("1e9 epochs", "epochs", 1_000_000_000),
        ("image size 100000", "image_size", 100000),
        ("batch 1e400", "batch_size", "1e400"),
        ("배치 크기 -8로 해줘", "batch_size", -8),
        ("learning rate -0.01", "learning_rate", -0.01),
        ("epochs 12345678901234567890", "epochs", 12345678901234567890),
    ],
)
def test_numbers_are_never_cut_to_fit(text: str, field: str, raw: Any) -> None:
    assert parse_message(text, ParseContext("epochs", "epochs")).updates == {field: raw}


@pytest.mark.parametrize(
    "text", ["seed 42", "workers 4", "dropout 0.2", "weight decay 0.05", "momentum 0.9", "시드 42로"]
)
@pytest.mark.parametrize("asked", ["epochs", None])
def test_a_number_for_a_setting_the_parser_does_not_know_is_asked_about(
    service: ConversationService, text: str, asked: str | None
) -> None:
    setup = ["train on cats"] if asked else ["train on cats", "10 epochs", "actually 12"]
    before = say(service, *setup, thread=text + str(asked))
    turn = say(service, text, thread=text + str(asked))
    assert turn.draft == before.draft
    assert "not sure which setting" in turn.reply or "어떤 설정인지 모르겠어서" in turn.reply


@pytest.mark.parametrize("text", ["-1", "0", "1e9", "2.5"])
def test_a_bad_bare_answer_to_the_epochs_question_is_refused_with_the_epochs_range(
    service: ConversationService, text: str
) -> None:
    turn = say(service, "train on cats", text, thread=text)
    assert "epochs" not in turn.draft and "between 1 and 1000" in turn.reply


def test_a_message_over_the_length_cap_is_refused_without_parsing(db: Database, tmp_path: Path) -> None:
    service = ConversationService(
        db, Settings(data_root=tmp_path, _env_file=None), "rules", dataset_must_exist=False
    )
    spy = Spy()
    service._parser = spy
    before = say(service, "train on cats, 10 epochs")
    turn = say(service, "batch 16 " + "x" * MAX_MESSAGE_CHARS)
    assert turn.draft == before.draft and f"at most {MAX_MESSAGE_CHARS}" in turn.reply
    assert spy.seen == ["train on cats, 10 epochs"]
    korean = say(service, "배치 16 " + "가" * MAX_MESSAGE_CHARS)
    assert "메시지가 너무 길어요" in korean.reply
    session = service.get_session("T", "C", "1")
    assert session is not None and all(
        len(m["text"]) <= MAX_MESSAGE_CHARS for m in session.messages if m["role"] == "user"
    )


ADVERSARIAL = adversarial_messages(MAX_MESSAGE_CHARS)


@pytest.mark.parametrize("text", ADVERSARIAL, ids=lambda text: f"{text[:6]!r}x{len(text)}")
def test_adversarial_messages_at_the_cap_parse_and_change_nothing_wild(
    service: ConversationService, text: str
) -> None:
    """Each parses (the per-message time is measured in benchmarks/parse_latency.py) and yields a reply."""
    turn = say(service, text, thread=text[:20])
    assert turn.reply
    assert all(len(line) < 2000 for line in turn.reply.splitlines())
