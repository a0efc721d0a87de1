"""ConversationService: one chat thread ↔ one ChatSession row; runs the parser and the engine per message."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import anthropic
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.conversation import messages as msg
from bot.conversation.claude import ClaudeParser, make_client
from bot.conversation.datasets import (
    DatasetPathError,
    DatasetSummary,
    resolve_dataset_path,
    summarize_dataset,
)
from bot.conversation.engine import REQUIRED_ORDER, EngineOptions, StepResult, config_from_draft, step
from bot.conversation.facts import FactsProvider, HostFacts, render_facts
from bot.conversation.language import detect_language
from bot.conversation.parsing import ParseContext, Parser, ParseResult, ThreadState
from bot.conversation.rules import RuleParser
from bot.conversation.start_intent import StartIntent, start_intent
from bot.conversation.sweeps import (
    SETTLED_KEY,
    WAITING_KEY,
    checked_sweep,
    picked_by,
    refused_text,
    waiting_line,
    waiting_sweep,
)
from bot.conversation.tasks import task_of
from bot.i18n import DEFAULT_LANGUAGE, t
from bot.runs.views import CONTINUABLE_STATUSES
from bot.settings import Settings
from bot.storage import (
    ChatSession,
    Database,
    RunStatus,
    SessionChanged,
    SessionState,
    TrainingRun,
    session_for_change,
)
from bot.sweeps.spec import SweepRefusal, SweepSpec
from training.config import TrainingConfig

MAX_STORED_MESSAGES = 200
MAX_MESSAGE_CHARS = 2000  # longer messages are refused with a clear reply, never parsed
TURN_ATTEMPTS = 5  # a turn another bot process overtook (bot/storage/sessions.py) is handled again


@dataclass
class Turn:
    """One handled message. `intent` says what it was; for "command" the front end acts on `command`
    with `command_args` ("run_id", "text"). `reply` answers help and a start of an incomplete draft; for
    status, list, stop and resume it only points to the Slack command, for a front end that does not
    act on them itself."""

    reply: str
    complete: bool  # the reply is the summary of a complete config: show it with Start
    config: TrainingConfig | None
    draft: dict[str, Any]
    missing: list[str]
    language: str
    session_id: int
    notices: list[str] = field(default_factory=list)
    config_key: str = ""
    dataset_summary: DatasetSummary | None = None
    intent: str = "settings"
    command: str | None = None
    command_args: dict[str, Any] = field(default_factory=dict)
    question_topic: str | None = None
    ready: bool = False  # the draft is complete (a question in a confirming thread keeps it so)
    # a sweep to propose on `config` (checked): asked in this message, or earlier and waiting for the
    # setup this message completed; the front end shows its proposal instead of `reply`
    sweep: SweepSpec | None = None
    # an objective named on its own ("pick by val loss instead"), for the thread's proposed sweep: the front
    # end re-proposes it (bot/actions/sweeps.py); `reply` says there is none
    sweep_objective: str | None = None


@dataclass(frozen=True)
class StartOrder:
    config: TrainingConfig
    config_key: str  # the idempotent start key: the same config of the same session gives the same run
    at: datetime | None  # None: start now
    continues_run_id: int | None = None  # the finished run whose last checkpoint it starts from


def make_parser(
    parser_choice: str, settings: Settings, anthropic_client: anthropic.Anthropic | None
) -> Parser:
    """The parser for a choice: rules; claude (needs a key or a client); auto = claude when one is there.

    Raises ValueError for an unknown choice, or claude without ANTHROPIC_API_KEY.
    """
    if parser_choice not in ("auto", "rules", "claude"):
        raise ValueError(f"unknown parser {parser_choice!r}; choose auto, rules or claude")
    rules = RuleParser()
    has_claude = anthropic_client is not None or settings.anthropic_api_key is not None
    if parser_choice == "rules" or (parser_choice == "auto" and not has_claude):
        return rules
    client = anthropic_client or make_client(settings)
    return ClaudeParser(client, settings.anthropic_model, rules)


def config_key(session_id: int, config: TrainingConfig, continues_run_id: int | None = None) -> str:
    """Stable for the same session and config (and continued run): the idempotent start key. Continuing
    a run with its own epoch count is another run than the one it continues."""
    continues = f":continues={continues_run_id}" if continues_run_id is not None else ""
    text = f"{session_id}:{config.model_dump_json()}{continues}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _last_changed_field(history: list[dict[str, Any]]) -> str | None:
    for entry in reversed(history):
        if entry.get("role") == "user" and entry.get("fields"):
            return entry["fields"][-1]
    return None


def _last_bot_message(history: list[dict[str, Any]]) -> str:
    for entry in reversed(history):
        if entry.get("role") == "bot":
            return str(entry.get("text", ""))
    return ""


def _thread_state(db: Any, row: ChatSession, draft: dict[str, Any]) -> ThreadState:
    """What the conversation's thread holds: the runs started from it (resumed ones too; in Slack, those
    the run manager lists for the thread), and the run a thread opened for a model (`/train predict <id>`)
    was opened for."""
    in_thread = (TrainingRun.session_id == row.id) | (
        (TrainingRun.slack_channel == row.channel_id) & (TrainingRun.slack_thread_ts == row.thread_ts)
    )
    if row.model_run_id is not None:
        in_thread |= TrainingRun.id == row.model_run_id
    statuses = {RunStatus(status) for status in db.scalars(select(TrainingRun.status).where(in_thread))}
    return ThreadState(
        ready=all(name in draft for name in REQUIRED_ORDER),
        active_run=any(not status.is_terminal for status in statuses),
        finished_run=RunStatus.COMPLETED in statuses,
        continuable_run=any(status in CONTINUABLE_STATUSES for status in statuses),
    )


class _Loaded(NamedTuple):
    """A conversation's row as one message reads it."""

    session_id: int
    draft: dict[str, Any]
    asked: str | None
    language: str
    history: list[dict[str, Any]]
    thread: ThreadState
    version: int  # the session's, for the compare-and-set save
    continues: int | None  # the run this draft continues from its last checkpoint


