"""The built-in rule parser: Korean/English text → an intent and proposed TrainingConfig updates. No network.

Pure functions. Each recognised phrase is blanked out of the working text once used, so a number is
read for one field only ("ResNet50" is never 50 epochs, "3종류" never 3 epochs, "224px" never a batch).
"""

from __future__ import annotations

import math
import re
from typing import Any

from bot.conversation import intents
from bot.conversation.model_names import find_model
from bot.conversation.parsing import ParseContext, ParseResult, Question
from bot.conversation.tasks import blank_task_words, find_task, task_unclear
from bot.sweeps.parse import read_objective, read_sweep
from training.config import NUMERIC_FIELDS

_I = re.I
_KEYWORD_WORDS = r"(?:에폭|에포크|배치|학습률|러닝|이미지|클래스|카테고리|데이터)"
# between a keyword and its value: particles, "to"/"=", or up to three Korean words that are not
# another keyword ("학습률 너무 크다 0.001로"). Possessive, so a long word is never split and retried.
# "should be", "needs to be", "has to be", "will be": what a setting ought to be is what it is set to
_MODAL = (
    r"(?:(?:should|must|shall|will|would|needs?\s+to|has\s+to|have\s+to|ought\s+to|wants?\s+to)\s+)?be\s+"
)
_JOIN = (
    r"(?:\s*+(?!" + _KEYWORD_WORDS + r")[가-힣]++){0,3}?\s*+(?:" + _MODAL + r")?"
    r"(?:[:=]|to|of|is|as|at|around|about|equals|->|→)?\s*+(?:to\s+|=\s*|about\s+|around\s+)?"
)
# A number as typed: sign, decimals, exponent ("-8", "2.5", "1e9", "1e-4", ".5"). It starts at a word
# boundary and ends at one, so "1e9" is never 9 and "100000" never 1000; the engine refuses what is out
# of range. A keyword pattern reads it right after its keyword; elsewhere it must stand alone.
_SIGNED = r"[-+\u2212]?(?:\d++(?:\.\d++)?|\.\d++)(?:e[-+]?\d++)?(?![\d.]|e\d)"
_NUM = r"(" + _SIGNED + r")"
_ALONE = r"(?<![A-Za-z0-9_.\-+\u2212])"  # nothing glued in front ("x50", "1-5", "v2")
_FREE_NUM = _ALONE + _NUM

# what a class count is counted in ("9 classes", "10 digit classes", "5 grades", "4종류", "3개 그룹")
_CLASS_WORDS = (
    r"(?:classes|categories|category|kinds|types|labels|breeds|species|groups|grades|levels|varieties|"
    r"outcomes)"
)
_KO_CLASS_WORDS = (
    r"(?:종류|가지|종(?:류)?(?![가-힣])|종(?=으로|을|은|의|만|씩)|클래스|카테고리|라벨|레이블|"
    r"그룹|범주|유형|부류|등급)"
)
_UNIT_WORD = (
    r"(?:epochs?|images?|pictures?|photos?|samples?|px|pixels?|batch(?:es)?|gpus?|times|rounds|steps)"
)

# --- number words ------------------------------------------------------------------------------------------
_EN_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
            "ninety": 90}  # fmt: skip
