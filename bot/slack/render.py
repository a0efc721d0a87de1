"""Block Kit messages (slack_sdk.models.blocks) built from the neutral presentation in bot/present.

Every function returns a `Rendered` (fallback text + blocks); pure, no I/O, so it is unit-tested directly.
Neutral text becomes mrkdwn by escaping Slack's control characters (&, <, >), so a class, model or file
name such as "<!channel>" stays text; mentions are added by `slack_text` after escaping.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.i18n import fill, t, template
from bot.present import runs as present
from bot.runs import RunView
from bot.storage import RunStatus
from training.events import DoneEvent

START, CANCEL, STOP, DOWNLOAD, RESUME, EXPORT_ONNX = (
    "train_start",
    "train_cancel",
    "train_stop",
    "train_download",
    "train_resume",
    "train_export_onnx",
)
SECTION_LIMIT = 3000
MESSAGE_TEXT_LIMIT = 39_000
HOME_BLOCK_LIMIT = 100


class Mention(str):
    """A Slack mention (<@U…>): inserted into texts as is, never escaped."""


def mention(user_id: str) -> Mention:
    return Mention(f"<@{user_id}>")


def escape(text: str) -> str:
    """Neutral text as mrkdwn: Slack's control characters escaped (it shows &lt; as <)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(language: str, key: str, **values: Any) -> str:
    """A catalogue text as mrkdwn: the text and its values escaped, mentions kept."""
    escaped = {
        name: value if isinstance(value, Mention) else escape(value) if isinstance(value, str) else value
        for name, value in values.items()
    }
    return fill(language, escape(template(language, key)), **escaped)


@dataclass(frozen=True)
class Rendered:
    text: str  # notification fallback and what non-Block Kit clients show
    blocks: list[Block]

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


@dataclass(frozen=True)
class StartValue:
    """What the Start button carries: which session and which config it showed. The server rebuilds the
    config from the session and refuses when its key no longer matches (the one source of truth)."""

    session_id: int
    config_key: str

    def encode(self) -> str:
        return json.dumps({"s": self.session_id, "k": self.config_key}, separators=(",", ":"))

    @classmethod
    def decode(cls, value: str) -> StartValue:
        data = json.loads(value)
        return cls(session_id=int(data["s"]), config_key=str(data["k"]))


def config_summary(
    reply: str, language: str, *, model: str, epochs: int, session_id: int, config_key: str
) -> Rendered:
    """The engine's complete-config reply (every value, in the user's language) with Start and Cancel."""
    blocks: list[Block] = [
        SectionBlock(block_id="summary", text=MarkdownTextObject(text=_clip(escape(reply)))),
        ActionsBlock(
            block_id="setup",
            elements=[
                ButtonElement(
                    text=t(language, "button_start"),
                    action_id=START,
                    value=StartValue(session_id, config_key).encode(),
                    style="primary",
                ),
                ButtonElement(
                    text=t(language, "button_cancel_setup"),
                    action_id=CANCEL,
                    value=str(session_id),
                    confirm=_confirm(language, "cancel_setup"),
                ),
            ],
        ),
    ]
    return Rendered(slack_text(language, "summary_fallback", model=model, epochs=epochs), blocks)


def progress_message(run: RunView, language: str, now: datetime | None = None) -> Rendered:
    shown = present.progress(run, language, now)
    lines = [escape(shown.title) + (f" · {escape(shown.stalled)}" if shown.stalled else "")]
    if shown.bar is not None:
        lines.append(f"`{shown.bar}`" + (f" {escape(shown.state)}" if shown.state else ""))
    elif shown.state:
        lines.append(escape(shown.state))
    if shown.figures:
        lines.append(escape("  ·  ".join(shown.figures)))
    lines += [escape(warning) for warning in shown.warnings]
    if shown.reason:
        lines.append(escape(shown.reason))
    blocks: list[Block] = [
        SectionBlock(block_id="progress", text=MarkdownTextObject(text=_clip("\n".join(lines))))
    ]
    buttons = run_buttons(run, language)
    if buttons:
        blocks.append(ActionsBlock(block_id="run_controls", elements=buttons))
    fallback = slack_text(
        language,
        "progress_fallback",
        id=run.id,
        status=present.status_label(language, run.status),
        done=run.current_epoch,
        total=run.total_epochs or run.config.epochs,
    )
    return Rendered(fallback, blocks)


