"""One conversation step: the draft so far + a parsed message → the new draft and the reply.

No database and no network: the service loads and saves the state around this. Every proposed value,
from either parser, is validated here field by field; a bad value is refused with the reason and the
draft keeps its previous value (nothing is clamped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.conversation import messages as msg
from bot.conversation.answers import AnswerContext, answer, duration_text, estimate
from bot.conversation.datasets import (
    DatasetPathError,
    DatasetSummary,
    list_datasets,
    resolve_dataset_path,
    shown_dataset_path,
    summarize_dataset,
)
from bot.conversation.facts import FactsProvider, GpuLimit, OfflineFacts, gpu_limit
from bot.conversation.model_names import close_matches, is_known_model, normalize_model_name
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
    facts: FactsProvider | None = None  # None: OfflineFacts (no database, no network)

    def facts_provider(self) -> FactsProvider:
        return self.facts or OfflineFacts(self.data_root)


@dataclass
class StepResult:
    draft: dict[str, Any]
    asked_field: str | None
    reply: str
    missing: list[str]
    changed: list[str] = field(default_factory=list)
    complete: bool = False  # the reply is the summary of a complete config (shown with Start)
    ready: bool = False  # the draft is complete (also after a question, which shows no summary)
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


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _refuse(turn: _Turn, name: str, value: Any, error: FieldError) -> None:
    """A refused value, with the field's own range when it is a number (never clamped into it)."""
    label = msg.label(turn.language, name)
    kept = _kept(turn, name)
    if name in _RANGES and _numeric(value):
        low, high = _RANGES[name]
        number = float(value)
        whole = name == "learning_rate" or not math.isfinite(number) or number.is_integer()
        key = "out_of_range" if whole else "not_whole"
        shown = value if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else value
        turn.lines.append(
            msg.text(turn.language, key, label=label, low=low, high=high, value=shown, kept=kept)
        )
    else:
        turn.lines.append(msg.text(turn.language, "invalid", label=label, value=value, reason=error.message))


def _refuse_model(turn: _Turn, value: str) -> None:
    kept = _kept(turn, "model")
    matches = close_matches(value)
    if matches:
        shown = ", ".join(f"`{name}`" for name in matches)
        turn.lines.append(msg.text(turn.language, "unknown_model", value=value, matches=shown, kept=kept))
    else:
        turn.lines.append(msg.text(turn.language, "unknown_model_no_match", value=value, kept=kept))


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
    if name == "model" and not is_known_model(valid):
        _refuse_model(turn, valid)
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
    if name == "gpus" and valid > (limit := gpu_limit(turn.options.facts_provider())).most:
        turn.lines.append(_too_many_gpus(turn, valid, limit))
        return
    if name == "num_classes" and (actual := _known_class_count(turn)) is not None and actual != valid:
        turn.lines.append(msg.text(turn.language, "classes_disagree", stated=valid, actual=actual))
        return
    _set(turn, name, valid)


def _too_many_gpus(turn: _Turn, value: int, limit: GpuLimit) -> str:
    """More GPUs than one run can have here: this host's, or one node's of the Slurm partition."""
    lang, kept = turn.language, _kept(turn, "gpus")
    if limit.on_slurm:
        partition = (
            msg.text(lang, "slurm_partition", name=limit.partition)
            if limit.partition
            else msg.text(lang, "slurm_default_partition")
        )
        return msg.text(
            lang, "gpus_over_partition", partition=partition, found=limit.found, most=limit.most,
            value=value, kept=kept,
        )  # fmt: skip
    key = "gpus_over_host" if limit.found else "gpus_over_host_none"
    return msg.text(lang, key, found=limit.found, most=limit.most, value=value, kept=kept)


