"""A run in words: its progress (title, bar or queue/schedule line, figures, warnings, reason), the
completion results, the ending, list lines and the run manager's refusals, in the thread's language.

The trainer's own texts (warning messages, the last error line) are English: they are shown as they
are only to English threads; other languages get the catalogue's text for their code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.i18n import t
from bot.i18n.backends import pending_reason_key
from bot.runs import RunError, RunView
from bot.runs.advice import FAILURE_CODES
from bot.storage import RunStatus
from training.contract import ONNX_INSTALL
from training.events import DataReport, DoneEvent, EpochRecord, PreparingEvent, RunSummary
from training.export_report import (
    ClassifierOnnxCheck,
    DetectorOnnxCheck,
    OnnxCheck,
    OnnxNotChecked,
    OnnxReport,
)

BAR_WIDTH = 20
PER_CLASS_SHOWN = 12  # more classes: only the lowest accuracies are listed in the completion reply
TRAINER_LANGUAGE = "en"  # the language of the trainer's own messages
KNOWN_WARNINGS = ("pretrained_unavailable", "corrupt_images", "class_imbalance", "tiny_class")


@dataclass(frozen=True)
class Progress:
    """What a progress message shows; each front end lays it out its own way."""

    title: str  # "*Run #7* · resnet18 · 🏃 Running"
    stalled: str | None  # a note when the trainer has been silent for STALL_SECONDS
    bar: str | None  # "█████░░░ 35%": the run's progress, or the preparing phase's
    state: str | None  # the queue position, the start time, or the preparing phase in words
    figures: list[str] = field(default_factory=list)  # epoch, loss, val acc (best), img/s, elapsed, ETA
    warnings: list[str] = field(default_factory=list)
    reason: str | None = None  # why it failed or was interrupted


def progress_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled) + f" {fraction * 100:.0f}%"


def status_label(language: str, status: RunStatus) -> str:
    return t(language, f"status_{status.value}")


def duration(language: str, seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return t(language, "duration_hours", hours=hours, minutes=minutes)
    return t(language, "duration_minutes", minutes=minutes, seconds=secs)


def clock(moment: datetime) -> str:
    return _aware(moment).strftime("%Y-%m-%d %H:%M %Z")


def percent(fraction: float, digits: int = 1) -> str:
    return f"{fraction:.{digits}%}"


def progress(run: RunView, language: str, now: datetime | None = None) -> Progress:
    title = t(
        language,
        "run_title",
        id=run.id,
        model=run.model,
        status=status_label(language, run.status),
    ) + _continues(run, language, " · ")
    stalled = t(language, "run_stalled") if run.stalled and run.status == RunStatus.RUNNING else None
    bar, state = _bar_and_state(run, language)
    return Progress(
        title=title,
        stalled=stalled,
        bar=bar,
        state=state,
        figures=figures(run, language, now),
        warnings=warnings(run, language),
        reason=reason(run, language),
    )


def _continues(run: RunView, language: str, separator: str) -> str:
    """' · ↪️ continues run #3' for a run started from another run's last checkpoint."""
    if run.continues_run_id is None:
        return ""
    return separator + t(language, "continues_line", run_id=run.continues_run_id)


def scheduler_queue_line(language: str, position: int, reason: str) -> str:
    """Where a run waits in the cluster scheduler's queue, and the scheduler's reason in plain words."""
    plain = t(language, pending_reason_key(reason), reason=reason)
    return t(language, "backend.slurm_queue", position=position, reason=plain)


def _bar_and_state(run: RunView, language: str) -> tuple[str | None, str | None]:
    if run.status == RunStatus.QUEUED and run.pending_reason and run.queue_position is not None:
        return None, scheduler_queue_line(language, run.queue_position, run.pending_reason)
    if run.status == RunStatus.QUEUED and run.queue_position is not None:
        return None, t(language, "queue_position", position=run.queue_position)
    if run.status == RunStatus.PENDING and run.scheduled_for is not None:
        return None, t(language, "starts_at", at=clock(run.scheduled_for))
    phase = run.figures.preparing
    if run.status == RunStatus.RUNNING and phase is not None:
        return (progress_bar(phase.done / phase.total) if phase.total > 0 else None), preparing(
            phase, language
        )
    return progress_bar(1.0 if run.status == RunStatus.COMPLETED else run.progress), None


