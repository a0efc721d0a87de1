"""The rule parser on the labelled intent set (tests/data/conversation_intents.jsonl): questions, requests
phrased as questions, commands and small talk, Korean and English.

Done when: no labelled question changes any setting, every labelled request phrased as a question does,
every question gets an answer that speaks to it, and at least 95% of intents are right.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.conversation.facts import Gpu, QueueState, Throughput, Weights
from bot.conversation.service import ConversationService
from bot.settings import Settings
from bot.storage import Database
from tests.conversation_sets import load, play, same

CASES = "conversation_intents.jsonl"

# what an answer to each topic must speak of (either language)
ANSWER_MARKS = {
    "help": r"What I can do|할 수 있는 일",
    "settings": r"Settings so far|지금까지의 설정",
    "model": r"resnet|convnext|efficientnet",
    "epochs": r"epochs|에폭",
    "duration": r"estimate|예측|About|약 ",
    "field": r"\*(?:Batch size|Learning rate|Image size|Epochs|Classes|Model"
    r"|배치 크기|학습률|이미지 크기|에폭|클래스|모델)\*",
    "gpus": r"GPU",
    "datasets": r"DATA_ROOT",
    "pretrained": r"[Pp]retrained|사전학습",
    "detection_metric": r"mAP@\.50",
    "detection_model": r"fasterrcnn_",
    "unknown": r"can't answer that yet|아직 답할 수 없어요",
}


class LabFacts:
    def datasets(self) -> list[str]:
        return ["cats", "dogs"]

    def gpus(self) -> list[Gpu]:
        return []

    def queue(self) -> QueueState:
        return QueueState(0, 0, 1)

    def weights(self, model: str) -> Weights:
        return Weights(model, "unavailable", f"timm/{model}")

    def throughput(self, model: str, image_size: int) -> Throughput | None:
        return None


def intent_matches(case: dict[str, Any], turn: Any) -> bool:
    """The turn has the case's intent, with its question topic, or its command and the run it names."""
    if turn.intent != case["intent"]:
        return False
    if case["intent"] == "question":
        return bool(turn.question_topic == case["topic"])
    if case["intent"] == "command":
        return bool(turn.command == case["command"] and turn.command_args.get("run_id") == case.get("run_id"))
    return True


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict[str, Any], Any, dict[str, Any]]]:
    """(case, last turn, draft before the last message) for every case, played once for all tests; a case's
    "thread" (a finished, stopped or running run) is in the database before its last message."""
    db = Database("sqlite://")
    db.create_all()
    root = tmp_path_factory.mktemp("data")
    service = ConversationService(
        db, Settings(data_root=root, _env_file=None), "rules", dataset_must_exist=False, facts=LabFacts()
    )
    return [(case, *play(service, db, case)) for case in load(CASES)]


def test_the_set_is_big_and_varied() -> None:
    cases = load(CASES)
    assert len(cases) >= 80 and len({case["id"] for case in cases}) == len(cases)
    kinds = {case["intent"] for case in cases}
    assert kinds == {"question", "settings", "command", "smalltalk"}
    korean = sum(bool(re.search("[가-힣]", case["messages"][-1])) for case in cases)
    assert korean >= 30 and len(cases) - korean >= 30


def test_intent_accuracy_is_at_least_95_percent(
    outcomes: list[tuple[dict[str, Any], Any, dict[str, Any]]],
) -> None:
    right, misses = 0, []
    for case, turn, _before in outcomes:
        ok = intent_matches(case, turn)
        right += ok
        if not ok:
            misses.append(
                f"{case['id']} {case['messages'][-1]!r}: {turn.intent}/{turn.question_topic or turn.command}"
            )
    accuracy = right / len(outcomes)
    print(f"\nrule intents: {right}/{len(outcomes)} right = {accuracy:.1%}")
    for miss in misses:
        print("  miss:", miss)
    assert accuracy >= 0.95


def test_no_question_changes_a_setting_and_every_request_does(
    outcomes: list[tuple[dict[str, Any], Any, dict[str, Any]]],
) -> None:
    for case, turn, before in outcomes:
        expected = case["expected"]
        assert set(turn.draft) == set(expected), case["id"]
        assert all(same(expected[name], turn.draft[name]) for name in expected), case["id"]
        if case["intent"] in ("question", "command", "smalltalk"):
            assert turn.draft == before, case["id"]
        else:
            assert turn.draft != before, case["id"]


def test_every_question_gets_an_answer_that_speaks_to_it(
    outcomes: list[tuple[dict[str, Any], Any, dict[str, Any]]],
) -> None:
    for case, turn, _before in outcomes:
        if case["intent"] == "question":
            assert re.search(ANSWER_MARKS[case["topic"]], turn.reply), (case["id"], turn.reply)
            if case["topic"] != "unknown":
                assert not re.search(ANSWER_MARKS["unknown"], turn.reply), case["id"]