_EN_NUMBER = re.compile(
    r"(?<![/._\-])\b(?:(?P<tens>"
    + "|".join(_EN_TENS)
    + r")(?:[\s-](?P<ones>"
    + "|".join(list(_EN_UNITS)[:9])
    + r"))?"
    r"|(?P<unit>" + "|".join(_EN_UNITS) + r")|(?P<hundred>(?:a |one )?hundred))\b",
    _I,
)
_KO_TENS = {"열": 10, "스무": 20, "스물": 20, "서른": 30, "마흔": 40, "쉰": 50}
_KO_ONES = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9}
_SINO = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9}
_KO_UNIT_AHEAD = (
    r"(?=\s?(?:종류|가지|종|개|번|회|바퀴|에폭|에포크|클래스|카테고리|그룹|범주|유형|부류|등급|"
    r"epoch|gpu|GPU|장|class))"
)
_KO_NATIVE = re.compile(
    r"(?<![가-힣])(?:(?P<tens>"
    + "|".join(_KO_TENS)
    + r")\s?)?(?P<ones>"
    + "|".join(_KO_ONES)
    + r")?"
    + _KO_UNIT_AHEAD
)
_KO_SINO = re.compile(
    r"(?<![가-힣])(?P<t>[이삼사오육칠팔구]?십)(?P<o>[일이삼사오육칠팔구])?|(?P<h>[이삼오]?백)"
    + _KO_UNIT_AHEAD
)
_EN_UNIT_AHEAD = re.compile(
    r"\s*(?:different\s+|kinds of\s+|types of\s+)?"
    r"(?:epochs?|class|passes|times|rounds|gpus?|(?:[a-z]+\s+)?"
    + _CLASS_WORDS
    + r")\b|\s*-?\s*way\b|-class\b"
    r"|\s*$",
    _I,
)
# "tells apart seven animals", "distinguish between three kinds": the count follows the verb
_COUNT_VERB = (
    r"(?:tell(?:s|ing)?\s+apart|distinguish(?:es|ing)?|differentiate[sd]?|recogni[sz]e[sd]?|"
    r"identif(?:y|ies)|between|among|one\s+of)\s+(?:between\s+|among\s+)?"
)
_EN_COUNT_BEFORE = re.compile(_COUNT_VERB + "$", _I)


def _en_number(match: re.Match[str]) -> int:
    if match.group("hundred"):
        return 100
    if match.group("unit"):
        return _EN_UNITS[match.group("unit").lower()]
    return _EN_TENS[match.group("tens").lower()] + _EN_UNITS.get((match.group("ones") or "").lower(), 0)


def _replace_number_words(text: str) -> str:
    def english(match: re.Match[str]) -> str:
        counts = _EN_UNIT_AHEAD.match(text, match.end()) or _EN_COUNT_BEFORE.search(
            text, max(0, match.start() - 40), match.start()
        )
        return str(_en_number(match)) if counts else match.group(0)

    def native(match: re.Match[str]) -> str:
        if not (match.group("tens") or match.group("ones")):
            return match.group(0)
        return str(_KO_TENS.get(match.group("tens") or "", 0) + _KO_ONES.get(match.group("ones") or "", 0))

    def sino(match: re.Match[str]) -> str:
        if match.group("h"):
            return str(100 * _SINO.get(match.group("h")[:-1], 1))
        tens = _SINO.get(match.group("t")[:-1], 1) * 10
        return str(tens + _SINO.get(match.group("o") or "", 0))

    text = _EN_NUMBER.sub(english, text)
    text = _KO_SINO.sub(sino, text)
    return _KO_NATIVE.sub(native, text)


# "10 말고 20", "10에서 20으로", "instead of 10", "from 10 to 20", "not 10": the earlier number is dropped
_REPLACED_NUMBER = re.compile(
    _ALONE + _SIGNED + r"\s*+(?:번|회|에폭|에포크)?\s*+(?:말고|대신|에서|아니고|아니라)\s*+(?=\S)"
    r"|\b(?:instead of|rather than|not|from)\s++" + _SIGNED + r"\s*+,?\s*+(?:but\s+)?",
    _I,
)

