"""The rule parser on the labelled conversation set: at least 95% of fields right (spurious fields count)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.conversation.service import ConversationService
from bot.settings import Settings
from bot.storage import Database
from tests.conversation_support import same

CASES = Path(__file__).parent / "data" / "conversation_cases.jsonl"


def load_cases() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(tmp_path: Path) -> tuple[int, int, list[str]]:
    db = Database("sqlite://")
    db.create_all()
    service = ConversationService(db, Settings(data_root=tmp_path), "rules", dataset_must_exist=False)
    right, total, errors = 0, 0, []
    for case in load_cases():
        for text in case["messages"]:
            turn = service.handle_message(
                team_id="T", channel_id="C", thread_ts=case["id"], user_id="U", text=text
            )
        expected = case["expected"]
        for name in sorted(set(expected) | set(turn.draft)):
            total += 1
            if name in expected and name in turn.draft and same(expected[name], turn.draft[name]):
                right += 1
            else:
                errors.append(
                    f"{case['id']}: {name} expected {expected.get(name)!r}, got {turn.draft.get(name)!r}"
                )
    return right, total, errors


def test_labelled_set_is_big_and_varied() -> None:
    cases = load_cases()
    assert len(cases) >= 150
    assert len({case["id"] for case in cases}) == len(cases)
    hangul = sum(
        any("\uac00" <= ch <= "\ud7a3" for text in case["messages"] for ch in text) for case in cases
    )
    assert hangul >= 50 and len(cases) - hangul >= 50
    assert sum(len(case["messages"]) > 1 for case in cases) >= 100


def test_rule_parser_gets_at_least_95_percent_of_fields_right(tmp_path: Path) -> None:
    right, total, errors = score(tmp_path)
    accuracy = right / total
    print(f"\nrule parser: {right}/{total} fields right = {accuracy:.1%} on {len(load_cases())} cases")
    for line in errors:
        print("  miss:", line)
    assert accuracy >= 0.95
