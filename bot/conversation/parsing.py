"""What a parser returns for one user message, and what it is told about the conversation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Intent = Literal["cancel"]


@dataclass(frozen=True)
class ParseContext:
    asked_field: str | None  # the field the bot asked for last: a bare answer fills it
    last_field: str | None  # the field the user changed last: "actually 30" corrects it
    draft: dict[str, Any] = field(default_factory=dict)
    language: str = "en"


@dataclass
class ParseResult:
    """Proposed field updates (TrainingConfig names, not yet validated) and an optional intent."""

    updates: dict[str, Any] = field(default_factory=dict)
    intent: Intent | None = None
    notices: list[str] = field(default_factory=list)  # e.g. "Claude unavailable; used the built-in parser"


class Parser(Protocol):
    def parse(self, text: str, context: ParseContext) -> ParseResult: ...