# --- field patterns (tried in order; the last match of the first matching pattern wins) ----------------
_LR_KEY = r"(?:learning[\s_-]*rate|학습\s*률|학습률|러닝\s*레이트|\blr\b)"
_GPU_WORD = r"(?:gpus?|그래픽\s*+카드|지피유)"
_PATTERNS: dict[str, list[re.Pattern[str]]] = {
    # first: "GPU 2개로 10 에폭" is 2 GPUs; "GPU 0번" names a GPU, not a count
    "gpus": [
        re.compile(_FREE_NUM + r"\s*+(?:개의?\s*+|장의?\s*+|x\s*+|-)?" + _GPU_WORD + r"(?![a-z])", _I),
        re.compile(
            r"(?:num[\s_-]*+gpus|number\s+of\s+gpus|(?<![a-z])" + _GPU_WORD + r")"
            r"\s*+(?:[:=]|는|은|를|을|수는?|개수는?|to)?\s*+" + _NUM + r"(?!\s*+(?:번|th\b|st\b|nd\b|rd\b))",
            _I,
        ),
    ],
    # "confidence 0.4", "신뢰도 0.5 이상만", "threshold 30%": the lowest score a detected box needs
    "score_threshold": [
        re.compile(
            r"(?:score[\s_-]*threshold|conf(?:idence)?(?:[\s_-]*threshold)?|threshold|신뢰도|임계값|임계치|"
            r"점수\s*(?:기준|임계값)?)" + _JOIN + _NUM + r"(\s*%)?",
            _I,
        ),
    ],
    "learning_rate": [
        re.compile(_LR_KEY + _JOIN + _NUM, _I),
        re.compile(_ALONE + r"([-+\u2212]?\d(?:\.\d++)?e-\d++)(?![\w.])", _I),
    ],
    "image_size": [
        re.compile(_FREE_NUM + r"\s*+(?:px|픽셀|pixels?)(?![a-z])", _I),
        re.compile(_FREE_NUM + r"\s*+[x×*]\s*+\d++", _I),
        re.compile(
            r"(?:(?:image|img|input|입력|이미지)[\s_-]*(?:size|크기|사이즈|해상도|resolution|res)|해상도|resolution"
            r"|\bimgsz\b|이미지(?=는|를|은))" + _JOIN + _NUM,
            _I,
        ),
    ],
    "batch_size": [
        re.compile(
            r"(?:batch[\s_-]*size|mini[\s-]*batch|batch|배치\s*(?:사이즈|크기)?|\bbs\b)" + _JOIN + _NUM, _I
        ),
        re.compile(_FREE_NUM + r"\s*+(?:짜리\s*)?(?:batch(?:es)?\b|배치)", _I),
    ],
    "num_classes": [
        re.compile(
            _FREE_NUM + r"\s*+-?\s*+(?:개의?\s*)?(?:different\s+|kinds of\s+|types of\s+)?"
            r"(?:" + _KO_CLASS_WORDS + r"|class\b|way\b|" + _CLASS_WORDS + r")",
            _I,
        ),
        re.compile(
            r"(?:num[\s_-]*classes|number of (?:classes|categories)|클래스\s*(?:수|개수)?|classes"
            r"|카테고리\s*(?:수|개수)?)" + _JOIN + _NUM,
            _I,
        ),
        # "10 digit classes", "4 defect types": one word between the count and what it counts
        re.compile(_FREE_NUM + r"\s++(?!" + _UNIT_WORD + r"\b)[a-z]++\s++" + _CLASS_WORDS + r"\b", _I),
        # "tells apart 7 animals", "distinguish between 3 kinds"
        re.compile(_COUNT_VERB + _NUM + r"(?!\s*+" + _UNIT_WORD + r"\b)", _I),
        # "3개로 나눠", "5개를 구분하는", "네 개 그룹으로 분류"
        re.compile(
            _FREE_NUM + r"\s*+개\s*+(?:의\s*+)?(?:로|으로|를|을)?\s*+(?:나누|나눠|나뉘|분류|구분|구별|판별)",
            _I,
        ),
    ],
    # before epochs: "5 에폭 동안 개선 없으면 멈춰" and "no improvement for 5 epochs" are the patience
    "early_stopping_patience": [
        re.compile(
            r"(?:early[\s_-]*+stop(?:ping)?|patience|조기\s*+종료|얼리\s*+스탑(?:핑)?)\s*+(?:patience)?"
            + _JOIN
            + _NUM,
            _I,
        ),
        re.compile(
            _FREE_NUM + r"\s*+(?:에폭|에포크|epochs?\b|번|회)\s*+(?:동안|간|연속으로?|내내)?\s*+"
            r"(?:(?:성능\s*+|정확도\s*+)?(?:개선|향상|나아지지|좋아지지|안\s*+(?:좋아지|오르))"
            r"|(?:without|with\s+no)\s+improv)",
            _I,
        ),
        re.compile(
            r"(?:no\s+improvement|(?:does\s*n[o']t|not|stops?)\s+improv\w*+)\s+(?:for|in|after|within)\s+"
            + _NUM
            + r"\s*+(?:epochs?\b|rounds)",
            _I,
        ),
    ],
    "epochs": [
        re.compile(_FREE_NUM + r"\s*+(?:에폭|에포크|에퐄|epochs?\b|eps?\b|번|회|바퀴|passes|rounds)", _I),
        re.compile(
            r"(?:epochs?|에폭|에포크|에퐄|학습\s*횟수|반복\s*횟수|training\s+length)\s*(?:수|횟수|count)?"
            + _JOIN
            + _NUM,
            _I,
        ),
    ],
}