def run_buttons(run: RunView, language: str) -> list[ButtonElement]:
    value = str(run.id)
    if not run.status.is_terminal:
        scheduled = run.status == RunStatus.PENDING
        return [
            ButtonElement(
                text=t(language, "button_cancel_run" if scheduled else "button_stop"),
                action_id=STOP,
                value=value,
                style="danger",
                confirm=_confirm(language, "cancel_run" if scheduled else "stop", id=run.id),
            )
        ]
    buttons = []
    if run.status == RunStatus.COMPLETED and "model" in run.figures.artifacts:
        buttons.append(
            ButtonElement(
                text=t(language, "button_download"), action_id=DOWNLOAD, value=value, style="primary"
            )
        )
    if run.status != RunStatus.COMPLETED and run.checkpoint_path:
        buttons.append(_resume_button(run, language))
    return buttons


def _resume_button(run: RunView, language: str) -> ButtonElement:
    return ButtonElement(
        text=t(language, "button_resume"), action_id=RESUME, value=str(run.id), style="primary"
    )


def _confirm(language: str, what: str, **values: Any) -> ConfirmObject:
    """Block Kit's confirm dialog: the click only goes through after the user confirms."""
    return ConfirmObject(
        title=t(language, f"confirm_{what}_title", **values),
        text=t(language, f"confirm_{what}_text"),
        confirm=t(language, f"confirm_{what}_yes"),
        deny=t(language, "confirm_back"),
        style="danger",
    )


def completion_text(run: RunView, language: str, done: DoneEvent | None = None) -> str:
    return _clip(escape("\n".join(present.completion(run, language, done))), MESSAGE_TEXT_LIMIT)


def completion_message(run: RunView, language: str, done: DoneEvent | None = None) -> Rendered:
    """The results reply, with Export ONNX when the run left a model (a verified file made at training
    time is uploaded at once; otherwise the export runs then)."""
    text = completion_text(run, language, done)
    blocks: list[Block] = [SectionBlock(block_id="results", text=MarkdownTextObject(text=_clip(text)))]
    if "model" in run.figures.artifacts or (done is not None and "model" in done.artifacts):
        button = ButtonElement(
            text=t(language, "button_export_onnx"), action_id=EXPORT_ONNX, value=str(run.id)
        )
        blocks.append(ActionsBlock(block_id="model_use", elements=[button]))
    return Rendered(text, blocks)


def ending_message(run: RunView, language: str) -> Rendered:
    """The thread reply when a run failed, was stopped or was interrupted, with Resume when it can be."""
    lines = [escape(line) for line in present.ending(run, language)]
    if run.checkpoint_path:
        lines.append(slack_text(language, "resume_hint"))
    text = _clip("\n".join(lines))
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text))]
    if run.checkpoint_path:
        blocks.append(ActionsBlock(block_id="resume", elements=[_resume_button(run, language)]))
    return Rendered(text, blocks)


def run_list(language: str, title_key: str, runs: Iterable[RunView], empty_key: str) -> str:
    lines = [f"*{escape(t(language, title_key))}*"]
    lines += [f"• {_run_line(run, language)}" for run in runs]
    return "\n".join(lines) if len(lines) > 1 else escape(t(language, empty_key))


def _run_line(run: RunView, language: str) -> str:
    line = escape(present.run_line(run, language))
    return line + f" · {mention(run.requested_by)}" if run.requested_by else line


def home_view(language: str, own: list[RunView], active: list[RunView], updated: str) -> dict[str, Any]:
    """The App Home tab: the user's runs (newest first, with their buttons) and everyone's queue."""
    blocks: list[Block] = [
        HeaderBlock(text=t(language, "home_title")),
        SectionBlock(text=MarkdownTextObject(text=t(language, "home_yours"))),
    ]
    if not own:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=escape(t(language, "home_yours_empty")))))
    for run in own:
        shown = present.progress(run, language)
        lines = [escape(present.run_line(run, language))]
        lines += [escape("  ·  ".join(shown.figures))] if shown.figures else []
        lines += [escape(shown.reason)] if shown.reason else []
        blocks.append(
            SectionBlock(block_id=f"home_run_{run.id}", text=MarkdownTextObject(text=_clip("\n".join(lines))))
        )
        buttons = run_buttons(run, language)
        if buttons:
            blocks.append(ActionsBlock(block_id=f"home_controls_{run.id}", elements=buttons))
    blocks += [DividerBlock(), SectionBlock(text=MarkdownTextObject(text=t(language, "home_queue")))]
    queue = [f"• {_run_line(run, language)}" for run in active]
    queue_text = "\n".join(queue) if queue else escape(t(language, "home_queue_empty"))
    blocks.append(SectionBlock(block_id="home_queue", text=MarkdownTextObject(text=_clip(queue_text))))
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text=slack_text(language, "home_updated", at=updated))])
    )
    return {"type": "home", "blocks": [block.to_dict() for block in blocks[:HOME_BLOCK_LIMIT]]}


def _clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
