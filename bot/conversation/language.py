"""Which language to reply in: the language of the user's latest message (Hangul → Korean)."""

from __future__ import annotations

import re

_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_PATHS_AND_NUMBERS = re.compile(r"\S*/\S*|\d+(?:\.\d+)?(?:e-?\d+)?")
_ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")  # a whole token, so "ants_bees" or "resnet18" is no word


def detect_language(text: str, previous: str = "en") -> str:
    """ "ko" for Hangul, "en" for a sentence of English words, else the previous language (bare answers
    such as "50" or "./cats" keep the conversation's language)."""
    if _HANGUL.search(text):
        return "ko"
    tokens = _PATHS_AND_NUMBERS.sub(" ", text).split()
    words = [token for token in tokens if _ENGLISH_WORD.fullmatch(token.strip(".,!?;:'\"()"))]
    return "en" if len(words) >= 2 else previous