_BINARY = re.compile(
    r"\bbinary\s+(?:classifier|classification|model|problem|task)|이진\s*분류|이항\s*분류", _I
)
_PRETRAINED_FALSE = re.compile(
    r"from\s+scratch|\bscratch\b|처음부터|스크래치|(?:랜덤|무작위)\s*초기화|random(?:ly)?\s+init"
    r"|(?:사전\s*학습|프리\s*트레인|pretrain\w*|pre-trained|imagenet)\s*(?:된\s*)?(?:가중치\s*)?(?:weights?\s*)?"
    r"(?:없이|안\s*(?:쓰|써|하|해|함|된|씀)|하지\s*(?:말|않)|말고|빼고|끄고|x\b|=\s*false|:\s*false|false|off|no\b)"
    r"|(?:no|without|not|don'?t use|disable)\s+(?:the\s+|any\s+)?(?:pretrain\w*|pre-trained|imagenet)",
    _I,
)
_PRETRAINED_TRUE = re.compile(
    r"pretrain\w*|pre-trained|사전\s*학습|프리\s*트레인|imagenet|전이\s*학습|transfer\s+learning|fine[\s-]?tun\w*"
    r"|파인\s*튜닝",
    _I,
)
# --- dataset paths -----------------------------------------------------------------------------------------
_PATH_TOKEN = re.compile(
    r"(?<![\w/.])(?:~|\.{1,2})?/?(?:[\w.\-]++/)++[\w.\-]*+|(?<![\w/.])(?:~|\.{1,2})?/[\w.\-]++"
)
_TRAILING_PARTICLE = re.compile(r"(?<=[A-Za-z0-9_/\-])[가-힣]+$")
# a name starts where a word starts, so a long word is scanned once, not once per letter
_NAME = r"(?<![A-Za-z0-9_.\-])(?P<name>[A-Za-z0-9_][A-Za-z0-9_.\-]*+)"
_DATASET_WORD = r"(?:dataset|data\s*set|data|데이터\s*셋|데이터|폴더|folder|directory|dir|디렉토리|디렉터리)"
_DATASET_AFTER_KEYWORD = re.compile(
    r"(?<![A-Za-z0-9_.\-])(?:" + _DATASET_WORD + r"|경로|path)(?:_path)?\s*+(?:은|는|을|를|이|가|:|=)?\s*+"
    r"(?:is\s+|at\s+|in\s+|called\s+|named\s+|=\s*)*+(?:in\s+|at\s+)?" + _NAME,
    _I,
)
_DATASET_AFTER_TRAIN_ON = re.compile(
    r"\b(?:train|fine-?tune)\w*+\s++(?:\w++\s++)?on\s++(?:the\s+|my\s+)?" + _NAME, _I
)
# the keyword stands apart ("cats dataset", "cats데이터셋"), never inside a name like "cat_dataset"
_DATASET_BEFORE_KEYWORD = re.compile(_NAME + r"(?:\s++|(?=[가-힣]))" + _DATASET_WORD + r"(?![a-z])", _I)
_NOT_A_NAME_WORDS = (
    "the a an my our your this that these those is at in on of for to with and or set path folder "
    "dataset data directory dir train training image images new same it its use using called named "
    "from under some classification ready please pls here there"
)
_NOT_A_NAME = frozenset(_NOT_A_NAME_WORDS.split())
_ASCII_WORD = re.compile(r"(?<![\w/.\-])[A-Za-z0-9_][A-Za-z0-9_.\-]*+(?![A-Za-z0-9_/])")
_LEFT_NUMBER = re.compile(_FREE_NUM, _I)
_FILLER = (
    "ok okay yes yeah sure let's lets go with use it is its please pls then just do make set change "
    "to maybe about around actually instead hmm um uh so no nope wait oh ah well say like right fine "
    "that be should will would could can we i you how what and but or too many much few little more less "
    "a the try again back really good great okay, perfect sounds"
)
_FILLER_WORDS = frozenset(_FILLER.split())
_ANY_WORD = re.compile(r"[A-Za-z][A-Za-z']*+")
# what is left of an answer like "아니 30으로 바꿔줘" or "음 30 정도로 할게" once the number is taken out
_KO_FILLER = re.compile(
    r"아니(?:요|야|다|고)?|아뇨|음+|어+|그냥|그럼|그러면|그래|네|응|좋아|오케이|이번엔|대신|정도|쯤|만|으로|로|에서|에|"
    r"이요|요|해|줘|주세요|할게|하자|할래|바꿔|바꾸자|변경|수정|가자|다시|한|약|대략|면|될|듯|것|같아|거|게|할|하고|"
    r"해서|돌려|줄여|늘려|올려|내려|낮춰|높여|키워|알아서|이|가|은|는|을|를|도|너무|많아|많다|적어|적다|말고|번|회"
)
_HANGUL = re.compile(r"[가-힣]")


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def _clean_path(token: str) -> str:
    token = _TRAILING_PARTICLE.sub("", token)
    return token.rstrip(".,!?;:") if token.strip(".") else token