def preparing(phase: PreparingEvent, language: str) -> str:
    """The trainer's `preparing` phase in words: looking for weights, decoding images x/N, the cache."""
    if phase.phase == "weights":
        return t(language, "preparing_weights")
    if phase.total <= 0:
        return t(language, f"preparing_{phase.phase}_unknown", done=f"{phase.done:,}")
    return t(language, f"preparing_{phase.phase}", done=f"{phase.done:,}", total=f"{phase.total:,}")


def figures(run: RunView, language: str, now: datetime | None = None) -> list[str]:
    """The numbers of a started run: epoch x/N, loss, val acc (best), img/s, elapsed, ETA."""
    if run.status in (RunStatus.QUEUED, RunStatus.PENDING):
        return []
    now = now or datetime.now(UTC)
    recorded = run.figures
    running = run.status == RunStatus.RUNNING
    shown = [t(language, "fig_epoch", done=run.current_epoch, total=run.total_epochs or run.config.epochs)]
    latest = recorded.latest
    loss = recorded.running_loss if running and recorded.running_loss is not None else latest.train_loss
    if loss is not None:
        shown.append(t(language, "fig_loss", loss=f"{loss:.4f}"))
    if latest.val_acc is not None:
        shown.append(t(language, "fig_val_acc", acc=percent(latest.val_acc)) + _best(run, language))
    if latest.val_map50 is not None:
        best = recorded.summary.best_val_map50
        shown.append(
            t(language, "fig_val_map50", map=_ap(latest.val_map50))
            + (" " + t(language, "fig_best", best=_ap(best)) if best is not None else "")
        )
    if latest.val_map is not None:
        shown.append(t(language, "fig_val_map", map=_ap(latest.val_map)))
    if recorded.images_per_sec and running:
        shown.append(t(language, "fig_speed", rate=f"{recorded.images_per_sec:,.0f}"))
    if running and (ready := images_ready(recorded.data, language)):
        shown.append(ready)
    if run.started_at is not None:
        elapsed = ((run.completed_at or now) - _aware(run.started_at)).total_seconds()
        shown.append(t(language, "fig_elapsed", time=duration(language, elapsed)))
    if recorded.eta_seconds is not None and running:
        shown.append(t(language, "fig_eta", time=duration(language, recorded.eta_seconds)))
    return shown


def images_ready(data: DataReport | None, language: str) -> str | None:
    """Where the trainer got its images (the start event's `data`): the decoded cache, decoding, disk."""
    if data is None:
        return None
    return t(
        language,
        f"fig_images_{data.images_from}",
        images=f"{data.images:,}",
        seconds=f"{data.seconds:.1f}" if data.seconds < 10 else f"{data.seconds:.0f}",
    )


def _best(run: RunView, language: str) -> str:
    best = run.summary.best_val_acc
    return "" if best is None else " " + t(language, "fig_best", best=percent(best))


def warnings(run: RunView, language: str) -> list[str]:
    """The trainer's warnings (pretrained weights unavailable, unreadable images, imbalance...)."""
    shown = []
    for warning in run.figures.warnings:
        code, message = warning.code, warning.message
        if language == TRAINER_LANGUAGE and message:
            shown.append(f"⚠️ {message}")
        elif code in KNOWN_WARNINGS:
            shown.append("⚠️ " + t(language, f"warning_{code}", model=run.model))
        else:
            shown.append("⚠️ " + t(language, "warning_other", code=code))
    return shown


def reason(run: RunView, language: str) -> str | None:
    """Plain advice for a failed or interrupted run (English threads also see the trainer's last line)."""
    if run.status not in (RunStatus.FAILED, RunStatus.INTERRUPTED) or not run.error_message:
        return None
    code = run.error_message
    advice = t(language, f"failure_{code}") if code in FAILURE_CODES else t(language, "failure_internal")
    if language == TRAINER_LANGUAGE and run.error_line:
        return f"{advice}\n> {run.error_line}"
    return advice


