"""Reading a sweep from a message, both languages: "lr 1e-3, 3e-4, 1e-4", "batch 16이랑 32 둘 다 해봐",
"resnet18 vs resnet50" (a grid); "a learning rate between 1e-4 and 1e-2 in 8 trials",
"학습률 1e-4~1e-2 사이에서 8번 찾아줘" (a search), with the objective when the message names one ("keep the
one with the lowest val loss", "검증 손실이 가장 낮은 걸로", "optimise for mAP@[.5:.95]"). Also: models
named without the word ("resnet18이랑 efficientnet_b0 비교해줘"), values before their unit ("10 and 20
epochs"), a setting named twice ("lr 1e-3 vs lr 1e-4"), 1x10^-3. None when the message asks for no sweep,
or asks which value is better or how they differ without asking to run them ("is 1e-3 or 1e-4
better?"); what else the message says (the setup: "train resnet18 on cats, 3 epochs") is left for the
conversation."""

from __future__ import annotations

import re
from typing import Any

from bot.sweeps.spec import SearchRange, SweepSpec, log_scale
from training.config import NUMERIC_FIELDS

_I = re.IGNORECASE
# 1e-3, 0.001, 3E-4, 1x10^-3 (1×10^-3, 1*10^-3)
_NUMBER = r"\d+(?:\.\d+)?(?:e[-+]?\d+|\s*[x×*]\s*10\s*\^\s*[-+]?\d+)?"
_TIMES_TEN = re.compile(r"\s*[x×*]\s*10\s*\^\s*", re.IGNORECASE)
# the words that name a setting; the dataset is named so that varying it is refused, not ignored
_FIELD_WORDS: dict[str, str] = {
    "learning_rate": r"lea?rn\w{0,4}[\s_-]*rates?|lrs?\b|학습[률율]|러닝\s*레이트",  # "learnign rate" too
    "batch_size": r"batch(?:[\s_-]*sizes?)?(?:es)?|배치(?:\s*(?:크기|사이즈))?",
    "image_size": r"image[\s_-]*sizes?|img[\s_-]*sizes?|resolutions?|이미지\s*(?:크기|사이즈)|해상도",
    "epochs": r"epochs?|에폭|에포크",
    "early_stopping_patience": r"patience|조기\s*종료",
    "model": r"models?|backbones?|모델",
    "dataset_path": r"datasets?|데이터셋|데이터\s*세트",
    "gpus": r"gpus?|GPU\s*수",
}
_NAME_JOIN = (
    r"(?:\s*(?:,|\band\b|\bor\b|\bvs\.?|\bversus\b|이랑|랑|하고|와|과|및|또는|아니면|이나|나(?=\s))\s*)"
)
_JOIN = r"(?:" + _NAME_JOIN + r"|\s*/\s*)"  # numbers may be joined by a slash too: "3e-4 / 1e-3"
_NUMBER_LIST = re.compile(_NUMBER + r"(?:" + _JOIN + _NUMBER + r")+", _I)
# model names without the word "model" too: names with a digit, not a path's part, a metric (mAP50), a
# well-known dataset (cifar10) or a GPU (a100): "resnet18 and efficientnet_b0", "resnet18이랑 resnet50"
_NOT_A_MODEL = r"(?!(?:map|top|fp|bf|int|epoch|gpu|cifar|coco|voc|imagenet)\d|[a-z]\d+\b)"
_NAME = r"(?<![\w./-])" + _NOT_A_MODEL + r"[a-z][a-z0-9_.-]*\d[a-z0-9_]*"
_MODEL_LIST = re.compile(_NAME + r"(?:" + _NAME_JOIN + _NAME + r")+", _I)
_RANGE_INTRO = r"(?:(?:between|from|over|in|within|range|of|범위)\s*|[(\[]\s*)*"  # "lr (1e-4 ~ 1e-2)"
_RANGE = re.compile(
    _RANGE_INTRO + r"(?P<low>" + _NUMBER + r")\s*(?:~|\.\.|to\b|-|에서|부터)\s*"
    r"(?P<high>" + _NUMBER + r")|between\s+(?P<blow>" + _NUMBER + r")\s+and\s+(?P<bhigh>" + _NUMBER + r")",
    _I,
)
# dataset names: words joined by a comma or a conjunction (a path's slashes join nothing)
_WORD_JOIN = r"\s*(?:,|\band\b|\bor\b|\bvs\.?|이랑|랑|하고|또는)\s*"
_WORD_LIST = re.compile(r"(?P<first>[^\s,]+?)(?:" + _WORD_JOIN + r"[^\s,]+?)+(?=[\s,]|$)", _I)
_BUDGET = re.compile(
    r"(?:in|with|over|within|try|using)?\s*(?P<n>\d{1,4})\s*"
    r"(?:trials?|runs?|tries|times|attempts?|번|회|개\s*시도|시도)",
    _I,
)
_SEARCH_WORDS = re.compile(
    r"\b(?:find|search|tune|best|optimi[sz]e|sweep|look\s+for)\b|찾아|탐색|튜닝|최적|스윕", _I
)
_MODEL_VS = re.compile(
    r"[a-z][a-z0-9_.]*\d[a-z0-9_.]*\s+(?:vs\.?|versus)\s+[a-z][\w.]*", _I
)  # "… vs convnext_tiny"
# values before a setting's unit: "10 and 20 epochs", "10에폭이랑 20에폭", "64px and 128px images"
_UNITS = {"epochs": r"epochs?|에폭|에포크", "image_size": r"px\b|pixels?\b|픽셀"}
# a question about which value is better or how they differ asks for an answer, not for runs; one that
# asks the bot to do it ("can you try …?", "비교해 줄래?") is a request
_ADVICE = re.compile(
    r"\b(?:which|difference|differ|should\s+(?:i|we)|recommend)\b"
    r"|\b(?:better|worse|faster|slower|quicker|more\s+accurate)\b.*\?"
    r"|뭐가|어느|어떤\s*게|차이|나아\?|나을까|좋을까|추천",
    _I,
)
_REQUEST = re.compile(
    r"\b(?:try|run|train|compare|test|sweep|tune|search|find)\b"
    r"|돌려|비교해|해\s*봐|해\s*줘|해\s*주세요|학습해|찾아|탐색",
    _I,
)
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


