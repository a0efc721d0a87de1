"""The rule path's reading of sweeps on labelled messages, both languages: the exact sweep (grid values,
ranges and budget, objective) a person means, and no sweep where none is meant.

A case is {"id", "text", "sweep": null, or {"grid": {setting: [values]}, "ranges": {setting: [low,
high]}, "trials", "objective"}}, labelled from what the person means. Negative cases (sweep null) are
ordinary setups, questions that name several values ("is 1e-3 or 1e-4 better?", "resnet18이랑
resnet50 차이가 뭐야?": a person asking which to pick or what differs wants an answer, not runs),
commands and small talk. A question that asks the bot to do it ("can you try lr 1e-3 and 1e-4?") is a
sweep. Model names compare as the conversation takes them ("ResNet-50" is resnet50).

sweep_cases.jsonl is the set the parser was tuned on; sweep_heldout.jsonl was written after the tuning,
without looking at the parser's output on it, and measured once before two general fixes its misses
showed (Korean "이나" as "or"; comparatives such as "faster" in a question): it is no longer blind.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import pytest

from bot.conversation.model_names import normalize_model_name
from bot.conversation.parsing import ParseContext
from bot.conversation.rules import RuleParser
from bot.sweeps.spec import SweepSpec
from tests.conversation_sets import load

# (exact matches at least, false positives at most). The tuning set measured 79.3% exact (107 of 135)
# with 5 false positives before the tuning, 99.3% with none after. The held-out set, measured once after
# the tuning: 95.3% (61 of 64), one false positive ("is batch 64 or 128 faster on one gpu?", a question
# the advice words miss), two sweeps missed; the parser before the tuning read 78.1% of it, with 2 false
# positives. After the two fixes that measurement led to, 98.4% (63 of 64) with none; the thresholds
# stay at the blind measurement's.
SETS = {"sweep_cases.jsonl": (0.97, 0), "sweep_heldout.jsonl": (0.95, 1)}


class Score(NamedTuple):
    right: int
    false_positives: list[str]  # no sweep meant, one read
    false_negatives: list[str]  # a sweep meant, none read
    wrong: list[str]  # a sweep meant and read, but not the one meant


def read(text: str) -> SweepSpec | None:
    """The sweep the rule path reads from a first message of a thread."""
    parsed = RuleParser().parse(text, ParseContext(asked_field=None, last_field=None))
    return parsed.sweep if parsed.intent == "settings" else None


def _same_value(expected: Any, got: Any) -> bool:
    if isinstance(expected, str) or isinstance(got, str):
        return normalize_model_name(str(expected)) == normalize_model_name(str(got))
    return math.isclose(float(expected), float(got), rel_tol=1e-9)


def matches(expected: dict[str, Any], spec: SweepSpec) -> bool:
    grid, ranges = expected.get("grid", {}), expected.get("ranges", {})
    if set(grid) != set(spec.grid) or set(ranges) != set(spec.ranges):
        return False
    for name, values in grid.items():
        got = spec.grid[name]
        if len(values) != len(got) or not all(map(_same_value, values, got)):
            return False
    for name, (low, high) in ranges.items():
        if not (_same_value(low, spec.ranges[name].low) and _same_value(high, spec.ranges[name].high)):
            return False
    return expected.get("trials") == spec.trials and expected.get("objective") == spec.objective


def score(cases: list[dict[str, Any]]) -> Score:
    right, false_positives, false_negatives, wrong = 0, [], [], []
    for case in cases:
        spec, expected = read(case["text"]), case["sweep"]
        line = f"{case['id']}: {case['text']!r} expected {expected}, read {spec and spec.model_dump()}"
        if spec is None and expected is None:
            right += 1
        elif spec is None:
            false_negatives.append(line)
        elif expected is None:
            false_positives.append(line)
        elif matches(expected, spec):
            right += 1
        else:
            wrong.append(line)
    return Score(right, false_positives, false_negatives, wrong)


def _hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


@pytest.mark.parametrize("name", SETS)
def test_labelled_set_is_big_and_varied(name: str) -> None:
    cases = load(name)
    assert len({case["id"] for case in cases}) == len(cases)
    assert len(cases) >= (120 if name == "sweep_cases.jsonl" else 60)
    korean = sum(_hangul(case["text"]) for case in cases)
    assert 0.4 <= korean / len(cases) <= 0.6
    negatives = sum(case["sweep"] is None for case in cases)
    assert negatives >= 0.3 * len(cases)
    searches = sum(bool(case["sweep"] and case["sweep"].get("ranges")) for case in cases)
    assert searches >= 0.1 * len(cases)


@pytest.mark.parametrize(("name", "limits"), SETS.items())
def test_rule_path_reads_the_sweeps_meant(name: str, limits: tuple[float, int]) -> None:
    cases = load(name)
    found = score(cases)
    positives = sum(case["sweep"] is not None for case in cases)
    print(
        f"\nsweeps read by the rule path on {name}: {found.right}/{len(cases)} exact"
        f" = {found.right / len(cases):.1%}; false positives {len(found.false_positives)}"
        f" of {len(cases) - positives} negatives, false negatives {len(found.false_negatives)}"
        f" and wrong sweeps {len(found.wrong)} of {positives} sweeps"
    )
    misses = {"false positive": found.false_positives, "false negative": found.false_negatives}
    for kind, lines in {**misses, "wrong": found.wrong}.items():
        for line in lines:
            print(f"  {kind}: {line}")
    minimum, false_positives = limits
    assert found.right / len(cases) >= minimum
    assert len(found.false_positives) <= false_positives
