"""Reply texts in Korean and English, in the catalogue's neutral markup (*bold*, `code`, • bullets): each
front end renders and escapes them (bot/slack escapes Slack's control characters)."""

from __future__ import annotations

from typing import Any

from bot.i18n import CATALOGUE, LANGUAGES, language_or_default, t
from training.config import FIELD_SPECS

# from each field's declaration in training/config.py
FIELD_LABELS = {
    language: {name: spec.labels[language] for name, spec in FIELD_SPECS.items() if language in spec.labels}
    for language in LANGUAGES
}


MAX_ECHO_CHARS = 200


def clip_echo(value: str) -> str:
    """User-supplied text echoed in a reply, cut short when long."""
    return value[:MAX_ECHO_CHARS] + "…" if len(value) > MAX_ECHO_CHARS else value


MAX_ANSWER_CHARS = 1500


def slack_safe_long(value: str) -> str:
    """A longer text the model wrote (Claude's answer): escaped like an echo, cut at MAX_ANSWER_CHARS."""
    if len(value) > MAX_ANSWER_CHARS:
        value = value[:MAX_ANSWER_CHARS] + "…"
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def text(language: str, key: str, **values: Any) -> str:
    clipped = {name: clip_echo(v) if isinstance(v, str) else v for name, v in values.items()}
    return t(language, key, **clipped)


def label(language: str, field: str) -> str:
    return FIELD_LABELS.get(language, FIELD_LABELS["en"]).get(field, field)


def format_value(language: str, field: str, value: Any) -> str:
    if field == "num_classes" and value is None:
        return text(language, "auto_classes")
    if field == "pretrained":
        return text(language, "yes" if value else "no")
    if field == "learning_rate":
        return f"{value:g}"
    if field == "image_size":
        return f"{value}px"
    if field == "task" and f"task_{value}" in CATALOGUE[language_or_default(language)]:
        return text(language, f"task_{value}")  # "분류", not "classification"
    return str(value)
