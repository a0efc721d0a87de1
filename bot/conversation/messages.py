"""Reply texts in Korean and English. Plain text with Slack mrkdwn (*bold*, `code`, • bullets)."""

from __future__ import annotations

from typing import Any

from bot.i18n import t

FIELD_LABELS = {
    "en": {
        "model": "model",
        "task": "task",
        "dataset_path": "dataset",
        "num_classes": "classes",
        "epochs": "epochs",
        "batch_size": "batch size",
        "learning_rate": "learning rate",
        "image_size": "image size",
        "pretrained": "pretrained weights",
    },
    "ko": {
        "model": "모델",
        "task": "작업",
        "dataset_path": "데이터셋",
        "num_classes": "클래스 수",
        "epochs": "Epochs",
        "batch_size": "배치 크기",
        "learning_rate": "학습률",
        "image_size": "이미지 크기",
        "pretrained": "사전학습 가중치",
    },
}


MAX_ECHO_CHARS = 200


def slack_safe(value: str) -> str:
    """User-supplied text echoed in a reply: Slack's control characters escaped (so "<!channel>" stays
    text), and long input cut short."""
    if len(value) > MAX_ECHO_CHARS:
        value = value[:MAX_ECHO_CHARS] + "…"
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def text(language: str, key: str, **values: Any) -> str:
    escaped = {name: slack_safe(v) if isinstance(v, str) else v for name, v in values.items()}
    return t(language, key, **escaped)


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
    return str(value)
