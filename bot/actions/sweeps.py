"""The sweep use cases for every front end: a sweep asked for in the conversation (the Turn carries it,
read by the rules or by Claude and checked) gets a proposal (trials, what varies, the estimate) with
Start; Start, a typed "start sweep", Stop, Resume and showing each trial's progress go through the
policy (the requester or an admin). Refusals change nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.actions.results import Thread
from bot.conversation import ConversationService, Turn
from bot.conversation.answers import AnswerContext, estimate
from bot.conversation.datasets import DatasetPathError, shown_dataset_path, summarize_dataset
from bot.conversation.language import detect_language
from bot.conversation.sweeps import checked_sweep, refused_text, waiting_line, waiting_sweep
from bot.i18n import t
from bot.policy import Action, Actor, Policy, Refusal
from bot.settings import Settings
from bot.storage import ChatSession, SweepStatus
from bot.sweeps import present
from bot.sweeps.controller import SweepController
from bot.sweeps.spec import SweepRefusal, SweepSpec
from bot.sweeps.views import SweepView
from training.config import TrainingConfig

_START_WORDS = re.compile(
    r"^\s*(?:start|run|go)\s+(?:the\s+)?sweep\b|^\s*스윕\s*(?:시작|돌려)", re.IGNORECASE
)
_STOP_WORDS = re.compile(
    r"^\s*(?:stop|cancel|abort)\s+(?:the\s+)?sweep\b|^\s*스윕\s*(?:중지|멈춰|취소)", re.IGNORECASE
)
_RESUME_WORDS = re.compile(r"^\s*resume\s+(?:the\s+)?sweep\b|^\s*스윕\s*(?:재개|다시\s*시작)", re.IGNORECASE)
_TRIALS = r"(?:each\s+|every\s+|the\s+)?trials?(?:['’]s?)?\s+progress\b"
_SHOW_TRIALS_WORDS = re.compile(
    rf"^\s*show\s+{_TRIALS}|^\s*시도\s*별\s*진행\S*\s*(?:보여|표시)", re.IGNORECASE
)
_HIDE_TRIALS_WORDS = re.compile(
    rf"^\s*hide\s+{_TRIALS}|^\s*시도\s*별\s*진행\S*\s*(?:숨겨|감춰)", re.IGNORECASE
)


STARTED = (SweepStatus.RUNNING, SweepStatus.STOPPED, SweepStatus.COMPLETED)
CONSOLE = "console"  # the console's Thread (bot/console.py): no Slack message, no buttons


@dataclass(frozen=True)
class SweepProposed:
    sweep: SweepView
    text: str
    language: str


@dataclass(frozen=True)
class SweepStarted:
    sweep: SweepView
    language: str


@dataclass(frozen=True)
class SweepStopped:
    sweep: SweepView
    language: str


@dataclass(frozen=True)
class SweepResumed:
    sweep: SweepView
    language: str


@dataclass(frozen=True)
class SweepTrialsShown:
    """Each trial's own progress message was turned on or off (sweep.show_trials)."""

    sweep: SweepView
    language: str


@dataclass(frozen=True)
class SweepSaid:
    """A refusal or a short answer, in the person's language; nothing was changed."""

    text: str


SweepResult = (
    SweepProposed | SweepStarted | SweepStopped | SweepResumed | SweepTrialsShown | SweepSaid | Refusal
)


