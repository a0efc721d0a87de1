"""The one catalogue: every key in every language, placeholders that agree, English for unknown languages."""

import string
import types

import pytest

from bot import i18n


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_every_language():
    assert i18n.untranslated() == []


@pytest.mark.parametrize("key", sorted(i18n.CATALOGUE["en"]))
def test_languages_fill_the_same_placeholders(key):
    expected = _placeholders(i18n.CATALOGUE["en"][key])
    for language in i18n.LANGUAGES:
        assert _placeholders(i18n.CATALOGUE[language][key]) == expected, (language, key)


def test_unknown_language_is_english():
    assert i18n.t("fr", "cancelled") == i18n.t("en", "cancelled")
    assert i18n.t(None, "cancelled") == i18n.t("en", "cancelled")
    assert i18n.t("ko", "cancelled") != i18n.t("en", "cancelled")


def test_a_key_defined_twice_is_an_error():
    area = types.ModuleType("area")
    area.TEXTS = {"en": {"k": "a"}, "ko": {"k": "가"}}  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="'k'"):
        i18n._merge((area, area))
