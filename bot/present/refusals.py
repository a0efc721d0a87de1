"""A policy refusal (bot/policy.py) in words: the catalogue's sentence for its reason and action."""

from __future__ import annotations

from typing import Any

from bot.i18n import CATALOGUE, DEFAULT_LANGUAGE, t
from bot.policy import Refusal


def refusal_key(refusal: Refusal) -> str:
    specific = f"refusal_{refusal.reason.value}_{refusal.action.value}"
    return specific if specific in CATALOGUE[DEFAULT_LANGUAGE] else f"refusal_{refusal.reason.value}"


def refusal_values(refusal: Refusal) -> dict[str, Any]:
    """The sentence's values but the owner, whom each front end names its own way."""
    return {"run_id": refusal.run_id, "seconds": refusal.retry_after_s}


def refusal_text(language: str, refusal: Refusal) -> str:
    """Neutral text (the console): the owner by user id."""
    return t(language, refusal_key(refusal), owner=refusal.owner or "", **refusal_values(refusal))
