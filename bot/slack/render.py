"""Block Kit messages (slack_sdk.models.blocks): the config summary, the progress message, run lists.

Every function returns a `Rendered` (fallback text + blocks); pure, no I/O, so it is unit-tested directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    MarkdownTextObject,
    SectionBlock,
)

from bot.runs import RunView
from bot.storage import RunStatus
from training.config import TrainingConfig

START, CANCEL, STOP, DOWNLOAD, RESUME = (
    "train_start",
    "train_cancel",
    "train_stop",
    "train_download",
    "train_resume",
)
BAR_WIDTH = 20
SECTION_LIMIT = 3000

STATUS_LABELS = {
    RunStatus.PENDING: "⏰ Scheduled",
    RunStatus.QUEUED: "⏳ Queued",
    RunStatus.RUNNING: "🏃 Running",
    RunStatus.COMPLETED: "✅ Completed",
    RunStatus.FAILED: "❌ Failed",
    RunStatus.STOPPED: "⏹️ Stopped",
    RunStatus.INTERRUPTED: "⚠️ Interrupted",
}


@dataclass(frozen=True)
class Rendered:
    text: str  # notification fallback and what non-Block Kit clients show
    blocks: list[Block]

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


@dataclass(frozen=True)
class StartValue:
    """What the Start button carries, so a click starts exactly the config the summary showed."""

    session_id: int
    config_key: str
    config: dict[str, Any]

    def encode(self) -> str:
        return json.dumps(
            {"s": self.session_id, "k": self.config_key, "c": self.config}, separators=(",", ":")
        )

    @classmethod
    def decode(cls, value: str) -> StartValue:
        data = json.loads(value)
        return cls(session_id=int(data["s"]), config_key=str(data["k"]), config=dict(data["c"]))


def config_summary(reply: str, config: TrainingConfig, *, session_id: int, config_key: str) -> Rendered:
    """The engine's complete-config reply (every value, in the user's language) with Start and Cancel."""
    value = StartValue(session_id, config_key, config.model_dump(mode="json")).encode()
    blocks: list[Block] = [
        SectionBlock(block_id="summary", text=MarkdownTextObject(text=_clip(reply))),
        ActionsBlock(
            block_id="setup",
            elements=[
                ButtonElement(text="Start", action_id=START, value=value, style="primary"),
                ButtonElement(text="Cancel", action_id=CANCEL, value=str(session_id)),
            ],
        ),
    ]
    return Rendered(
        f"Ready to train {config.model} on {config.dataset_path} for {config.epochs} epochs", blocks
    )


def progress_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled) + f" {fraction * 100:.0f}%"


def progress_message(run: RunView, now: datetime | None = None) -> Rendered:
    now = now or datetime.now(UTC)
    config = run.config
    label = STATUS_LABELS.get(run.status, str(run.status))
    headline = f"*Run #{run.id}* · {config.get('model', '?')} · {label}"
    if run.stalled and run.status == RunStatus.RUNNING:
        headline += " · ⚠️ no news from the trainer for a while"
    lines = [headline]
    if run.status == RunStatus.QUEUED and run.queue_position is not None:
        lines.append(f"Position in queue: *{run.queue_position}*")
    elif run.status == RunStatus.PENDING and run.scheduled_for is not None:
        lines.append(f"Starts at *{_clock(run.scheduled_for)}*")
    else:
        progress = 1.0 if run.status == RunStatus.COMPLETED else run.progress
        lines.append(f"`{progress_bar(progress)}`")
    fields = _metric_fields(run, now)
    if fields:
        lines.append("  ·  ".join(fields))
    lines += [f"⚠️ {warning['message']}" for warning in run_warnings(run)]
    if run.error_message and run.status in (RunStatus.FAILED, RunStatus.INTERRUPTED):
        lines.append(run.error_message)
    blocks: list[Block] = [
        SectionBlock(block_id="progress", text=MarkdownTextObject(text=_clip("\n".join(lines))))
    ]
    buttons = _run_buttons(run)
    if buttons:
        blocks.append(ActionsBlock(block_id="run_controls", elements=buttons))
    text = (
        f"Run #{run.id}: {label}, epoch {run.current_epoch}/{run.total_epochs or config.get('epochs', '?')}"
    )
    return Rendered(text, blocks)


def run_warnings(run: RunView) -> list[dict[str, str]]:
    """The trainer's warnings for the user (pretrained weights unavailable, corrupt images, imbalance...)."""
    return list((run.metrics or {}).get("warnings", []))