def _now() -> str:
    return datetime.now(UTC).isoformat()


class ConversationService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        parser_choice: str = "auto",
        anthropic_client: anthropic.Anthropic | None = None,
        *,
        dataset_must_exist: bool = True,
        facts: FactsProvider | None = None,
    ) -> None:
        self._db = db
        self._timezone = settings.timezone
        self._sweep_max_trials = settings.sweep_max_trials
        self._parser = make_parser(parser_choice, settings, anthropic_client)
        self._facts = facts or HostFacts(settings, db)
        self._options = EngineOptions(
            data_root=settings.data_root,
            max_epochs=settings.max_epochs,
            dataset_must_exist=dataset_must_exist,
            facts=self._facts,
        )

    @property
    def facts(self) -> FactsProvider:
        return self._facts

    def handle_message(
        self, *, team_id: str, channel_id: str, thread_ts: str, user_id: str, text: str
    ) -> Turn:
        for _attempt in range(TURN_ATTEMPTS - 1):
            try:
                return self._handle_once(team_id, channel_id, thread_ts, user_id, text)
            except SessionChanged:
                continue  # another bot process saved a message of this thread: apply this one on top
        return self._handle_once(team_id, channel_id, thread_ts, user_id, text)

    def _handle_once(self, team_id: str, channel_id: str, thread_ts: str, user_id: str, text: str) -> Turn:
        loaded = self._load_or_create(team_id, channel_id, thread_ts, user_id)
        session_id, draft, asked, language, history, thread, version, continues_run_id = loaded
        if len(text) > MAX_MESSAGE_CHARS:
            language = detect_language(text[:MAX_MESSAGE_CHARS], language)
            reply = msg.text(language, "too_long", length=len(text), max=MAX_MESSAGE_CHARS)
            missing = [name for name in REQUIRED_ORDER if name not in draft]
            result = StepResult(
                draft=draft, asked_field=asked, reply=reply, missing=missing, ready=not missing
            )
            self._save(
                session_id, version, user_id, text[:MAX_MESSAGE_CHARS], result, language, keep_state=True
            )
            return Turn(reply, False, None, dict(draft), missing, language, session_id, ready=not missing)
        language = detect_language(text, language)
        context = ParseContext(
            asked,
            _last_changed_field(history),
            draft,
            language,
            last_bot_message=_last_bot_message(history),
            facts=self._facts_block(draft, thread) if isinstance(self._parser, ClaudeParser) else "",
            thread=thread,
        )
        parsed = self._parser.parse(text, context)
        save = functools.partial(self._save, session_id, version, user_id, text, language=language)
        if parsed.intent == "settings" and parsed.objective is not None and not parsed.updates:
            return self._objective_turn(save, session_id, language, (draft, asked), history, parsed)
        requested = parsed.sweep if parsed.intent == "settings" else None
        if requested is not None:  # the swept settings are the sweep's, not the draft's
            parsed.updates = {k: v for k, v in parsed.updates.items() if k not in requested.fields}
        result = step(
            draft,
            parsed,
            language=language,
            options=self._options,
            text=text,
            continues_run_id=continues_run_id,
        )
        waiting = waiting_sweep(history) if requested is None and result.config is not None else None
        if requested is None and waiting is None:
            continues = self._save(session_id, version, user_id, text, result, language, keep_state=False)
            return _turn(session_id, language, result, parsed, continues)
        if waiting is not None:
            return self._waiting_turn(save, session_id, language, result, parsed, waiting)
        assert requested is not None
        return self._requested_turn(save, session_id, language, (draft, asked), result, parsed, requested)

    def _requested_turn(
        self,
        save: Callable[..., int | None],
        session_id: int,
        language: str,
        before: tuple[dict[str, Any], str | None],
        result: StepResult,
        parsed: ParseResult,
        sweep: SweepSpec,
    ) -> Turn:
        """A sweep asked for in this message. With the setup complete the Turn carries it, checked, to be
        proposed; with the setup still open it waits in the conversation's history until a message
        completes it. A refused sweep leaves the draft as it was (the rest of the message changes
        nothing either)."""
        config = result.config
        named = sweep.objective  # None: the headline of the task the setup ends up with
        try:
            sweep = checked_sweep(
                sweep,
                self._sweep_max_trials,
                config.task if config else task_of(result.draft),
                self._options.max_epochs,
            )
        except SweepRefusal as refused:
            unchanged = _unchanged(before, refused_text(language, refused))
            save(unchanged, keep_state=True)  # a sweep waiting from before goes on waiting
            return _turn(session_id, language, unchanged, parsed, None)
        if config is None:
            result.reply = "\n".join([result.reply, waiting_line(language, sweep)])
            continues = save(result, keep_state=False, waiting=sweep.model_copy(update={"objective": named}))
            return _turn(session_id, language, result, parsed, continues)
        return self._handed(save, session_id, language, result, parsed, sweep)

    def _objective_turn(
        self,
        save: Callable[..., int | None],
        session_id: int,
        language: str,
        before: tuple[dict[str, Any], str | None],
        history: list[dict[str, Any]],
        parsed: ParseResult,
    ) -> Turn:
        """An objective named on its own changes nothing in the setup. A sweep waiting for its setup
        picks by it from now on (checked against the setup's task); otherwise the Turn carries it for the
        sweep proposed in the thread."""
        objective = str(parsed.objective)
        result = _unchanged(before, t(language, "sweep_none_proposed"))
        waiting = waiting_sweep(history)
        if waiting is None:
            save(result, keep_state=True)
            turn = _turn(session_id, language, result, parsed, None)
            turn.sweep_objective = objective
            return turn
        sweep = waiting.model_copy(update={"objective": objective})
        try:
            checked_sweep(sweep, self._sweep_max_trials, task_of(before[0]), self._options.max_epochs)
        except SweepRefusal as refused:
            result.reply = refused_text(language, refused)
            save(result, keep_state=True)  # the sweep goes on waiting as it was
            return _turn(session_id, language, result, parsed, None)
        result.reply = "\n".join([picked_by(language, objective), waiting_line(language, sweep)])
        save(result, keep_state=True, waiting=sweep)
        return _turn(session_id, language, result, parsed, None)

    def _waiting_turn(
        self,
        save: Callable[..., int | None],
        session_id: int,
        language: str,
        result: StepResult,
        parsed: ParseResult,
        sweep: SweepSpec,
    ) -> Turn:
        """The message that completed the setup of a waiting sweep: the Turn carries the sweep; refused
        now (an objective the dataset's task does not report), the summary says why."""
        assert result.config is not None
        try:
            sweep = checked_sweep(sweep, self._sweep_max_trials, result.config.task, self._options.max_epochs)
        except SweepRefusal as refused:
            result.reply = "\n".join([result.reply, refused_text(language, refused)])
            continues = save(result, keep_state=False, settled=True)
            return _turn(session_id, language, result, parsed, continues)
        return self._handed(save, session_id, language, result, parsed, sweep)

    def _handed(
        self,
        save: Callable[..., int | None],
        session_id: int,
        language: str,
        result: StepResult,
        parsed: ParseResult,
        sweep: SweepSpec,
    ) -> Turn:
        turn = _turn(session_id, language, result, parsed, save(result, keep_state=False, settled=True))
        turn.sweep = sweep
        return turn

    def continue_run(
        self, session_id: int, run_id: int, run_config: TrainingConfig, epochs: int, language: str
    ) -> Turn:
        """A draft for a new run continuing run `run_id` (its last checkpoint) for `epochs` more epochs,
        with the settings that run stored; the epochs are checked like typed ones. The user's message was
        already stored by handle_message; this replaces the draft and records the continued run."""
        draft = run_config.model_dump(mode="json", exclude_unset=True, exclude_none=True, exclude={"epochs"})
        parsed = ParseResult(updates={"epochs": epochs})
        result = step(draft, parsed, language=language, options=self._options, continues_run_id=run_id)
        result.reply = "\n".join([t(language, "continue_intro", run_id=run_id, epochs=epochs), result.reply])
        with self._db.session() as db:
            row = session_for_change(db, session_id)
            row.messages = [*row.messages, {"role": "bot", "text": result.reply, "ts": _now()}][
                -MAX_STORED_MESSAGES:
            ]
            row.draft, row.asked_field, row.continues_run_id = result.draft, result.asked_field, run_id
            row.state = SessionState.CONFIRMING if result.ready else SessionState.COLLECTING
        return _turn(session_id, language, result, parsed, run_id)

    def open_model_thread(
        self, team_id: str, channel_id: str, thread_ts: str, user_id: str, run_id: int, language: str
    ) -> int:
        """A conversation for a thread opened to use run `run_id`'s model (`/train predict <id>`): images
        posted there are classified with it, and it counts as that run's thread."""
        session_id = self._load_or_create(team_id, channel_id, thread_ts, user_id)[0]
        self._update(session_id, model_run_id=run_id, language=language, state=SessionState.STARTED)
        return session_id

    def _facts_block(self, draft: dict[str, Any], thread: ThreadState) -> str:
        summary = None
        if "dataset_path" in draft:
            try:
                path = resolve_dataset_path(str(draft["dataset_path"]), self._options.data_root)
                summary = summarize_dataset(path)
            except DatasetPathError:
                summary = None
        return render_facts(self._facts, draft, summary, thread)

    def _save(
        self,
        session_id: int,
        version: int,
        user_id: str,
        text: str,
        result: StepResult,
        language: str,
        *,
        keep_state: bool,
        waiting: SweepSpec | None = None,
        settled: bool = False,
    ) -> int | None:
        """Store the turn read at `version` (SessionChanged when another process saved one since);
        returns the run the draft continues, if any. `waiting`: a sweep asked for before its setup is
        complete, kept with the message; `settled`: the sweep asked for before was proposed or refused
        (a cancelled setup drops it too)."""
        asked: dict[str, Any] = {"role": "user", "user": user_id, "text": text, "ts": _now()}
        asked["fields"] = result.changed
        if waiting is not None:
            asked[WAITING_KEY] = waiting.model_dump(mode="json")
        said: dict[str, Any] = {"role": "bot", "text": result.reply, "ts": _now()}
        if settled or result.cancelled:
            said[SETTLED_KEY] = True
        with self._db.session() as db:
            row = session_for_change(db, session_id, version)
            row.messages = [*row.messages, asked, said][-MAX_STORED_MESSAGES:]
            row.draft = result.draft
            row.asked_field = result.asked_field
            row.language = language
            if keep_state:
                return row.continues_run_id
            if result.cancelled:
                row.state, row.continues_run_id = SessionState.CANCELLED, None
            else:
                row.state = SessionState.CONFIRMING if result.ready else SessionState.COLLECTING
            return row.continues_run_id

    def _load_or_create(self, team_id: str, channel_id: str, thread_ts: str, user_id: str) -> _Loaded:
        for _attempt in range(2):
            try:
                with self._db.session() as db:
                    row = self._find(db, team_id, channel_id, thread_ts)
                    if row is None:
                        row = ChatSession(
                            team_id=team_id, channel_id=channel_id, thread_ts=thread_ts, user_id=user_id
                        )
                        db.add(row)
                        db.flush()
                    if row.state == SessionState.CANCELLED:  # a message after "cancel" starts afresh
                        row.draft, row.asked_field, row.state = {}, None, SessionState.COLLECTING
                    draft = dict(row.draft)
                    thread = _thread_state(db, row, draft)
                    messages = list(row.messages)
                    return _Loaded(
                        row.id,
                        draft,
                        row.asked_field,
                        row.language,
                        messages,
                        thread,
                        row.version,
                        row.continues_run_id,
                    )
            except IntegrityError:  # another message of the same new thread created the row first
                continue
        raise RuntimeError("could not create the chat session")

    @staticmethod
    def _find(db: Any, team_id: str, channel_id: str, thread_ts: str) -> ChatSession | None:
        return db.scalar(
            select(ChatSession).where(
                ChatSession.team_id == team_id,
                ChatSession.channel_id == channel_id,
                ChatSession.thread_ts == thread_ts,
            )
        )

    def get_session(self, team_id: str, channel_id: str, thread_ts: str) -> ChatSession | None:
        with self._db.session() as db:
            return self._find(db, team_id, channel_id, thread_ts)

    def session_language(self, session_id: int | None) -> str:
        """The language a conversation speaks now (English for none): run messages long after the setup
        use it too."""
        if session_id is None:
            return DEFAULT_LANGUAGE
        with self._db.session() as db:
            row = db.get(ChatSession, session_id)
            return row.language if row is not None else DEFAULT_LANGUAGE

    def user_language(self, user_id: str) -> str:
        """The language of the user's latest conversation (English for a user who has none)."""
        with self._db.session() as db:
            language = db.scalar(
                select(ChatSession.language)
                .where(ChatSession.user_id == user_id)
                .order_by(ChatSession.updated_at.desc(), ChatSession.id.desc())
                .limit(1)
            )
        return language or DEFAULT_LANGUAGE

    def has_session(self, team_id: str, channel_id: str, thread_ts: str) -> bool:
        return self.get_session(team_id, channel_id, thread_ts) is not None

    def _update(self, session_id: int, **values: Any) -> None:
        with self._db.session() as db:
            row = db.get_one(ChatSession, session_id)
            for name, value in values.items():
                setattr(row, name, value)

    def start_order(self, session: ChatSession, text: str | None = None) -> StartOrder | None:
        """What starting this conversation runs: its confirmed config and key, rebuilt from the session
        (a button only names the session and the key it showed). With `text`, only when that message is
        a typed start ("start", "시작", "start at 02:00"), with its time. None when there is nothing to
        start: not confirming, not a start request, or the dataset has gone away."""
        startable = (
            (SessionState.CONFIRMING,)
            if text is not None
            else (SessionState.CONFIRMING, SessionState.STARTED)
        )
        if session.state not in startable:  # a started one again: a double click gets the same run
            return None
        intent = start_intent(text, self._timezone) if text is not None else StartIntent(at=None)
        if intent is None:
            return None
        confirmed = self.confirmed_config(session)
        if confirmed is None:
            return None
        return StartOrder(*confirmed, at=intent.at, continues_run_id=session.continues_run_id)

    def confirmed_config(self, session: ChatSession) -> tuple[TrainingConfig, str] | None:
        """A confirming session's complete config and start key, the same ones its summary's Start button
        carries (a typed "start" is not sent through the parser); None when the dataset has gone away."""
        draft = session.draft or {}
        try:
            dataset = resolve_dataset_path(str(draft.get("dataset_path", "")), self._options.data_root)
            config = config_from_draft(draft, dataset)
        except (DatasetPathError, ValidationError):
            return None
        return config, config_key(session.id, config, session.continues_run_id)

    def mark_started(self, session_id: int) -> None:
        self._update(session_id, state=SessionState.STARTED)

    def mark_cancelled(self, session_id: int) -> None:
        self._update(session_id, state=SessionState.CANCELLED)

    def set_summary_ts(self, session_id: int, ts: str) -> None:
        self._update(session_id, summary_ts=ts)


def _unchanged(before: tuple[dict[str, Any], str | None], reply: str) -> StepResult:
    """The setup as it was before this message (its draft and the question asked), with `reply`."""
    draft, asked = before
    missing = [name for name in REQUIRED_ORDER if name not in draft]
    result = StepResult(draft, asked, reply, missing)
    result.ready = not missing
    return result


def _turn(
    session_id: int, language: str, result: StepResult, parsed: ParseResult, continues: int | None
) -> Turn:
    return Turn(
        reply=result.reply,
        complete=result.complete,
        config=result.config,
        draft=dict(result.draft),
        missing=list(result.missing),
        language=language,
        session_id=session_id,
        notices=list(parsed.notices),
        config_key=config_key(session_id, result.config, continues) if result.config else "",
        dataset_summary=result.dataset_summary,
        intent=parsed.intent,
        command=parsed.command,
        command_args=dict(parsed.command_args),
        question_topic=parsed.question.topic if parsed.question else None,
        ready=result.ready,
    )