def _find_path(text: str) -> tuple[str | None, str]:
    for match in _PATH_TOKEN.finditer(text):
        token = _clean_path(match.group(0))
        if re.search(r"[A-Za-z가-힣]", token):
            return token, _blank(text, match.start(), match.end())
    for pattern in (_DATASET_AFTER_KEYWORD, _DATASET_BEFORE_KEYWORD, _DATASET_AFTER_TRAIN_ON):
        for match in pattern.finditer(text):
            name = _clean_path(match.group("name"))
            if name.lower() not in _NOT_A_NAME and not name.isdigit():
                # only the name: "train resnet18 on cats" still names the model
                return name, _blank(text, match.start("name"), match.end("name"))
    return None, text


def _find_bare_name(text: str) -> str | None:
    """The one name-like word left in an answer to "which dataset?" ("pets", "pets, 2 epochs", "pets로 5번"),
    looked for once every other field has been taken out of the text."""
    words = [
        match.group(0)
        for match in _ASCII_WORD.finditer(text)
        if match.group(0).lower() not in _FILLER_WORDS | _NOT_A_NAME
    ]
    if len(words) == 1 and not words[0].isdigit():
        return _clean_path(words[0])
    return None


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _to_number(field: str, raw: str) -> int | float | str:
    """The number as typed, never cut: "-8" → -8, "1e9" → 1000000000, "2.5" stays 2.5 (an integer field
    then refuses it); a number too big for a float stays text ("1e400"), which the engine refuses too."""
    raw = raw.replace("\u2212", "-")
    try:
        return float(raw) if NUMERIC_FIELDS.get(field) is float else int(raw)
    except ValueError:
        try:
            value = float(raw)
        except ValueError:
            return raw
        if not math.isfinite(value):
            return raw
        return int(value) if value.is_integer() and NUMERIC_FIELDS.get(field) is not float else value