def completion(run: RunView, language: str, done: DoneEvent | None = None) -> list[str]:
    """The reply when a run completed: final accuracy (and best), losses, test accuracy, per class (a
    detection run: mAP@.50 and mAP@[.50:.95] with the best, AP@.50 per class); from the done event, else
    from the run's stored summary."""
    summary = RunSummary.of(done) if done else run.summary
    final, test = summary.final, summary.test or {}
    lines = [t(language, "done_head", id=run.id, model=run.model, epochs=run.current_epoch)]
    lines[0] += _continues(run, language, " ")
    if summary.early_stopped:
        lines.append(
            t(
                language,
                "det_done_early_stop" if run.detects else "done_early_stop",
                epoch=run.current_epoch,
                patience=run.config.early_stopping_patience,
                best_epoch=summary.best_epoch,
            )
        )
    if final.val_acc is not None:
        lines.append(t(language, "done_val_acc", acc=percent(final.val_acc)) + _best(run, language))
    lines += detection_figures(run, language, final)
    if final.val_loss is not None:
        lines.append(t(language, "done_val_loss", loss=f"{final.val_loss:.4f}"))
    if final.train_loss is not None:
        lines.append(t(language, "done_train_loss", loss=f"{final.train_loss:.4f}"))
    if test.get("acc") is not None:
        lines.append(t(language, "done_test_acc", acc=percent(test["acc"])))
    if summary.per_class_acc:
        lines.append(per_class_line(language, summary.per_class_acc))
    if summary.per_class_ap50:
        lines.append(per_class_ap_line(language, summary.per_class_ap50))
    onnx = onnx_line(language, summary.onnx)
    return [*lines, onnx] if onnx else lines


def detection_figures(run: RunView, language: str, final: EpochRecord) -> list[str]:
    """A detection run's final mAP@.50 and mAP@[.50:.95], each with the run's best."""
    stored = run.summary  # the bests come from the epoch events the run's metrics kept
    shown = []
    for key, value, best in (
        ("det_done_val_map50", final.val_map50, stored.best_val_map50),
        ("det_done_val_map", final.val_map, stored.best_val_map),
    ):
        if value is not None:
            extra = " " + t(language, "det_done_best", best=_ap(best)) if best is not None else ""
            shown.append(t(language, key, map=_ap(value)) + extra)
    return shown


def _ap(value: float) -> str:
    """mAP and AP as COCO states them: a fraction with three digits."""
    return f"{value:.3f}"


def per_class_ap_line(language: str, per_class: dict[str, float]) -> str:
    """Each class's AP@.50, lowest first; past PER_CLASS_SHOWN classes only the lowest ones."""
    lowest = sorted(per_class.items(), key=lambda item: item[1])
    classes = ", ".join(f"{name} {_ap(ap)}" for name, ap in lowest[:PER_CLASS_SHOWN])
    if len(lowest) <= PER_CLASS_SHOWN:
        return t(language, "det_done_per_class", classes=classes)
    return t(language, "det_done_per_class_lowest", shown=PER_CLASS_SHOWN, count=len(lowest), classes=classes)


def per_class_line(language: str, per_class: dict[str, float]) -> str:
    """Every class's accuracy, or past PER_CLASS_SHOWN classes only the lowest ones (one short line)."""
    if len(per_class) <= PER_CLASS_SHOWN:
        classes = ", ".join(f"{name} {percent(acc, 0)}" for name, acc in per_class.items())
        return t(language, "done_per_class", classes=classes)
    lowest = sorted(per_class.items(), key=lambda item: item[1])[:PER_CLASS_SHOWN]
    classes = ", ".join(f"{name} {percent(acc, 0)}" for name, acc in lowest)
    return t(language, "done_per_class_lowest", shown=len(lowest), count=len(per_class), classes=classes)