class SweepActions:
    def __init__(
        self, settings: Settings, policy: Policy, conversation: ConversationService, sweeps: SweepController
    ) -> None:
        self._settings = settings
        self._policy = policy
        self._conversation = conversation
        self.controller = sweeps

    def handle_text(self, actor: Actor, where: Thread, text: str) -> SweepResult | None:
        """A message starting or stopping the thread's sweep; None otherwise (a sweep is asked for in the
        conversation: its Turn carries it to `propose`)."""
        session = self._conversation.get_session(where.team_id, where.channel, where.thread_ts)
        language = detect_language(text, session.language if session else "en")
        if _START_WORDS.search(text):
            drafts = self._in_thread(session, SweepStatus.DRAFT)
            return self.start(actor, drafts[0].id, language) if drafts else self._no_draft(session, language)
        if _STOP_WORDS.search(text):
            running = self._in_thread(session, SweepStatus.RUNNING)
            return (
                self.stop(actor, running[0].id, language) if running else SweepSaid(t(language, "sweep_none"))
            )
        if _RESUME_WORDS.search(text):
            stopped = self._in_thread(session, SweepStatus.STOPPED)
            if not stopped:
                return SweepSaid(t(language, "sweep_none_stopped"))
            return self.resume(actor, stopped[0].id, language)
        if shown := _SHOW_TRIALS_WORDS.search(text) or _HIDE_TRIALS_WORDS.search(text):
            live = self._in_thread(session, SweepStatus.RUNNING) or self._in_thread(
                session, SweepStatus.DRAFT
            )
            if not live:
                return SweepSaid(t(language, "sweep_none_running"))
            return self.show_trials(actor, live[0].id, shown.re is _SHOW_TRIALS_WORDS, language)
        return None

    def _no_draft(self, session: ChatSession | None, language: str) -> SweepSaid:
        """Why a typed start starts nothing: the sweep asked for waits for its setup, the thread's sweep
        has started already (a start typed again), or there is none."""
        waiting = waiting_sweep(list(session.messages)) if session is not None else None
        if waiting is not None:
            return SweepSaid(waiting_line(language, waiting))
        sweeps = self.controller.in_session(session.id) if session is not None else []
        started = [sweep for sweep in sweeps if sweep.status in STARTED]
        if started:
            return SweepSaid(t(language, "sweep_already_started", id=started[0].id))
        return SweepSaid(t(language, "sweep_none"))

    def _in_thread(self, session: ChatSession | None, status: SweepStatus) -> list[SweepView]:
        if session is None:
            return []
        return [sweep for sweep in self.controller.in_session(session.id) if sweep.status == status]

    def propose(self, where: Thread, turn: Turn) -> SweepProposed | None:
        """The proposal of the sweep a conversation turn carries (asked for in that message, or waiting
        for the setup it completed; checked by the conversation against the turn's config), with Start.
        The turn came through `Actions.talk`, which applied the policy and the message limit. None for a
        turn with no sweep."""
        if turn.sweep is None or turn.config is None:
            return None
        spec, config = turn.sweep, turn.config
        session = self._conversation.get_session(where.team_id, where.channel, where.thread_ts)
        assert session is not None and session.id == turn.session_id
        self.controller.discard_drafts(session.id)  # the newest proposal is the one Start starts
        sweep = self.controller.create(
            spec,
            config,
            session.user_id,
            session_id=session.id,
            slack_channel=where.channel if where.team_id != CONSOLE else None,
            slack_thread_ts=where.thread_ts if where.team_id != CONSOLE else None,
            draft=True,
        )
        return self._proposed(where, sweep, config, turn)

    def reobjective(self, actor: Actor, where: Thread, turn: Turn) -> SweepResult:
        """The thread's proposed sweep picks its best trial by the objective the turn names ("pick by val
        loss instead"): the same draft, checked as when it was asked for, proposed again; its requester
        or an admin only. Refused, or with no proposal to change, nothing changes."""
        assert turn.sweep_objective is not None
        language = turn.language
        session = self._conversation.get_session(where.team_id, where.channel, where.thread_ts)
        sweeps = self.controller.in_session(session.id) if session is not None else []
        latest = next((sweep for sweep in sweeps if sweep.status != SweepStatus.DISCARDED), None)
        if latest is None:
            return SweepSaid(turn.reply)
        if latest.status in STARTED:
            return SweepSaid(t(language, "sweep_objective_too_late", id=latest.id))
        refusal = self._policy.may_use_draft(actor, latest.requested_by, Action.EDIT)
        if refusal is not None:
            return refusal
        config = self.controller.base_config(latest.id)
        spec = latest.spec.model_copy(update={"objective": turn.sweep_objective})
        try:
            checked_sweep(spec, self._settings.sweep_max_trials, config.task, self._settings.max_epochs)
        except SweepRefusal as refused:
            return SweepSaid(refused_text(language, refused))
        changed = self.controller.set_objective(latest.id, turn.sweep_objective)
        if changed is None:  # Start was pressed meanwhile
            return SweepSaid(t(language, "sweep_objective_too_late", id=latest.id))
        return self._proposed(where, changed, config, turn)

    def _proposed(self, where: Thread, sweep: SweepView, config: TrainingConfig, turn: Turn) -> SweepProposed:
        dataset = shown_dataset_path(config.dataset_path, self._settings.data_root)
        estimate_s = self._estimate(sweep.spec, config, sweep.parallel)
        text = present.proposal(
            turn.language,
            sweep.spec,
            config,
            dataset,
            sweep.parallel,
            estimate_s,
            buttons=where.team_id != CONSOLE,
        )
        return SweepProposed(sweep, "\n".join([*turn.notices, text]), turn.language)

    def _estimate(self, spec: SweepSpec, config: TrainingConfig, parallel: int) -> float | None:
        """The whole sweep's time from this host's history: every trial's estimate, in waves of `parallel`."""
        try:
            summary = summarize_dataset(Path(config.dataset_path))
        except (DatasetPathError, OSError):
            return None
        points = spec.grid_points() if spec.kind == "grid" else [{}] * spec.trial_count()
        seconds = []
        for params in points:
            draft = {**config.model_dump(), **params}
            found = estimate(
                AnswerContext("en", draft, summary, self._conversation.facts, []), int(draft["epochs"])
            )
            if found is None:
                return None
            seconds.append(found[0])
        slots = [0.0] * max(1, parallel)  # each trial starts on the slot that frees first
        for trial_seconds in seconds:
            slots[slots.index(min(slots))] += trial_seconds
        return max(slots)

    def start(self, actor: Actor, sweep_id: int, language: str) -> SweepResult:
        sweep = self.controller.find(sweep_id)
        if sweep is None:
            return SweepSaid(t(language, "sweep_refused_gone"))
        refusal = self._policy.may_use_draft(actor, sweep.requested_by, Action.START)
        if refusal is not None:
            return refusal
        started = self.controller.launch(sweep_id)
        if started is None:  # started already (a double click: the same sweep, no trial twice), or replaced
            started = self.controller.find(sweep_id)
            if started is None or started.status == SweepStatus.DISCARDED:
                return SweepSaid(t(language, "sweep_refused_gone"))
        return SweepStarted(started, language)

    def stop(self, actor: Actor, sweep_id: int, language: str) -> SweepResult:
        sweep = self.controller.find(sweep_id)
        if sweep is None or sweep.status != SweepStatus.RUNNING:
            return SweepSaid(t(language, "sweep_none"))
        refusal = self._policy.may_use_sweep(actor, sweep, Action.STOP)
        if refusal is not None:
            return refusal
        return SweepStopped(self.controller.stop(sweep_id, actor.user), language)

    def resume(self, actor: Actor, sweep_id: int, language: str) -> SweepResult:
        """The stopped trials resume from their checkpoints, the cancelled ones are queued again."""
        sweep = self.controller.find(sweep_id)
        if sweep is None or sweep.status != SweepStatus.STOPPED:
            return SweepSaid(t(language, "sweep_none_stopped"))
        refusal = self._policy.may_use_sweep(actor, sweep, Action.RESUME)
        if refusal is not None:
            return refusal
        resumed = self.controller.resume(sweep_id)
        if resumed is None:  # a trial is still stopping (or a double click resumed it already)
            again = self.controller.find(sweep_id)
            key = (
                "sweep_still_stopping"
                if again and again.status == SweepStatus.STOPPED
                else "sweep_none_stopped"
            )
            return SweepSaid(t(language, key, id=sweep_id))
        return SweepResumed(resumed, language)

    def show_trials(self, actor: Actor, sweep_id: int, shown: bool, language: str) -> SweepResult:
        """Each trial's own progress message in the thread (`shown`), or the table only; for a running
        sweep or a proposal (the console follows a sweep from its start)."""
        sweep = self.controller.find(sweep_id)
        if sweep is None or sweep.status not in (SweepStatus.RUNNING, SweepStatus.DRAFT):
            return SweepSaid(t(language, "sweep_none_running"))
        refusal = self._policy.may_use_sweep(actor, sweep, Action.EDIT)
        if refusal is not None:
            return refusal
        return SweepTrialsShown(self.controller.show_trials(sweep_id, shown), language)

    def visible(self, user: str, limit: int = 10) -> list[SweepView]:
        """Recent sweeps a person may see (bot/policy.py: as for runs)."""
        return [sweep for sweep in self.controller.recent(limit) if self._policy.may_see_sweep(user, sweep)]