# "the second one" / "두 번째 거": an item of the dataset list in the bot's last message
_ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3, "fifth": 4,
    "5th": 4, "last": -1, "첫": 0, "첫째": 0, "두": 1, "둘째": 1, "세": 2, "셋째": 2, "네": 3, "넷째": 3,
    "다섯": 4, "마지막": -1,
}  # fmt: skip
_ORDINAL = re.compile(
    r"\b(?P<en>first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\s+(?:one|dataset|folder)\b"
    r"|(?P<ko>첫|첫째|두|둘째|세|셋째|네|넷째|다섯|마지막)\s*(?:번째)?\s*(?:거|것|꺼|데이터셋|데이터|폴더)",
    _I,
)
_ORDINAL_AFTER_NUMBER_WORDS = re.compile(r"\d{1,2}\s*번째")
# the bot's own question (catalogue "ask_task"): a message naming a task right after it answers it
_ASKED_TASK = re.compile(r"\*what\* the image is|이미지가 \*무엇인지\*")
_LISTED = re.compile(r"(?:Available(?: datasets)?|있는 데이터셋):\s*((?:`[^`\n]{1,200}`(?:,\s*)?)+)")


def _listed_dataset(text: str, last_bot_message: str) -> str | None:
    match = _ORDINAL.search(text)
    listing = _LISTED.search(last_bot_message)
    if not (match and listing):
        return None
    names = re.findall(r"`([^`]+)`", listing.group(1))
    index = _ORDINALS[(match.group("en") or match.group("ko")).lower()]
    return names[index] if -len(names) <= index < len(names) else None


def _is_bare_answer(text: str) -> bool:
    """Nothing but filler is left ("no, 20", "actually make it 20", "아니 30으로 바꿔줘"): a bare number in it
    answers the field asked (or changed) last. Any other word may name a setting the parser doesn't know
    ("seed 42", "workers 4"), so the number is asked about instead."""
    rest = _LEFT_NUMBER.sub(" ", text)
    if any(word.lower() not in _FILLER_WORDS for word in _ANY_WORD.findall(rest)):
        return False
    return not _HANGUL.search(_KO_FILLER.sub(" ", rest))


def _find_fields(text: str, context: ParseContext) -> tuple[dict[str, Any], list[str], bool]:
    """Field updates stated in the text, numbers left over that no setting could be attached to, and
    whether the dataset is only a guess (the one word left in an answer to "which dataset?")."""
    work = _REPLACED_NUMBER.sub(lambda m: " " * len(m.group(0)), _replace_number_words(text))
    updates: dict[str, Any] = {}

    listed = (
        _listed_dataset(text, context.last_bot_message) if context.asked_field == "dataset_path" else None
    )
    if listed is not None:  # "두 번째" became "2 번째" above: not 2 epochs
        updates["dataset_path"] = listed
        work = _ORDINAL_AFTER_NUMBER_WORDS.sub(lambda m: " " * len(m.group(0)), _ORDINAL.sub(" ", work))
    path, work = _find_path(work)
    if path and listed is None:
        updates["dataset_path"] = path
    if model := find_model(work):
        updates["model"] = model.name
        work = _blank(work, model.start, model.end)

    for field, patterns in _PATTERNS.items():
        for pattern in patterns:
            matches = list(pattern.finditer(work))
            if matches:
                updates[field] = _to_number(field, matches[-1].group(1))
                if field == "score_threshold" and matches[-1].group(2) and _numeric(updates[field]):
                    updates[field] = float(updates[field]) / 100  # "30%" is 0.3
                for match in matches:
                    work = _blank(work, match.start(), match.end())
                break

    if "num_classes" not in updates and (binary := _BINARY.search(work)):
        updates["num_classes"] = 2
        work = _blank(work, binary.start(), binary.end())

    if task := find_task(text):
        updates["task"] = task
        work = blank_task_words(work)

    if _PRETRAINED_FALSE.search(work):
        updates["pretrained"] = False
    elif _PRETRAINED_TRUE.search(work):
        updates["pretrained"] = True

    unattached: list[str] = []
    if not any(field in updates for field in NUMERIC_FIELDS):
        target = next((f for f in (context.asked_field, context.last_field) if f in NUMERIC_FIELDS), None)
        numbers = [match.group(1) for match in _LEFT_NUMBER.finditer(work)]
        if target and numbers and _is_bare_answer(work):
            updates[target] = _to_number(target, numbers[-1])
        else:
            unattached = numbers
    asked_for_dataset = "dataset_path" not in updates and context.asked_field == "dataset_path"
    guessed = False
    if asked_for_dataset and (name := _find_bare_name(work)):
        updates["dataset_path"], guessed = name, True
    return updates, unattached, guessed