def onnx_figures(report: ClassifierOnnxCheck) -> dict[str, Any]:
    """The figures of a classifier's ONNX export check, as the texts show them."""
    agreement = report.top1_agreement  # None: there were no validation images to compare on
    return {
        "images": report.images,
        "agreement": percent(agreement, 2) if agreement is not None else "?",
        "diff": f"{report.max_abs_logit_diff:.2g}",
        "minimum": percent(report.min_agreement, 1),
    }


def detection_onnx_figures(report: DetectorOnnxCheck) -> dict[str, Any]:
    """The figures of a detector's ONNX export check, as the texts show them."""
    return {
        "images": report.images,
        "compared": report.boxes_compared,
        "matched": report.boxes_matched,
        "mean_iou": f"{report.mean_iou:.4f}",
        "min_iou": f"{report.min_iou:.4f}",
        "diff": f"{report.max_score_diff:.2g}",
        "min_required": report.criteria.min_iou,
        "max_diff": report.criteria.max_score_diff,
    }


def _onnx_text(language: str, key: str, report: OnnxCheck, **values: Any) -> str:
    """`key`'s text with the check's figures: a detector's check has its own words (`det_` keys)."""
    if isinstance(report, DetectorOnnxCheck):
        return t(language, f"det_{key}", **values, **detection_onnx_figures(report))
    return t(language, key, **values, **onnx_figures(report))


def onnx_line(language: str, report: OnnxReport | None) -> str | None:
    """The completion message's line about the ONNX export checked at training time, if one was."""
    if report is None or isinstance(report, OnnxNotChecked):
        return None
    return _onnx_text(language, "done_onnx" if report.status == "ok" else "done_onnx_refused", report)


def onnx_report(language: str, run_id: int, report: OnnxReport) -> str:
    """The reply to an ONNX export on request: its verified figures, the refusal, or what is missing."""
    if not isinstance(report, OnnxNotChecked):
        return _onnx_text(language, f"onnx_{report.status}", report, run_id=run_id)
    if report.status == "unavailable":
        return t(language, "onnx_unavailable", install=ONNX_INSTALL)
    failed = t(language, "onnx_failed", run_id=run_id)
    detail = report.message[:300]
    return f"{failed}\n> {detail}" if language == TRAINER_LANGUAGE and detail else failed


def ending(run: RunView, language: str) -> list[str]:
    """The reply when a run was stopped, interrupted or failed: what happened, and why."""
    if run.status == RunStatus.STOPPED:
        head = t(language, "ended_stopped", id=run.id, epoch=run.current_epoch)
    elif run.status == RunStatus.INTERRUPTED:
        head = t(language, "ended_interrupted", id=run.id)
    else:
        head = t(language, "ended_failed", id=run.id)
    why = reason(run, language)
    return [head, why] if why else [head]


def run_line(run: RunView, language: str) -> str:
    """One run in a list: id, model, status, epochs, its task, and its queue place, start time or best
    figure (accuracy, or a detector's mAP@.50)."""
    parts = [
        t(
            language,
            "run_line",
            id=run.id,
            model=run.model,
            status=status_label(language, run.status),
            done=run.current_epoch,
            total=run.total_epochs,
        )
    ]
    if run.status == RunStatus.QUEUED and run.queue_position is not None:
        parts.append(t(language, "run_line_queue", position=run.queue_position))
    if run.status == RunStatus.PENDING and run.scheduled_for is not None:
        parts.append(t(language, "run_line_starts", at=clock(run.scheduled_for)))
    parts.insert(1, t(language, f"run_task_{run.task}"))
    if (best := run.summary.best_val_acc) is not None:
        parts.append(t(language, "run_line_best", acc=percent(best)))
    if (best_map := run.summary.best_val_map50) is not None:
        parts.append(t(language, "run_line_best_map", map=_ap(best_map)))
    return " · ".join(parts)


def run_error(language: str, error: RunError) -> str:
    """The words for a refusal of the run manager (no such run, not yours, already finished...)."""
    values = dict(error.values)
    if isinstance(values.get("status"), RunStatus):
        values["status"] = status_label(language, values["status"])
    return t(language, f"error_{error.code}", **values)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
