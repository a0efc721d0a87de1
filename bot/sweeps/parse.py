"""Reading a sweep from a message, both languages: "lr 1e-3, 3e-4, 1e-4", "batch 16이랑 32 둘 다 해봐",
"resnet18 vs resnet50" (a grid); "a learning rate between 1e-4 and 1e-2 in 8 trials",
"학습률 1e-4~1e-2 사이에서 8번 찾아줘" (a search). None when the message asks for no sweep."""

from __future__ import annotations

import re
from typing import Any

from bot.sweeps.spec import SearchRange, SweepRefusal, SweepSpec, log_scale
from training.config import NUMERIC_FIELDS

_I = re.IGNORECASE
_NUMBER = r"\d+(?:\.\d+)?(?:e[-+]?\d+)?"
# the words that name a setting; the dataset is named so that varying it is refused, not ignored
_FIELD_WORDS: dict[str, str] = {
    "learning_rate": r"learning[\s_-]*rates?|lrs?\b|학습률|러닝\s*레이트",
    "batch_size": r"batch(?:[\s_-]*sizes?)?(?:es)?|배치(?:\s*(?:크기|사이즈))?",
    "image_size": r"image[\s_-]*sizes?|img[\s_-]*sizes?|resolutions?|이미지\s*(?:크기|사이즈)|해상도",
    "epochs": r"epochs?|에폭|에포크",
    "early_stopping_patience": r"patience|조기\s*종료",
    "model": r"models?|backbones?|모델",
    "dataset_path": r"datasets?|데이터셋|데이터\s*세트",
    "gpus": r"gpus?|GPU\s*수",
}
_JOIN = r"(?:\s*(?:,|/|\band\b|\bor\b|\bvs\.?|\bversus\b|이랑|랑|하고|와|과|및|또는|아니면)\s*)"
_VALUE = r"(?:" + _NUMBER + r"|[a-z][a-z0-9_.]*\d[a-z0-9_.]*)"
_LIST = re.compile(r"(?P<first>" + _VALUE + r")(?P<rest>(?:" + _JOIN + _VALUE + r")+)", _I)
_RANGE = re.compile(
    r"(?:(?:between|from)\s+)?(?P<low>" + _NUMBER + r")\s*(?:~|\.\.|to\b|-|에서|부터)\s*"
    r"(?P<high>" + _NUMBER + r")|between\s+(?P<blow>" + _NUMBER + r")\s+and\s+(?P<bhigh>" + _NUMBER + r")",
    _I,
)
# dataset names: words joined by a comma or a conjunction (a path's slashes join nothing)
_WORD_JOIN = r"\s*(?:,|\band\b|\bor\b|\bvs\.?|이랑|랑|하고|또는)\s*"
_WORD_LIST = re.compile(r"(?P<first>[^\s,]+?)(?:" + _WORD_JOIN + r"[^\s,]+?)+(?=[\s,]|$)", _I)
_BUDGET = re.compile(
    r"(?:in|with|over|within|try|using)?\s*(?P<n>\d{1,4})\s*(?:trials?|runs?|tries|attempts?|번|회|개\s*시도|시도)",
    _I,
)
_SEARCH_WORDS = re.compile(
    r"\b(?:find|search|tune|best|optimi[sz]e|sweep|look\s+for)\b|찾아|탐색|튜닝|최적|스윕", _I
)
_MODEL_VS = re.compile(r"(?P<a>[a-z][a-z0-9_.]*\d[a-z0-9_.]*)\s+(?:vs\.?|versus)\s+(?P<b>[a-z][\w.]*)", _I)


def _field_mentions(text: str) -> list[tuple[int, int, str]]:
    found = []
    for name, words in _FIELD_WORDS.items():
        for match in re.finditer(r"(?<![a-z])(?:" + words + r")", text, _I):
            found.append((match.start(), match.end(), name))
    return sorted(found)


def _segment(text: str, mentions: list[tuple[int, int, str]], index: int) -> str:
    """What follows a setting's name, up to the next setting's name."""
    if index + 1 == len(mentions):
        return text[mentions[index][1] :]
    # a number just before the next setting's name is that setting's ("image size 224, 10 epochs")
    return re.sub(r"\s*" + _NUMBER + r"\s*$", "", text[mentions[index][1] : mentions[index + 1][0]], flags=_I)


def _value(name: str, raw: str) -> Any:
    kind = NUMERIC_FIELDS.get(name)
    if kind is None:
        return raw
    number = float(raw)
    return int(number) if kind is int and number.is_integer() else number


def _budget(text: str) -> int | None:
    match = _BUDGET.search(text)
    return int(match.group("n")) if match else None


def parse_sweep(text: str) -> SweepSpec | None:
    """The sweep a message asks for, unchecked (spec.checked validates it); None when it asks for none.
    Raises SweepRefusal for a range with no number of trials."""
    mentions = _field_mentions(text)
    grid: dict[str, list[Any]] = {}
    ranges: dict[str, SearchRange] = {}
    for index, (_, _, name) in enumerate(mentions):
        segment = _segment(text, mentions, index)
        head = segment.lstrip(" :=은는을를의이가")
        span = _RANGE.match(head) or (_RANGE.search(head) if "사이" in head or "between" in head else None)
        if span and name in NUMERIC_FIELDS:
            low, high = span.group("low") or span.group("blow"), span.group("high") or span.group("bhigh")
            ranges[name] = SearchRange(low=float(low), high=float(high), log=log_scale(name))
            continue
        listed = (_WORD_LIST if name == "dataset_path" else _LIST).match(head)
        if listed:
            raws = re.split(_WORD_JOIN if name == "dataset_path" else _JOIN, listed.group(0), flags=_I)
            grid[name] = [_value(name, raw.strip()) for raw in raws if raw.strip()]
            if len(grid[name]) < 2:
                del grid[name]
    if not grid and not ranges:
        versus = _MODEL_VS.search(text)
        if versus:
            grid["model"] = [versus.group("a"), versus.group("b")]
    if not grid and not ranges:
        return None
    trials = _budget(text) if ranges else None
    if ranges and trials is None and _SEARCH_WORDS.search(text) is None:
        return None
    return SweepSpec(grid=grid, ranges=ranges, trials=trials)


def wants_sweep(text: str) -> bool:
    try:
        return parse_sweep(text) is not None
    except SweepRefusal:
        return True
