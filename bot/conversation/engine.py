"""One conversation step: the draft so far + a parsed message → the new draft and the reply.

No database and no network: the service loads and saves the state around this. Every proposed value,
from either parser, is validated here field by field; a bad value is refused with the reason and the
draft keeps its previous value (nothing is clamped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.conversation import messages as msg
from bot.conversation.datasets import (
    DatasetPathError,
    DatasetSummary,
    list_datasets,
    resolve_dataset_path,
    summarize_dataset,
)
from bot.conversation.model_names import normalize_model_name
from bot.conversation.parsing import ParseResult
from training.config import (
    EPOCHS_RANGE,
    FIELD_NAMES,
    NUM_CLASSES_RANGE,
    Bounds,
    FieldError,
    TrainingConfig,
    field_bounds,
    field_defaults,
    validate_field,
)

# asked in this order; everything else has a default
REQUIRED_ORDER = ("dataset_path", "epochs")


def _shown_range(bounds: Bounds) -> tuple[Any, Any]:
    low = f"{bounds.low:g} (exclusive)" if bounds.low_exclusive else bounds.low
    high = f"{bounds.high:g} (exclusive)" if bounds.high_exclusive else bounds.high
    return low, high


# the range a refused value is answered with, for the fields bounded on both sides
_RANGES: dict[str, tuple[Any, Any]] = {
    name: _shown_range(bounds)
    for name in FIELD_NAMES
    if (bounds := field_bounds(name)) is not None and None not in (bounds.low, bounds.high)
}
_SUMMARY_ORDER = FIELD_NAMES


@dataclass(frozen=True)
class EngineOptions:
    data_root: Path
    max_epochs: int = EPOCHS_RANGE[1]
    dataset_must_exist: bool = True  # False for the offline `parse` tool: containment is still checked


@dataclass
class StepResult:
    draft: dict[str, Any]
    asked_field: str | None
    reply: str
    missing: list[str]
    changed: list[str] = field(default_factory=list)
    complete: bool = False
    cancelled: bool = False
    config: TrainingConfig | None = None
    dataset_summary: DatasetSummary | None = None


@dataclass
class _Turn:
    """Scratch state while one message is applied."""

    language: str
    options: EngineOptions
    draft: dict[str, Any]
    lines: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    summary: DatasetSummary | None = None


def _kept(turn: _Turn, name: str) -> str:
    if name in turn.draft:
        return msg.format_value(turn.language, name, turn.draft[name])
    default = msg.format_value(turn.language, name, field_defaults().get(name))
    return msg.text(turn.language, "kept_default", value=default)


def _refuse(turn: _Turn, name: str, value: Any, error: FieldError) -> None:
    label = msg.label(turn.language, name)
    kept = _kept(turn, name)
    if name in _RANGES and isinstance(value, int | float) and not isinstance(value, bool):
        low, high = _RANGES[name]
        turn.lines.append(
            msg.text(turn.language, "out_of_range", label=label, low=low, high=high, value=value, kept=kept)
        )
    else:
        turn.lines.append(msg.text(turn.language, "invalid", label=label, value=value, reason=error.message))


def _set(turn: _Turn, name: str, value: Any) -> None:
    if turn.draft.get(name) != value:
        turn.draft[name] = value
    if name not in turn.changed:
        turn.changed.append(name)


def _summarize(turn: _Turn, user_path: str) -> tuple[Path, DatasetSummary | None]:
    """Resolve and summarise; raises DatasetPathError. The summary is None for an unchecked path."""
    options = turn.options
    path = resolve_dataset_path(user_path, options.data_root, must_exist=options.dataset_must_exist)
    try:
        exists = path.is_dir()
    except OSError:  # e.g. a name too long for the file system: cannot exist
        exists = False
    if not exists:
        return path, None
    return path, summarize_dataset(path)


def _dataset_error(turn: _Turn, value: str, error: DatasetPathError) -> None:
    if error.reason == "outside":
        turn.lines.append(msg.text(turn.language, "path_outside", value=value))
    elif error.reason == "empty":
        turn.lines.append(msg.text(turn.language, "path_empty", value=value))
    else:
        names = ", ".join(f"`{name}`" for name in error.available) or msg.text(turn.language, "no_datasets")
        turn.lines.append(msg.text(turn.language, "path_not_found", value=value, names=names))


def _apply_dataset(turn: _Turn, value: Any, stated_classes: int | None) -> None:
    user_path = str(value).strip().strip("'\"`")
    try:
        validate_field("dataset_path", user_path)
    except FieldError as error:
        _refuse(turn, "dataset_path", user_path, error)
        return
    try:
        _path, summary = _summarize(turn, user_path)
    except DatasetPathError as error:
        _dataset_error(turn, user_path, error)
        return
    _set(turn, "dataset_path", user_path)
    if summary is None:
        turn.lines.append(msg.text(turn.language, "not_checked", value=user_path))
        return
    turn.summary = summary
    classes = ", ".join(f"{name} {summary.counts[name]}" for name in summary.classes[:12])
    if len(summary.classes) > 12:
        classes += ", …"
    turn.lines.append(
        msg.text(
            turn.language,
            "dataset_found",
            name=user_path,
            count=len(summary.classes),
            images=summary.total_images,
            classes=classes,
        )
    )
    actual = len(summary.classes)
    if stated_classes is not None and stated_classes != actual:
        turn.lines.append(msg.text(turn.language, "classes_disagree", stated=stated_classes, actual=actual))
    if actual >= NUM_CLASSES_RANGE[0]:
        _set(turn, "num_classes", actual)


def _known_class_count(turn: _Turn) -> int | None:
    if "dataset_path" not in turn.draft:
        return None
    try:
        _path, summary = _summarize(turn, turn.draft["dataset_path"])
    except DatasetPathError:
        return None
    return len(summary.classes) if summary else None


def _apply_field(turn: _Turn, name: str, value: Any) -> None:
    if name == "model" and isinstance(value, str):
        value = normalize_model_name(value)
    try:
        valid = validate_field(name, value)
    except FieldError as error:
        _refuse(turn, name, value, error)
        return
    if name == "epochs" and valid > turn.options.max_epochs:
        turn.lines.append(
            msg.text(
                turn.language,
                "too_many_epochs",
                max=turn.options.max_epochs,
                value=valid,
                kept=_kept(turn, name),
            )
        )
        return
    if name == "num_classes" and (actual := _known_class_count(turn)) is not None and actual != valid:
        turn.lines.append(msg.text(turn.language, "classes_disagree", stated=valid, actual=actual))
        return
    _set(turn, name, valid)


def _summary_lines(turn: _Turn, config: TrainingConfig) -> list[str]:
    lang = turn.language
    lines = [msg.text(lang, "summary_title")]
    for name in _SUMMARY_ORDER:
        value = getattr(config, name)
        shown = (
            f"`{_shown_dataset_path(value, turn.options.data_root)}`"
            if name == "dataset_path"
            else msg.format_value(lang, name, value)
        )
        suffix = "" if name in turn.draft or name == "dataset_path" else f" ({msg.text(lang, 'default')})"
        lines.append(f"• {msg.label(lang, name)}: {shown}{suffix}")
    lines.append(msg.text(lang, "summary_footer"))
    return lines


def _shown_dataset_path(path: str, data_root: Path) -> str:
    """The dataset as users name it (relative to DATA_ROOT), not the server's absolute path."""
    try:
        return str(Path(path).relative_to(data_root.resolve()))
    except ValueError:
        return path


