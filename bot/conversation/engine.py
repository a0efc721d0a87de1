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
from bot.conversation.answers import AnswerContext, answer, detection_guess, duration_text, estimate
from bot.conversation.datasets import (
    DatasetPathError,
    DatasetSummary,
    list_datasets,
    resolve_dataset_path,
    shown_dataset_path,
    summarize_dataset,
)
from bot.conversation.facts import FactsProvider, GpuLimit, OfflineFacts, gpu_limit
from bot.conversation.model_names import (
    close_detectors,
    close_matches,
    is_detector,
    is_known_model,
    normalize_model_name,
)
from bot.conversation.parsing import ParseResult
from bot.conversation.tasks import CLASSIFICATION, DETECTION, task_defaults, task_of
from training.config import (
    EPOCHS_RANGE,
    FIELD_NAMES,
    NUM_CLASSES_RANGE,
    Bounds,
    FieldError,
    TrainingConfig,
    field_bounds,
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
    continues_run_id: int | None = None  # the run whose last checkpoint the new run starts from
    task_stated: bool = False  # this message names the task (even the one the draft already has)


def _kept(turn: _Turn, name: str) -> str:
    if name in turn.draft:
        return msg.format_value(turn.language, name, turn.draft[name])
    default = msg.format_value(turn.language, name, task_defaults(task_of(turn.draft)).get(name))
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


CLASSIFIER_EXAMPLES = ("resnet50", "efficientnet_b0", "convnext_tiny")


def _refuse_model_for_task(turn: _Turn, value: str) -> None:
    """A classifier named for a detector (or the reverse), or a detector that does not exist."""
    kept = _kept(turn, "model")
    if task_of(turn.draft) == DETECTION:
        key = "unknown_detector" if not is_known_model(value) else "classifier_for_detection"
        shown = ", ".join(f"`{name}`" for name in close_detectors(value))
    else:
        key = "detector_for_classification"
        backbones = [part for part in value.split("_") if is_known_model(part)]  # resnet50 of a detector
        shown = ", ".join(f"`{name}`" for name in backbones or CLASSIFIER_EXAMPLES)
    turn.lines.append(msg.text(turn.language, key, value=value, matches=shown, kept=kept))


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
    elif error.reason == "detection_invalid":
        turn.lines.append(
            msg.text(
                turn.language,
                "detection_dataset_refused",
                name=value,
                format=error.format,
                reason=error.message,
            )
        )
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
    if summary is not None and summary.task != task_of(turn.draft):
        if "task" in turn.draft or turn.task_stated or summary.task == CLASSIFICATION:
            turn.lines.append(_mismatch(turn, user_path, summary))  # explained, not half-accepted
            return
        turn.lines.append(msg.text(turn.language, "task_from_dataset", name=user_path))
        _switch_task(turn, summary.task)
    _set(turn, "dataset_path", user_path)
    if summary is None:
        turn.lines.append(msg.text(turn.language, "not_checked", value=user_path))
        return
    turn.summary = summary
    turn.lines.extend(dataset_lines(turn.language, user_path, summary))
    actual = len(summary.classes)
    if stated_classes is not None and stated_classes != actual:
        turn.lines.append(msg.text(turn.language, "classes_disagree", stated=stated_classes, actual=actual))
    if actual >= NUM_CLASSES_RANGE[0]:
        _set(turn, "num_classes", actual)


def _mismatch(turn: _Turn, name: str, summary: DatasetSummary) -> str:
    """Why a classification dataset can't feed a detector (or the reverse), and how to fix it."""
    shown_format = summary.detection.format.upper() if summary.detection else ""
    return msg.text(turn.language, f"dataset_is_{summary.task}", name=name, format=shown_format)


def dataset_lines(language: str, name: str, summary: DatasetSummary) -> list[str]:
    """The dataset as the thread is told about it: classes and images, for detection the format, boxes
    per class, images without boxes and the trainer's warnings worded for a person."""
    classes = ", ".join(f"{label} {summary.counts.get(label, 0)}" for label in summary.classes[:12])
    if len(summary.classes) > 12:
        classes += ", …"
    report = summary.detection
    if report is None:
        return [
            msg.text(
                language, "dataset_found", name=name, count=len(summary.classes),
                images=summary.total_images, classes=classes,
            )
        ]  # fmt: skip
    lines = [
        msg.text(
            language, "dataset_found_detection", name=name, format=report.format.upper(),
            count=len(summary.classes), images=report.images, boxes=report.boxes, classes=classes,
            empty=report.images_without_boxes,
        )
    ]  # fmt: skip
    for code in _DETECTION_WARNINGS:
        if count := getattr(report, code):
            lines.append("• " + msg.text(language, f"detection_warning_{code}", n=count))
    return lines


# the report's counters a person is told about, in this order
_DETECTION_WARNINGS = (
    "unreadable_images", "labels_without_images", "images_without_labels", "clipped_boxes",
    "duplicate_boxes", "tiny_boxes", "resized_annotations", "crowd_boxes",
)  # fmt: skip


def _switch_task(turn: _Turn, task: str) -> None:
    """Set the task; a model of the other task goes back to the new task's default (said so), and a
    dataset of the other kind is taken off with the reason (the next question asks for another)."""
    _set(turn, "task", task)
    model = turn.draft.get("model")
    if model is not None and is_detector(model) != (task == DETECTION):
        del turn.draft["model"]
        new = task_defaults(task)["model"]
        shown_task = msg.format_value(turn.language, "task", task)
        turn.lines.append(
            msg.text(turn.language, "model_reset_for_task", old=model, task=shown_task, new=new)
        )
    if "dataset_path" in turn.draft and "dataset_path" not in turn.changed:
        summary = _dataset_summary(turn)
        if summary is not None and summary.task != task:
            turn.lines.append(_mismatch(turn, turn.draft.pop("dataset_path"), summary))
            turn.draft.pop("num_classes", None)


def _apply_task(turn: _Turn, value: Any) -> None:
    try:
        task = validate_field("task", value)
    except FieldError as error:
        _refuse(turn, "task", value, error)
        return
    turn.task_stated = True
    if task != task_of(turn.draft) or "task" in turn.draft:
        _switch_task(turn, task)


def _task_open(turn: _Turn) -> bool:
    """Nothing has settled the task yet: not the person, not a dataset."""
    if "task" in turn.draft or turn.task_stated:
        return False
    return turn.summary is None and _dataset_summary(turn) is None


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
    if name == "model" and is_detector(valid) and _task_open(turn):
        _switch_task(turn, DETECTION)  # a detector named where nothing says classification
    if name == "model" and is_detector(valid) != (task_of(turn.draft) == DETECTION):
        _refuse_model_for_task(turn, valid)
        return
    if name == "model" and not is_detector(valid) and not is_known_model(valid):
        _refuse_model(turn, valid)
        return
    if name == "score_threshold" and task_of(turn.draft) != DETECTION:
        label = msg.label(turn.language, name)
        turn.lines.append(msg.text(turn.language, "score_threshold_classification", label=label))
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
        if name == "score_threshold" and config.task != DETECTION:
            continue  # a detector's setting
        if name == "dataset_path":
            shown = f"`{_shown_dataset_path(value, turn.options.data_root)}`"
        elif name == "pretrained" and turn.continues_run_id is not None:  # its weights, nothing else
            lines.append(f"• {msg.label(lang, name)}: {msg.text(lang, 'summary_weights_continued')}")
            continue
        elif name == "pretrained" and value and is_detector(config.model):
            shown = msg.text(lang, "summary_weights_detector")
        elif name == "pretrained" and value:
            shown = msg.text(lang, f"summary_weights_{facts.weights(config.model).status}")
        elif name == "gpus" and gpu_limit(facts).found == 0:  # this host has none: say so, not "1"
            lines.append(f"• {msg.label(lang, name)}: {msg.text(lang, 'summary_gpus_none')}")
            continue
        else:
            shown = msg.format_value(lang, name, value)
        suffix = "" if name in turn.draft or name == "dataset_path" else f" ({msg.text(lang, 'default')})"
        lines.append(f"• {msg.label(lang, name)}: {shown}{suffix}")
    context = _answer_context(turn, [])
    found = estimate(context, config.epochs) if turn.summary else None
    if found is not None:
        lines.append(
            "• " + msg.text(lang, "summary_estimate", total=duration_text(lang, found[0]), runs=found[1].runs)
        )
    elif (guess := detection_guess(context, config.epochs)) is not None:
        lines.append("• " + msg.text(lang, "summary_estimate_guess", total=duration_text(lang, guess[0])))
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
    values = {**task_defaults(task_of(draft)), **draft, "dataset_path": str(dataset)}
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
    draft: dict[str, Any],
    parsed: ParseResult,
    *,
    language: str,
    options: EngineOptions,
    text: str = "",
    continues_run_id: int | None = None,
) -> StepResult:
    """Apply one parsed message to the draft and write the reply (for a run continuing another one when
    `continues_run_id` is given)."""
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
    turn = _Turn(language=language, options=options, draft=dict(draft), continues_run_id=continues_run_id)

    updates = {
        name: value for name, value in parsed.updates.items() if name in FIELD_NAMES and value is not None
    }
    stated_classes = updates.get("num_classes") if isinstance(updates.get("num_classes"), int) else None
    if stated_classes is None and "dataset_path" not in draft:
        stated_classes = draft.get("num_classes")
    if "task" in updates:  # first: the dataset and the model are checked against it
        _apply_task(turn, updates.pop("task"))
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
    elif not turn.lines and not parsed.updates and draft and parsed.sweep is None:
        turn.lines.append(msg.text(language, "nothing_understood"))

    if parsed.task_unclear and _task_open(turn):
        turn.lines.append(msg.text(language, "ask_task"))
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
