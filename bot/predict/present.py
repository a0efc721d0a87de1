"""The words of a prediction reply, from the catalogue, in the user's language (neutral markup)."""

from __future__ import annotations

from bot.i18n import t
from bot.predict.client import Box, DetectionResult, ImageResult
from bot.predict.files import Problem

LISTED_LINES = 20  # refusals shown one per line; the rest are counted
LISTED_CHARS = 3000  # well inside one Slack message, however long the names
SCORES_SHOWN = 3  # a class's top scores listed in a detection line


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
    return _ending(language, lines, refused, bool(answered))


def detection_text(
    language: str,
    run_id: int,
    model: str,
    conf: float,
    results: list[DetectionResult | Problem],
    problems: list[Problem],
) -> str:
    """One line per image: its boxes counted per class with the top scores ("scratch 3 (0.91, 0.84,
    0.62), dent 1 (0.55)"), or that none scored `conf` or more; then the refused files."""
    answered = [r for r in results if isinstance(r, DetectionResult)]
    refused = problems + [r for r in results if isinstance(r, Problem)]
    shown_conf = f"{conf:g}"
    header = t(language, "det_predict_header", run_id=run_id, model=model, conf=shown_conf)
    lines = [header] if answered else []
    for result in answered:
        if not result.boxes:
            lines.append(t(language, "det_predict_none", name=result.name, conf=shown_conf))
            continue
        found = ", ".join(class_counts(language, result.boxes))
        lines.append(t(language, "det_predict_line", name=result.name, found=found))
    return _ending(language, lines, refused, bool(answered))


def _ending(language: str, lines: list[str], refused: list[Problem], answered: bool) -> str:
    """The answered images' lines, then why each refused file was refused, or that nothing was answered."""
    reasons = [t(language, f"predict_problem_{p.code}", name=p.name, detail=p.detail) for p in refused]
    lines += listed(reasons, language)
    if not answered:
        lines.append(t(language, "predict_nothing"))
    return "\n".join(lines)


def class_counts(language: str, boxes: list[Box]) -> list[str]:
    """Each class found, most boxes first (ties: best score first), with its top scores."""
    by_class: dict[str, list[float]] = {}
    for box in boxes:  # best first, so each class's scores are too
        by_class.setdefault(box.label, []).append(box.score)
    ordered = sorted(by_class.items(), key=lambda item: (-len(item[1]), -item[1][0]))
    return [
        t(
            language,
            "det_predict_class",
            label=label,
            count=len(scores),
            scores=", ".join(f"{score:.2f}" for score in scores[:SCORES_SHOWN]),
        )
        for label, scores in ordered
    ]
