"""Which task a message asks for, from how people say it: "find where the scratches are", "박스 쳐줘",
"불량 위치 찾는 모델" ask for a detector; "classify", "분류", "what kind of" ask for a classifier.

The last mention wins ("분류 말고 탐지로", "not a classifier, a detector"), and a mention that is turned
down ("분류 말고", "instead of classification", "not classification") does not count.
"""

from __future__ import annotations

import re
from typing import Any

from training.config import DETECTION_DEFAULTS, field_defaults

DETECTION = "detection"
CLASSIFICATION = "classification"

_I = re.I
_DETECTION = re.compile(
    r"object\s+detect\w*|\bdetect\w*(?!\s+(?:whether|if)\b)|\bdetector|"
    r"find(?:s|ing)?\s+(?:out\s+)?where|show(?:s|ing)?\s+where|"
    r"where\s+(?:the\s+|each\s+|all\s+)?\w+\s+(?:is|are)\b|\blocat(?:e|es|ing|ion)\b|locali[sz]\w*|"
    r"bounding[\s_-]*box\w*|\bbbox\w*|draw\w*\s+(?:a\s+)?box\w*|put\s+boxes|boxes\s+(?:around|on)|"
    r"count(?:s|ing)?\s+(?:the|how\s+many|all|each)\b|\bhow\s+many\s+\w+\s+(?:are\s+)?(?:there|in|on)\s+"
    r"(?:each|every|the|a|an|this|these)\s+(?:image|photo|picture)|"
    r"객체\s*(?:탐지|검출|인식)|물체\s*(?:탐지|검출|인식)|탐지|디텍션|디텍터|"
    r"위치\s*(?:를|을|도)?\s*(?:찾|알려|표시|잡|검출)|어디\s*(?:에|에서)?\s*있는지|"
    r"(?:바운딩\s*)?박스\s*(?:를|도)?\s*(?:쳐|치|그려|그리|표시)|바운딩\s*박스|"
    r"몇\s*개\s*(?:가|나)?\s*(?:있는지|인지|있나)|개수\s*(?:를|을)?\s*(?:세|셀|알려)",
    _I,
)
# "검출" alone is said of a defect classifier ("불량품 검출") as often as of a detector: the bot asks
_EITHER = re.compile(r"검출", _I)
_CLASSIFICATION = re.compile(
    r"\bclassif\w*|categori[sz]\w*|what\s+kind\s+of|which\s+kind\s+of|image\s+classifier|"
    r"\bdetect(?:s|ing)?\s+(?:whether|if)\b|\bwhat\s+(?:the\s+|each\s+)?(?:image|photo|picture|it)\s+"
    r"(?:is|shows)\b|분류|판별|어떤\s*종류인지|무슨\s*종류인지|있는지\s*없는지|무엇인지|뭔지",
    _I,
)
# "분류 말고", "분류가 아니라", "분류 대신": the mention just before is turned down
_TURNED_DOWN_AFTER = re.compile(
    r"\s*(?:모델|작업)?\s*(?:은|는|이|가|를|을)?\s*(?:말고|대신|아니라|아니고|빼고)", _I
)
_TURNED_DOWN_BEFORE = re.compile(
    r"(?:\bnot|instead\s+of|rather\s+than|no\s+more|\bno)\s+(?:an?\s+|the\s+)?$", _I
)


def find_task(text: str) -> str | None:
    """ "detection", "classification" or None when the message names neither."""
    mentions: list[tuple[int, str]] = []
    for task, pattern in (("detection", _DETECTION), ("classification", _CLASSIFICATION)):
        for match in pattern.finditer(text):
            if _TURNED_DOWN_AFTER.match(text, match.end()) or _TURNED_DOWN_BEFORE.search(
                text, max(0, match.start() - 20), match.start()
            ):
                continue
            mentions.append((match.start(), task))
    return max(mentions)[1] if mentions else None


def task_unclear(text: str) -> bool:
    """The message asks for a model with a word either task is called by ("검출"), and nothing else in it
    says which."""
    return find_task(text) is None and bool(_EITHER.search(text))


def blank_task_words(text: str) -> str:
    """`text` with every task word blanked, so none is read as another setting ("make it a detector"
    answering "which dataset?" names no dataset `detector`)."""
    for pattern in (_DETECTION, _CLASSIFICATION):
        text = pattern.sub(lambda match: " " * len(match.group(0)), text)
    return text


def task_of(draft: dict[str, Any]) -> str:
    """The draft's task: the one it states, else the config's default (classification)."""
    return str(draft.get("task", field_defaults()["task"]))


def task_defaults(task: str) -> dict[str, Any]:
    """Every field's default for `task` (a detector's model, image size, batch and lr differ)."""
    defaults = field_defaults()
    return defaults | DETECTION_DEFAULTS if task == DETECTION else defaults
