"""The one catalogue of everything the bot says to a person, in English and Korean.

Each area keeps its texts in a module of this package (`conversation.py`, ...) as
`TEXTS = {"en": {key: text}, "ko": {key: text}}`, with the same keys in both languages; AREAS lists
the modules. `t(language, key, **values)` formats one text; an unknown language gets English.

A Korean text writes a particle after a value as a pair, `{model}을(를)`, `{path}(으)로`
(bot/i18n/particles.py); `t` and `fill` replace it by the form that fits the value.

Texts use only a neutral markup, *bold* and `code`, which each front end renders its own way (Slack as
mrkdwn, the console as plain text). Values are inserted as given: escaping them is the front end's job.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import Any

from bot.i18n import (
    backends,
    console,
    conversation,
    detection,
    particles,
    policy,
    predict,
    runs,
    slack,
    sweeps,
    uploads,
)

LANGUAGES = ("en", "ko")
DEFAULT_LANGUAGE = "en"
AREAS: tuple[ModuleType, ...] = (
    conversation,
    runs,
    slack,
    console,
    uploads,
    predict,
    backends,
    policy,
    sweeps,
    detection,
)


def _merge(areas: tuple[ModuleType, ...]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
    for area in areas:
        texts: Mapping[str, Mapping[str, str]] = area.TEXTS
        for language in LANGUAGES:
            for key, value in texts.get(language, {}).items():
                if key in merged[language]:
                    raise ValueError(f"catalogue key {key!r} is defined twice ({area.__name__})")
                merged[language][key] = value
    return merged


CATALOGUE = _merge(AREAS)


def language_or_default(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


# the front end speaking: a key may have a variant for it, `key@console`, worded for a terminal (no buttons)
_FRONT_END: ContextVar[str | None] = ContextVar("front_end", default=None)


@contextmanager
def front_end(name: str) -> Iterator[None]:
    """Texts asked for inside the block use `key@name` where the catalogue has such a variant."""
    token = _FRONT_END.set(name)
    try:
        yield
    finally:
        _FRONT_END.reset(token)


def template(language: str | None, key: str) -> str:
    """The text `key` in `language` (English when the language is unknown), placeholders unfilled; the
    front end's variant of it when there is one."""
    texts = CATALOGUE[language_or_default(language)]
    return texts.get(f"{key}@{_FRONT_END.get()}") or texts[key]


def t(language: str | None, key: str, **values: Any) -> str:
    """The text `key` in `language` (English when the language is unknown), with `values` filled in."""
    return fill(language, template(language, key), **values)


def fill(language: str | None, text: str, **values: Any) -> str:
    """A template (as `template` gives it, maybe escaped by a front end) with `values` filled in and, in
    Korean, each particle fitted to the value before it."""
    filled = text.format(**values)
    return particles.resolve(filled) if language_or_default(language) == "ko" else filled


def untranslated() -> list[str]:
    """Keys that some language lacks (the catalogue test requires none)."""
    keys = set().union(*(CATALOGUE[language] for language in LANGUAGES))
    return sorted(
        f"{language}:{key}" for key in keys for language in LANGUAGES if key not in CATALOGUE[language]
    )