def parse_message(text: str, context: ParseContext) -> ParseResult:
    """The intent of one message and the field updates it states. Values are proposals; the engine
    validates them. A question keeps what it names in `question` and changes nothing. A sweep ("lr 1e-3
    or 1e-4") makes the message settings: the sweep, and the settings the rest of it states; an objective
    named with nothing else ("pick by val loss instead") is the objective of the sweep asked for before."""
    found = read_sweep(text)
    if found is None:
        named = read_objective(text)  # "pick by val loss instead": a proposed sweep's objective changes
        if named is not None:
            setup = _parse(named[1], context)
            if setup.intent == "settings" and not setup.updates and not setup.unattached:
                return ParseResult(objective=named[0])
        return _parse(text, context)
    sweep, rest = found
    setup = _parse(rest, context)
    if setup.intent != "settings":  # what is left is no setup ("can you try …?", "스윕 돌려줘")
        return ParseResult(sweep=sweep)
    return ParseResult(updates=setup.updates, unattached=setup.unattached, sweep=sweep)


def _parse(text: str, context: ParseContext) -> ParseResult:
    if intents.is_cancel(text):
        return ParseResult(intent="cancel")
    updates, unattached, guessed = _find_fields(text, context)
    stated = bool(updates) and not (guessed and len(updates) == 1)  # "GPU 있어?" names no dataset
    command = intents.find_command(text)
    if command is not None and intents.command_stands(
        command, set(updates) if stated else set(), context.thread
    ):
        args: dict[str, Any] = {"text": text}
        if command.run_id is not None:
            args["run_id"] = command.run_id
        if command.epochs is not None:
            args["epochs"] = command.epochs
        if command.name == "rethreshold":
            args["score_threshold"] = intents.threshold_asked(text)
        return ParseResult(intent="command", command=command.name, command_args=args)
    if intents.is_smalltalk(text):  # the whole message: "hi", "thanks!", "고마워요" (never a dataset name)
        return ParseResult(intent="smalltalk")
    answers_task = "task" in updates and _ASKED_TASK.search(context.last_bot_message) and "?" not in text
    if (
        intents.is_question(text, bare_value=stated)
        and not (stated and intents.is_request(text))
        and not answers_task  # "where things are" answers the bot's question, it doesn't ask one
    ):
        named = {name: value for name, value in updates.items() if not (guessed and name == "dataset_path")}
        return ParseResult(intent="question", question=_question(text, named))
    return ParseResult(updates=updates, unattached=unattached, task_unclear=task_unclear(text))


def _question(text: str, updates: dict[str, Any]) -> Question:
    topic, field = intents.question_topic(text)
    if topic in ("model", "detection_model"):
        return Question(topic, value=intents.image_count(text))
    if topic == "epochs":
        field = "epochs"
    value = updates.get(field) if field else None
    if topic == "pretrained":
        value = updates.get("pretrained")
    return Question(topic, field=field, value=value)


class RuleParser:
    """The embedded default parser."""

    def parse(self, text: str, context: ParseContext) -> ParseResult:
        return parse_message(text, context)