def _question(turn: _Turn, name: str) -> str:
    if name == "epochs":
        return msg.text(turn.language, "ask_epochs", max=turn.options.max_epochs)
    question = msg.text(turn.language, "ask_dataset_path")
    names = list_datasets(turn.options.data_root)
    if names:
        shown = ", ".join(f"`{name}`" for name in names[:20])
        question += " " + msg.text(turn.language, "ask_dataset_path_available", names=shown)
    return question


def _complete(turn: _Turn) -> TrainingConfig | None:
    """The full config with the dataset's absolute path, or None when the dataset has gone away."""
    try:
        path, summary = _summarize(turn, turn.draft["dataset_path"])
    except DatasetPathError as error:
        _dataset_error(turn, turn.draft.pop("dataset_path"), error)
        return None
    turn.summary = turn.summary or summary
    return config_from_draft(turn.draft, path)


def config_from_draft(draft: dict[str, Any], dataset: Path) -> TrainingConfig:
    """The full config of a complete draft: defaults filled in, the dataset's resolved absolute path."""
    values = {**field_defaults(), **draft, "dataset_path": str(dataset)}
    return TrainingConfig(**{name: values[name] for name in FIELD_NAMES if name in values})


def step(draft: dict[str, Any], parsed: ParseResult, *, language: str, options: EngineOptions) -> StepResult:
    """Apply one parsed message to the draft and write the reply."""
    turn = _Turn(language=language, options=options, draft=dict(draft))
    if parsed.intent == "cancel":
        return StepResult(
            draft=turn.draft,
            asked_field=None,
            reply=msg.text(language, "cancelled"),
            missing=[],
            cancelled=True,
        )

    updates = {
        name: value for name, value in parsed.updates.items() if name in FIELD_NAMES and value is not None
    }
    stated_classes = updates.get("num_classes") if isinstance(updates.get("num_classes"), int) else None
    if stated_classes is None and "dataset_path" not in draft:
        stated_classes = draft.get("num_classes")
    if "dataset_path" in updates:
        _apply_dataset(turn, updates.pop("dataset_path"), stated_classes)
        if turn.summary is not None:
            updates.pop("num_classes", None)
    for name, value in updates.items():
        _apply_field(turn, name, value)

    # the dataset and the class count it brings are reported by the "dataset found" line
    reported = {"dataset_path", "num_classes"} if turn.summary is not None else {"dataset_path"}
    announced = [name for name in turn.changed if name not in reported]
    if announced:
        changes = ", ".join(
            f"{msg.label(language, name)} {msg.format_value(language, name, turn.draft[name])}"
            for name in announced
        )
        turn.lines.insert(0, msg.text(language, "set", changes=changes))
    elif not turn.lines and not parsed.updates and draft:
        turn.lines.append(msg.text(language, "nothing_understood"))

    missing = [name for name in REQUIRED_ORDER if name not in turn.draft]
    config = _complete(turn) if not missing else None
    missing = [name for name in REQUIRED_ORDER if name not in turn.draft]
    if config is not None:
        turn.lines.extend(_summary_lines(turn, config))
    else:
        turn.lines.append(_question(turn, missing[0]))
    return StepResult(
        draft=turn.draft,
        asked_field=missing[0] if missing else None,
        reply="\n".join(parsed.notices + turn.lines),
        missing=missing,
        changed=turn.changed,
        complete=config is not None,
        config=config,
        dataset_summary=turn.summary,
    )
