"""Finding English sentences in what the bot told a Korean user (model names, numbers, file names,
code spans and units aside)."""

from __future__ import annotations

import json
import re
from typing import Any

_THREE_WORDS = re.compile(r"\b[A-Za-z]{2,}\b(?:[ ,]+\b[A-Za-z]{2,}\b){2,}")  # three English words in a row
_ASIDE = re.compile(r"`[^`]*`|\S*[/_.]\S*|<@[A-Z0-9]+>")  # code spans, paths and names, mentions


def english_sentences(text: str) -> list[str]:
    return [line for line in re.split(r"[\n\r]", text) if _THREE_WORDS.search(_ASIDE.sub(" ", line))]


def texts_of_blocks(blocks: list[dict[str, Any]] | None) -> str:
    """Every text a person sees in Block Kit blocks (sections, buttons, confirm dialogs)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(json.dumps(blocks or [])))
    return "\n".join(found)
