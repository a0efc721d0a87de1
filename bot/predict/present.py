"""The words of a prediction reply, from the catalogue, in the user's language (neutral markup)."""

from __future__ import annotations

from bot.i18n import t
from bot.predict.client import ImageResult
from bot.predict.files import Problem

LISTED_LINES = 20  # refusals shown one per line; the rest are counted
LISTED_CHARS = 3000  # well inside one Slack message, however long the names


def listed(lines: list[str], language: str) -> list[str]:
    """The first lines that fit LISTED_LINES and LISTED_CHARS, then "and N more" for the rest."""
    shown: list[str] = []
    used = 0
    for line in lines:
        if len(shown) == LISTED_LINES or used + len(line) > LISTED_CHARS:
            break
        shown.append(line)
        used += len(line) + 1
    if len(shown) < len(lines):
        shown.append(t(language, "predict_more", count=f"{len(lines) - len(shown):,}"))
    return shown


def prediction_text(
    language: str, run_id: int, model: str, results: list[ImageResult | Problem], problems: list[Problem]
) -> str:
    answered = [r for r in results if isinstance(r, ImageResult)]
    refused = problems + [r for r in results if isinstance(r, Problem)]
    lines = [t(language, "predict_header", run_id=run_id, model=model)] if answered else []
    for result in answered:
        top = ", ".join(
            t(language, "predict_class", label=label, probability=f"{p:.1%}") for label, p in result.top
        )
        lines.append(t(language, "predict_line", name=result.name, top=top))
    reasons = [t(language, f"predict_problem_{p.code}", name=p.name, detail=p.detail) for p in refused]
    lines += listed(reasons, language)
    if not answered:
        lines.append(t(language, "predict_nothing"))
    return "\n".join(lines)
