"""Reading a sweep from a message, both languages: "lr 1e-3, 3e-4, 1e-4", "batch 16이랑 32 둘 다 해봐",
"resnet18 vs resnet50" (a grid); "a learning rate between 1e-4 and 1e-2 in 8 trials",
"학습률 1e-4~1e-2 사이에서 8번 찾아줘" (a search), with the objective when the message names one ("keep the
one with the lowest val loss", "검증 손실이 가장 낮은 걸로", "optimise for mAP@[.5:.95]"). None when the
message asks for no sweep; what else the message says (the setup: "train resnet18 on cats, 3 epochs")
is left for the conversation."""

from __future__ import annotations

import re
from typing import Any

from bot.sweeps.spec import SearchRange, SweepSpec, log_scale
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
# the objective a person names, in the order tried (mAP@[.5:.95] before mAP@.5, a bare mAP last)
_LOW = r"(?:lowest|smallest|least|minimi[sz]e[sd]?|minimum|min)"
_LOSS_KO = r"(?:검증\s*)?(?:손실|로스|loss)"
_VAL = r"(?:val(?:idation)?[\s_-]*)"
_BY = r"\b(?:by|on|use|using)\s+(?:the\s+)?"  # "pick by val loss", "use validation accuracy"
_BY_KO = r"\s*(?:을|를)?\s*(?:기준|으?로\s*(?:골라|고르|뽑|선택))"  # "검증 손실 기준으로", "정확도로 골라"
_OBJECTIVE_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("val_loss", re.compile(
        r"\b" + _LOW + r"\s+(?:(?:the|a)\s+)?" + _VAL + r"?loss\b"
        r"|\b" + _VAL + r"?loss\s+(?:is\s+)?(?:the\s+)?" + _LOW + r"\b"
        r"|" + _BY + _VAL + r"loss\b"
        r"|" + _LOSS_KO + r"\s*(?:이|가)?\s*(?:가장|제일)\s*(?:낮|작)은?"
        r"|(?:가장|제일)\s*(?:낮|작)은\s*" + _LOSS_KO + r"|" + _LOSS_KO + _BY_KO, _I)),
    ("val_map", re.compile(
        r"\bmap\s*@?\s*\[?\s*0?\.5\s*[:-]\s*0?\.95\s*\]?|\bmap\s*50\s*-\s*95\b|\bcoco\s+map\b", _I)),
    ("val_map50", re.compile(r"\bmap\s*@?\s*(?:0?\.50?|50)\b|\bmap\b", _I)),
    ("val_acc", re.compile(
        r"\b(?:highest|best|maximi[sz]e|max)\s+(?:(?:the|a)\s+)?(?:val(?:idation)?[\s_-]*)?accuracy\b"
        r"|\boptimi[sz]e\s+(?:for\s+)?(?:val(?:idation)?[\s_-]*)?accuracy\b"
        r"|(?:검증\s*)?정확도\s*(?:이|가)?\s*(?:가장|제일)\s*높은?"
        r"|" + _BY + _VAL + r"?accuracy\b"
        r"|(?:가장|제일)\s*높은\s*(?:검증\s*)?정확도|(?:검증\s*)?정확도" + _BY_KO, _I)),
)  # fmt: skip
# a bare "mAP" names the objective on its own only as one: "use mAP", "mAP 기준으로"
_MAP_ASKED = re.compile(_BY + r"map\b|\bmap\s*(?:을|를)?\s*(?:기준|으?로)", _I)


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


def _objective(text: str) -> tuple[str, tuple[int, int]] | None:
    for name, pattern in _OBJECTIVE_WORDS:
        match = pattern.search(text)
        if match:
            return name, match.span()
    return None


def read_sweep(text: str) -> tuple[SweepSpec, str] | None:
    """The sweep a message asks for, unchecked (spec.checked validates it), and the message with the
    sweep's words blanked out (what is left is the conversation's: the setup); None when it asks for none."""
    mentions = _field_mentions(text)
    grid: dict[str, list[Any]] = {}
    ranges: dict[str, SearchRange] = {}
    used: list[tuple[int, int]] = []
    for index, (start, end, name) in enumerate(mentions):
        segment = _segment(text, mentions, index)
        head = segment.lstrip(" :=은는을를의이가")
        at = end + len(segment) - len(head)  # where `head` starts in the text
        span = _RANGE.match(head) or (_RANGE.search(head) if "사이" in head or "between" in head else None)
        if span and name in NUMERIC_FIELDS:
            low, high = span.group("low") or span.group("blow"), span.group("high") or span.group("bhigh")
            ranges[name] = SearchRange(low=float(low), high=float(high), log=log_scale(name))
            used.append((start, at + span.end()))
            continue
        listed = (_WORD_LIST if name == "dataset_path" else _LIST).match(head)
        if listed:
            raws = re.split(_WORD_JOIN if name == "dataset_path" else _JOIN, listed.group(0), flags=_I)
            values = [_value(name, raw.strip()) for raw in raws if raw.strip()]
            if len(values) >= 2:
                grid[name] = values
                used.append((start, at + listed.end()))
    if not grid and not ranges:
        versus = _MODEL_VS.search(text)
        if versus:
            grid["model"] = [versus.group("a"), versus.group("b")]
            used.append(versus.span())
    if not grid and not ranges:
        return None
    trials = None
    if ranges:
        budget = _BUDGET.search(text)
        if budget is None and _SEARCH_WORDS.search(text) is None:
            return None
        if budget is not None:
            trials = int(budget.group("n"))
            used.append(budget.span())
    objective = _objective(text)
    if objective is not None:
        used.append(objective[1])
    rest = text
    for start, end in used:
        rest = rest[:start] + " " * (end - start) + rest[end:]
    spec = SweepSpec(grid=grid, ranges=ranges, trials=trials, objective=objective[0] if objective else None)
    return spec, rest


def read_objective(text: str) -> tuple[str, str] | None:
    """The objective a message names for a sweep already asked for ("pick by val loss instead",
    "검증 손실 기준으로 골라줘", "use mAP@[.5:.95]") and the message with its words blanked out; None when
    it names none."""
    found = _objective(text)
    if found is None:
        return None
    name, (start, end) = found
    if text[start:end].lower() == "map" and not _MAP_ASKED.search(text):  # a "heat map" is no objective
        return None
    return name, text[:start] + " " * (end - start) + text[end:]


def parse_sweep(text: str) -> SweepSpec | None:
    """The sweep a message asks for, unchecked; None when it asks for none."""
    found = read_sweep(text)
    return found[0] if found else None