def _merged(text: str, mentions: list[tuple[int, int, str]]) -> tuple[str, list[tuple[int, int, str]]]:
    """A setting named again after its value and a conjunction ("lr 0.001 vs lr 0.0001", "batch 16 or
    batch 32") blanked out, so that its values read as one list."""
    kept: list[tuple[int, int, str]] = []
    for start, end, name in mentions:
        before = kept[-1] if kept else None
        between = text[before[1] : start] if before else ""
        if before and before[2] == name and re.fullmatch(r"[\s:=]*(?:" + _NUMBER + _JOIN + r")+", between):
            text = text[:start] + " " * (end - start) + text[end:]
        else:
            kept.append((start, end, name))
    return text, kept


def _unit_list(
    text: str, name: str, mentions: list[tuple[int, int, str]]
) -> tuple[list[Any], re.Match[str]] | None:
    """Values listed before their unit ("10 and 20 epochs", "10에폭이랑 20에폭", "64px or 128px"), unless
    the first is another setting's value ("batch 16 and 32 epochs")."""
    one = _NUMBER + r"(?:\s*(?:" + _UNITS[name] + r"))?"
    listed = (
        r"(?<![\w.])" + one + r"(?:" + _JOIN + one + r")*" + _JOIN + _NUMBER + r"\s*(?:" + _UNITS[name] + ")"
    )
    for match in re.finditer(listed, text, _I):
        ends = [end for _, end, _ in mentions if end <= match.start()]
        if not any(re.fullmatch(r"[\s:=]*", text[end : match.start()]) for end in ends):
            return [_value(name, raw.group(0)) for raw in re.finditer(_NUMBER, match.group(0), _I)], match
    return None


def _number(raw: str) -> float:
    return float(_TIMES_TEN.sub("e", raw))


def _value(name: str, raw: str) -> Any:
    kind = NUMERIC_FIELDS.get(name)
    if kind is None:
        return raw
    number = _number(raw)
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
    if _ADVICE.search(text) and not _REQUEST.search(text):
        return None
    text, mentions = _merged(text, _field_mentions(text))
    grid: dict[str, list[Any]] = {}
    ranges: dict[str, SearchRange] = {}
    used: list[tuple[int, int]] = []
    for index, (start, end, name) in enumerate(mentions):
        segment = _segment(text, mentions, index)
        head = re.sub(r"^(?:[\s:=은는을를의이가]|\b(?:at|of|to|as|values?)\b)*", "", segment, flags=_I)
        at = end + len(segment) - len(head)  # where `head` starts in the text
        span = _RANGE.match(head) or (_RANGE.search(head) if "사이" in head or "between" in head else None)
        if span and name in NUMERIC_FIELDS:
            low, high = span.group("low") or span.group("blow"), span.group("high") or span.group("bhigh")
            ranges[name] = SearchRange(low=_number(low), high=_number(high), log=log_scale(name))
            used.append((start, at + span.end()))
            continue
        listed = {"dataset_path": _WORD_LIST, "model": _MODEL_LIST}.get(name, _NUMBER_LIST).match(head)
        if listed:
            raws = re.split(_WORD_JOIN if name == "dataset_path" else _JOIN, listed.group(0), flags=_I)
            values = [_value(name, raw.strip()) for raw in raws if raw.strip()]
            if len(values) >= 2:
                grid[name] = values
                used.append((start, at + listed.end()))
    for name in _UNITS:
        if name not in grid and name not in ranges and (found := _unit_list(text, name, mentions)):
            grid[name] = found[0]
            used.append(found[1].span())
    if "model" not in grid:
        versus = _MODEL_LIST.search(text) or _MODEL_VS.search(text)
        if versus:
            grid["model"] = [name for name in re.split(_JOIN, versus.group(0), flags=_I) if name.strip()]
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
