"""Model names as people say them ("ResNet-50", "레즈넷50", "efficientnet b0") → timm names, and whether
timm has them.

Spoken names come from a small table of families; every timm name, with where its pretrained weights
come from, is data generated from the installed timm (timm_models.json, by scripts/gen_timm_models.py),
so the bot never imports timm or torch.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from training.contract import DETECTION_MODELS

CATALOGUE_FILE = Path(__file__).with_name("timm_models.json")

_SEP = r"[\s_\-]*"


@dataclass(frozen=True)
class _Family:
    pattern: re.Pattern[str]
    to_timm: Callable[[re.Match[str]], str | None]


def _sized(template: str, sizes: dict[str, str]) -> Callable[[re.Match[str]], str | None]:
    def build(match: re.Match[str]) -> str | None:
        key = (match.group("v") or "").lower()
        return template.format(sizes[key]) if key in sizes else None

    return build


def _numbered(template: str, allowed: set[str]) -> Callable[[re.Match[str]], str | None]:
    def build(match: re.Match[str]) -> str | None:
        number = match.group("v")
        return template.format(number) if number in allowed else None

    return build


_VIT_SIZES = {"tiny": "tiny", "t": "tiny", "small": "small", "s": "small", "base": "base", "b": "base"}
_VIT_SIZES |= {"large": "large", "l": "large", "스몰": "small", "베이스": "base", "타이니": "tiny"}
_SIZES = {"tiny": "tiny", "small": "small", "base": "base", "large": "large"}
_SIZES |= {"타이니": "tiny", "스몰": "small", "베이스": "base", "라지": "large"}

_FAMILIES: tuple[_Family, ...] = (
    _Family(
        re.compile(rf"(?:wide{_SEP}resnet|와이드{_SEP}레즈넷){_SEP}(?P<v>50|101)", re.I),
        _numbered("wide_resnet{}_2", {"50", "101"}),
    ),
    _Family(
        re.compile(rf"(?:resnext|레즈넥스트){_SEP}(?P<v>50|101)", re.I),
        lambda m: {"50": "resnext50_32x4d", "101": "resnext101_32x8d"}[m.group("v")],
    ),
    _Family(
        re.compile(rf"(?:resnet|레즈넷|레스넷|리즈넷){_SEP}(?P<v>\d{{2,3}})(?!\d)", re.I),
        _numbered("resnet{}", {"10", "14", "18", "26", "34", "50", "101", "152", "200"}),
    ),
    _Family(
        re.compile(
            rf"(?:efficient{_SEP}net|이피션트{_SEP}넷|에피션트{_SEP}넷){_SEP}v?2{_SEP}(?P<v>[sml])(?![A-Za-z])",
            re.I,
        ),
        _sized("tf_efficientnetv2_{}", {"s": "s", "m": "m", "l": "l"}),
    ),
    _Family(
        re.compile(
            rf"(?:efficient{_SEP}net|이피션트{_SEP}넷|에피션트{_SEP}넷){_SEP}b?{_SEP}(?P<v>[0-7])(?!\d)", re.I
        ),
        _numbered("efficientnet_b{}", {str(n) for n in range(8)}),
    ),
    _Family(
        re.compile(
            rf"(?:convnext|컨브넥스트|콘브넥스트){_SEP}(?P<v>tiny|small|base|large|타이니|스몰|베이스|라지)",
            re.I,
        ),
        _sized("convnext_{}", _SIZES),
    ),
    _Family(
        re.compile(rf"(?:mobile{_SEP}net|모바일{_SEP}넷){_SEP}v?3{_SEP}(?P<v>large|small|라지|스몰)?", re.I),
        lambda m: "mobilenetv3_{}_100".format(_SIZES.get((m.group("v") or "large").lower(), "large")),
    ),
    _Family(
        re.compile(rf"(?:mobile{_SEP}net|모바일{_SEP}넷){_SEP}v?(?P<v>2)(?!\d)", re.I),
        lambda m: "mobilenetv2_100",
    ),
    _Family(
        re.compile(
            rf"(?:vit|비트|비전{_SEP}트랜스포머|vision{_SEP}transformer){_SEP}(?P<v>tiny|small|base|large|t|s|b|l|타이니|스몰|베이스)(?![A-Za-z])",
            re.I,
        ),
        _sized("vit_{}_patch16_224", _VIT_SIZES),
    ),
    _Family(
        re.compile(rf"(?:deit|데잇){_SEP}(?P<v>tiny|small|base)(?![A-Za-z])", re.I),
        _sized("deit_{}_patch16_224", _SIZES),
    ),
    _Family(
        re.compile(rf"(?:swin|스윈){_SEP}(?P<v>tiny|small|base|타이니|스몰|베이스)(?![A-Za-z])", re.I),
        _sized("swin_{}_patch4_window7_224", _SIZES),
    ),
    _Family(
        re.compile(rf"(?:densenet|덴스넷){_SEP}(?P<v>121|161|169|201)", re.I),
        _numbered("densenet{}", {"121", "161", "169", "201"}),
    ),
    _Family(
        re.compile(rf"(?:vgg){_SEP}(?P<v>11|13|16|19)(?!\d)", re.I),
        _numbered("vgg{}", {"11", "13", "16", "19"}),
    ),
)

# torchvision's detectors as people say them ("Faster R-CNN", "retinanet", "SSDlite"); the exact names
# (training/contract.py) are found as they are
_DETECTOR_FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            rf"faster{_SEP}r?{_SEP}-?cnn{_SEP}(?:with{_SEP})?mobile{_SEP}net(?:{_SEP}v?3)?(?:{_SEP}large)?"
            rf"{_SEP}320(?:{_SEP}fpn)?",
            re.I,
        ),
        "fasterrcnn_mobilenet_v3_large_320_fpn",
    ),
    (
        re.compile(
            rf"faster{_SEP}r?{_SEP}-?cnn{_SEP}(?:with{_SEP})?mobile{_SEP}net(?:{_SEP}v?3)?(?:{_SEP}large)?"
            rf"(?:{_SEP}fpn)?",
            re.I,
        ),
        "fasterrcnn_mobilenet_v3_large_fpn",
    ),
    (
        re.compile(
            rf"faster{_SEP}r{_SEP}-?cnn(?:{_SEP}(?:with{_SEP})?resnet{_SEP}50)?(?:{_SEP}fpn)?(?:{_SEP}v2)?|"
            rf"패스터{_SEP}알{_SEP}씨{_SEP}엔{_SEP}엔",
            re.I,
        ),
        "fasterrcnn_resnet50_fpn_v2",
    ),
    (
        re.compile(
            rf"retina{_SEP}net(?:{_SEP}resnet{_SEP}50)?(?:{_SEP}fpn)?(?:{_SEP}v2)?|레티나{_SEP}넷", re.I
        ),
        "retinanet_resnet50_fpn_v2",
    ),
    (re.compile(rf"\bfcos(?:{_SEP}resnet{_SEP}50)?(?:{_SEP}fpn)?", re.I), "fcos_resnet50_fpn"),
    (
        re.compile(
            rf"\bssd{_SEP}(?:lite)?(?:{_SEP}320)?(?:{_SEP}mobile{_SEP}net(?:{_SEP}v?3)?(?:{_SEP}large)?)?",
            re.I,
        ),
        "ssdlite320_mobilenet_v3_large",
    ),
)

_TIMM_LIKE = re.compile(r"^[a-z][a-z0-9]*(?:[_.][a-z0-9]+)*$")
# "model: <name>" / "모델은 <name>": a name given explicitly after a keyword
_EXPLICIT_MODEL = re.compile(
    r"(?:\bmodel|\barchitecture|\bbackbone|\barch|모델|아키텍처|백본)\s*(?:은|는|을|를|:|=|is|to|as)?\s*"
    r"(?P<name>[A-Za-z][A-Za-z0-9_.\-]*+)",
    re.I,
)
_HAS_DIGIT_OR_UNDERSCORE = re.compile(r"[0-9_]")
_TOKEN = re.compile(r"(?<![A-Za-z0-9_.\-/])[A-Za-z][A-Za-z0-9_]*+(?:\.[A-Za-z0-9_]++)*+(?![A-Za-z0-9_/\-])")


@dataclass(frozen=True)
class ModelMention:
    name: str
    start: int
    end: int


def find_model(text: str) -> ModelMention | None:
    """The first known model family mentioned in free text, normalised to its timm name (or to its
    torchvision name for a detector)."""
    detector = _find_detector(text) or _misspelt_detector(text)
    if detector is not None:
        return detector
    best: ModelMention | None = None
    for family in _FAMILIES:
        for match in family.pattern.finditer(text):
            name = family.to_timm(match)
            if name and (best is None or match.start() < best.start):
                best = ModelMention(name, match.start(), match.end())
            break
    if best is not None:
        return best
    explicit = _EXPLICIT_MODEL.search(text)
    given = explicit.group("name").lower() if explicit else ""
    if (
        explicit
        and _TIMM_LIKE.match(given)
        and (_HAS_DIGIT_OR_UNDERSCORE.search(given) or is_known_model(given))
    ):
        return ModelMention(given, explicit.start("name"), explicit.end("name"))
    for token in _TOKEN.finditer(text):  # a timm name used as is: "train convnext_nano on cats"
        word = token.group(0).lower()
        if _HAS_DIGIT_OR_UNDERSCORE.search(word) and is_known_model(word):
            return ModelMention(word, token.start(), token.end())
    return None


_WORD_GOES_ON = re.compile(r"[A-Za-z0-9_]")  # "retinanet_resnet50_fpn_v3" is not retinanet_resnet50_fpn_v2


def _find_detector(text: str) -> ModelMention | None:
    found = [
        ModelMention(name, match.start(), match.end())
        for pattern, name in _DETECTOR_FAMILIES
        if (match := pattern.search(text)) and not _WORD_GOES_ON.match(text, match.end())
    ]
    found += [
        ModelMention(name, match.start(), match.end())
        for name in DETECTION_MODELS
        if (match := re.search(rf"(?<![\w-]){name}(?![\w-])", text, re.I))
    ]
    # the earliest, and of those the longest ("faster rcnn mobilenet 320" over "faster rcnn")
    return min(found, key=lambda mention: (mention.start, -mention.end), default=None)


def _misspelt_detector(text: str) -> ModelMention | None:
    """ "model retinanet_resnet50_fpn_v3": a name given after "model" that is nearly a detector's, as given
    (its backbone inside is not the model), so the answer can name the detector meant."""
    explicit = _EXPLICIT_MODEL.search(text)
    if explicit is None:
        return None
    given = explicit.group("name").lower()
    if difflib.get_close_matches(given, DETECTION_MODELS, n=1, cutoff=0.8):
        return ModelMention(given, explicit.start("name"), explicit.end("name"))
    return None


def is_detector(name: str) -> bool:
    return name in DETECTION_MODELS


def close_detectors(name: str, limit: int = 3) -> list[str]:
    """The detectors closest to `name` (a classifier name gets the ones sharing its backbone)."""
    matches = difflib.get_close_matches(name.lower()[:128], DETECTION_MODELS, n=limit, cutoff=0.3)
    return matches or list(DETECTION_MODELS[:limit])


def normalize_model_name(raw: str) -> str:
    """A timm name for `raw`: a known family's canonical name, else `raw` lowercased and trimmed."""
    text = raw.strip()
    for pattern, detector in _DETECTOR_FAMILIES:
        if pattern.fullmatch(text):
            return detector
    for family in _FAMILIES:
        match = family.pattern.fullmatch(text)
        if match and (name := family.to_timm(match)):
            return name
    return text.lower() if _TIMM_LIKE.match(text.lower()) else text


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, str | None]:
    data = json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    return dict(data["models"])


def timm_model_names() -> list[str]:
    return sorted(_catalogue())


def _architecture(name: str) -> str:
    """ "resnet50.a1_in1k" (a pretrained tag) → "resnet50"; "timm/resnet50" → "resnet50"."""
    return name.rsplit("/", 1)[-1].split(".", 1)[0]


def is_known_model(name: str) -> bool:
    return _architecture(name) in _catalogue()


def close_matches(name: str, limit: int = 5) -> list[str]:
    return difflib.get_close_matches(name.lower()[:128], timm_model_names(), n=limit, cutoff=0.6)


def weights_source(name: str) -> str | None:
    """Where timm gets `name`'s default pretrained weights: "hf:<repo>" (the Hugging Face hub),
    "url:<file>" (a download into the torch hub cache), or None when timm has none for it."""
    return _catalogue().get(_architecture(name))
