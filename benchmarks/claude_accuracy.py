"""Live accuracy of the Claude parser on the labelled sets, next to the rule parser's (needs a key).

    ANTHROPIC_API_KEY=... .venv/bin/python benchmarks/claude_accuracy.py [--limit N] [--model ID]

Plays every case of tests/data/conversation_cases.jsonl and the held-out conversation_heldout_*.jsonl
(fields) and tests/data/conversation_intents.jsonl (intents, question topics, commands), each with the
thread's state its case gives, through ConversationService with the Claude parser, then with the
rules, and prints both side by side. A turn Claude could not answer (it fell back to the rules) is
counted and reported. Without ANTHROPIC_API_KEY it says so and exits 2: nothing here is measured offline.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.conversation import ConversationService
from bot.settings import Settings
from bot.storage import Database
from tests.conversation_sets import load, play, same
from tests.test_intent_accuracy import intent_matches

# the tuned set, then the held-out ones (written before and after the intent fix of issue 19)
FIELD_SETS = (
    "conversation_cases.jsonl",
    "conversation_heldout_before.jsonl",
    "conversation_heldout_after.jsonl",
)


def score(choice: str, settings: Settings, limit: int | None) -> dict[str, Any]:
    db = Database("sqlite://")
    db.create_all()
    service = ConversationService(db, settings, choice, dataset_must_exist=False)
    fields_right = fields_total = intents_right = fallbacks = 0
    field_cases = [case for name in FIELD_SETS for case in load(name)[:limit]]
    intent_cases = load("conversation_intents.jsonl")[:limit]
    for case in field_cases:
        turn, _before = play(service, db, case, team="B")
        fallbacks += bool(turn.notices)
        expected = case["expected"]
        for name in set(expected) | set(turn.draft):
            fields_total += 1
            fields_right += name in expected and name in turn.draft and same(expected[name], turn.draft[name])
    for case in intent_cases:
        turn, _before = play(service, db, case, team="B")
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