def _metric_fields(run: RunView, now: datetime) -> list[str]:
    metrics = run.metrics or {}
    total = run.total_epochs or run.config.get("epochs") or 0
    fields = [f"Epoch *{run.current_epoch}/{total}*"]
    loss = metrics.get("train_loss")
    if run.status == RunStatus.RUNNING:
        loss = metrics.get("running_loss", loss)  # the current epoch's running mean
    if loss is not None:
        fields.append(f"loss *{loss:.4f}*")
    if metrics.get("val_acc") is not None:
        best = f" (best {run.best_val_acc:.1%})" if run.best_val_acc is not None else ""
        fields.append(f"val acc *{metrics['val_acc']:.1%}*{best}")
    if run.images_per_sec and run.status == RunStatus.RUNNING:
        fields.append(f"{run.images_per_sec:.0f} img/s")
    if run.started_at is not None:
        fields.append(
            f"elapsed {format_duration(((run.completed_at or now) - _aware(run.started_at)).total_seconds())}"
        )
    if run.eta_seconds is not None and run.status == RunStatus.RUNNING:
        fields.append(f"ETA {format_duration(run.eta_seconds)}")
    return fields if run.status not in (RunStatus.QUEUED, RunStatus.PENDING) else []


def _run_buttons(run: RunView) -> list[ButtonElement]:
    value = str(run.id)
    if not run.status.is_terminal:
        label = "Cancel" if run.status == RunStatus.PENDING else "Stop"
        return [ButtonElement(text=label, action_id=STOP, value=value, style="danger")]
    buttons = []
    if run.status == RunStatus.COMPLETED and run.artifacts.get("model"):
        buttons.append(ButtonElement(text="Download", action_id=DOWNLOAD, value=value, style="primary"))
    if run.status != RunStatus.COMPLETED and run.checkpoint_path:
        buttons.append(ButtonElement(text="Resume", action_id=RESUME, value=value, style="primary"))
    return buttons


def completion_text(run: RunView, final: dict[str, float], per_class_acc: dict[str, float]) -> str:
    lines = [f"✅ Run #{run.id} finished: {run.config.get('model', '?')}, {run.current_epoch} epochs."]
    if final.get("val_acc") is not None:
        best = f" (best {run.best_val_acc:.1%})" if run.best_val_acc is not None else ""
        lines.append(f"• Final validation accuracy: *{final['val_acc']:.1%}*{best}")
    if final.get("val_loss") is not None:
        lines.append(f"• Final validation loss: *{final['val_loss']:.4f}*")
    if final.get("train_loss") is not None:
        lines.append(f"• Final training loss: *{final['train_loss']:.4f}*")
    if per_class_acc:
        lines.append(
            "• Per-class accuracy: " + ", ".join(f"{name} {acc:.0%}" for name, acc in per_class_acc.items())
        )
    return _clip("\n".join(lines), 39_000)


def ending_text(run: RunView) -> str:
    """The thread reply when a run failed, was stopped or was interrupted."""
    if run.status == RunStatus.STOPPED:
        head = f"⏹️ Run #{run.id} was stopped after epoch {run.current_epoch}."
    elif run.status == RunStatus.INTERRUPTED:
        head = f"⚠️ Run #{run.id} was interrupted (the bot restarted and the trainer was gone)."
    else:
        head = f"❌ Run #{run.id} failed."
    reason = f"\n{run.error_message}" if run.error_message else ""
    resume = "\nPress *Resume* to continue from the last checkpoint." if run.checkpoint_path else ""
    return head + reason + resume


def resume_blocks(run: RunView, text: str) -> list[Block]:
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=_clip(text)))]
    if run.checkpoint_path:
        blocks.append(
            ActionsBlock(
                block_id="resume",
                elements=[ButtonElement(text="Resume", action_id=RESUME, value=str(run.id), style="primary")],
            )
        )
    return blocks


def run_list(title: str, runs: Iterable[RunView], empty: str) -> str:
    lines = [f"*{title}*"]
    for run in runs:
        label = STATUS_LABELS.get(run.status, str(run.status))
        model = run.config.get("model", "?")
        line = f"• #{run.id} {model} · {label} · epoch {run.current_epoch}/{run.total_epochs}"
        if run.status == RunStatus.QUEUED and run.queue_position is not None:
            line += f" · queue position {run.queue_position}"
        if run.status == RunStatus.PENDING and run.scheduled_for is not None:
            line += f" · starts {_clock(run.scheduled_for)}"
        if run.best_val_acc is not None:
            line += f" · best val acc {run.best_val_acc:.1%}"
        if run.requested_by:
            line += f" · <@{run.requested_by}>"
        lines.append(line)
    return "\n".join(lines) if len(lines) > 1 else empty


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _clock(moment: datetime) -> str:
    return _aware(moment).strftime("%Y-%m-%d %H:%M %Z")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