def _summary_lines(turn: _Turn, config: TrainingConfig) -> list[str]:
    """Every setting, the pretrained line as this host can honour it, and a time estimate when there is
    a basis for one."""
    lang = turn.language
    facts = turn.options.facts_provider()
    lines = [msg.text(lang, "summary_title")]
    for name in _SUMMARY_ORDER:
        value = getattr(config, name)
        if name == "dataset_path":
            shown = f"`{_shown_dataset_path(value, turn.options.data_root)}`"
        elif name == "pretrained" and value:
            shown = msg.text(lang, f"summary_weights_{facts.weights(config.model).status}")
        else:
            shown = msg.format_value(lang, name, value)
        suffix = "" if name in turn.draft or name == "dataset_path" else f" ({msg.text(lang, 'default')})"
        lines.append(f"• {msg.label(lang, name)}: {shown}{suffix}")
    found = estimate(_answer_context(turn, []), config.epochs) if turn.summary else None
    if found is not None:
        lines.append(
            "• " + msg.text(lang, "summary_estimate", total=duration_text(lang, found[0]), runs=found[1].runs)
        )
    return lines


def _answer_context(turn: _Turn, missing: list[str]) -> AnswerContext:
    return AnswerContext(
        turn.language, dict(turn.draft), turn.summary, turn.options.facts_provider(), missing
    )


def _shown_dataset_path(path: str, data_root: Path) -> str:
    return shown_dataset_path(path, data_root)


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


def _dataset_summary(turn: _Turn) -> DatasetSummary | None:
    if "dataset_path" not in turn.draft:
        return None
    try:
        return _summarize(turn, turn.draft["dataset_path"])[1]
    except DatasetPathError:
        return None


def _next_step(turn: _Turn, missing: list[str]) -> str:
    return _question(turn, missing[0]) if missing else msg.text(turn.language, "next_ready")


_THANKS = ("thank", "thx", "ty", "cheers", "고마", "감사", "땡큐", "🙏")
_HELLO = ("hi", "hello", "hey", "yo", "good", "안녕", "하이", "ㅎㅇ")


def _smalltalk_line(language: str, text: str) -> str | None:
    lowered = text.strip().lower()
    if lowered.startswith(_THANKS):
        return msg.text(language, "thanks")
    if lowered.startswith(_HELLO):
        return msg.text(language, "hello")
    return None  # "ok", "좋아": only the next step


def _reply_only(
    draft: dict[str, Any], parsed: ParseResult, text: str, *, language: str, options: EngineOptions
) -> StepResult:
    """A question, a command or small talk: answered, and the draft stays exactly as it was."""
    turn = _Turn(language=language, options=options, draft=dict(draft))
    missing = [name for name in REQUIRED_ORDER if name not in turn.draft]
    turn.summary = _dataset_summary(turn)
    lines: list[str] = []
    asked = missing[0] if missing else None
    if parsed.intent == "question" and parsed.question is not None:
        lines = answer(parsed.question, _answer_context(turn, missing))
        lines.append(_next_step(turn, missing))
    elif parsed.intent == "smalltalk":
        greeting = _smalltalk_line(language, text)
        lines = [greeting, _next_step(turn, missing)] if greeting else [_next_step(turn, missing)]
    elif parsed.command == "help":
        lines = [msg.text(language, "help"), _next_step(turn, missing)]
    elif parsed.command == "start":
        needed = ", ".join(msg.label(language, name) for name in missing)
        lines = [msg.text(language, "start_not_ready", missing=needed)] if missing else []
        lines.append(_next_step(turn, missing))
    elif parsed.command is not None:
        # the front end acts on status, list, stop and resume; this reply is for one that does not
        lines = [msg.text(language, f"command_{parsed.command}")]
    return StepResult(
        draft=turn.draft,
        asked_field=asked,
        reply="\n".join(parsed.notices + lines),
        missing=missing,
        ready=not missing,
        dataset_summary=turn.summary,
    )


def step(
    draft: dict[str, Any], parsed: ParseResult, *, language: str, options: EngineOptions, text: str = ""
) -> StepResult:
    """Apply one parsed message to the draft and write the reply."""
    if parsed.intent == "cancel":
        return StepResult(
            draft=dict(draft),
            asked_field=None,
            reply=msg.text(language, "cancelled"),
            missing=[],
            cancelled=True,
        )
    if parsed.intent != "settings":
        return _reply_only(draft, parsed, text, language=language, options=options)
    turn = _Turn(language=language, options=options, draft=dict(draft))

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
    if parsed.unattached and not turn.changed:
        turn.lines.append(msg.text(language, "unattached", value=parsed.unattached[-1]))

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
        ready=config is not None,
        config=config,
        dataset_summary=turn.summary,
    )
