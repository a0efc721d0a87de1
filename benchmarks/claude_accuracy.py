"""Live accuracy of the Claude parser on the labelled sets, next to the rule parser's (needs a key).

    ANTHROPIC_API_KEY=... .venv/bin/python benchmarks/claude_accuracy.py [--limit N] [--model ID]

Plays every case of tests/data/conversation_cases.jsonl (fields) and tests/data/conversation_intents.jsonl
(intents, question topics, commands) through ConversationService with the Claude parser, then with the
rules, and prints both side by side. A turn Claude could not answer (it fell back to the rules) is
counted and reported. Without ANTHROPIC_API_KEY it says so and exits 2: nothing here is measured offline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.conversation import ConversationService
from bot.settings import Settings
from bot.storage import Database
from tests.test_intent_accuracy import intent_matches, load_cases
from tests.test_rule_parser_accuracy import same

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def load(name: str) -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def play(service: ConversationService, case: dict[str, Any]) -> Any:
    turn = None
    for text in case["messages"]:
        turn = service.handle_message(
            team_id="B", channel_id="B", thread_ts=case["id"], user_id="U", text=text
        )
    return turn


def score(choice: str, settings: Settings, limit: int | None) -> dict[str, Any]:
    db = Database("sqlite://")
    db.create_all()
    service = ConversationService(db, settings, choice, dataset_must_exist=False)
    fields_right = fields_total = intents_right = fallbacks = 0
    field_cases = load("conversation_cases.jsonl")[:limit]
    intent_cases = load_cases()[:limit]
    for case in field_cases:
        turn = play(service, case)
        fallbacks += bool(turn.notices)
        expected = case["expected"]
        for name in set(expected) | set(turn.draft):
            fields_total += 1
            fields_right += name in expected and name in turn.draft and same(expected[name], turn.draft[name])
    for case in intent_cases:
        turn = play(service, case)
        fallbacks += bool(turn.notices)
        intents_right += intent_matches(case, turn) and all(
            same(v, turn.draft.get(k)) for k, v in case["expected"].items()
        )
    return {
        "fields": (fields_right, fields_total),
        "intents": (intents_right, len(intent_cases)),
        "fallbacks": fallbacks,
        "cases": len(field_cases) + len(intent_cases),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N cases of each set")
    parser.add_argument("--model", default=None, help="ANTHROPIC_MODEL to measure")
    args = parser.parse_args()
    if not os.environ.get("ANTHROPIC_API_KEY"):
        print("ANTHROPIC_API_KEY is not set: live Claude accuracy is not measured.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        overrides = {"anthropic_model": args.model} if args.model else {}
        settings = Settings(data_root=Path(folder), **overrides)
        results = {choice: score(choice, settings, args.limit) for choice in ("claude", "rules")}
    for choice, result in results.items():
        (fr, ft), (ir, it) = result["fields"], result["intents"]
        print(
            f"{choice:6}: fields {fr}/{ft} = {fr / max(ft, 1):.1%}, intents {ir}/{it} = {ir / max(it, 1):.1%}"
            + (
                f", fell back to the rules on {result['fallbacks']} of {result['cases']} cases"
                if choice == "claude"
                else ""
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
