"""The use cases every front end offers, each taking who asks (`Actor`) and where, checking bot/policy.py,
and returning a typed result (bot/actions/results.py) or a `Refusal`. Slack and the console only render
what comes back; none of them decides who may do what, or repeats an action."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import anthropic

from bot.actions.fairness import RateLimiter
from bot.actions.results import (
    Cancelled,
    Exported,
    Failed,
    ModelOf,
    Resumed,
    Said,
    Started,
    Stopped,
    Thread,
)
from bot.actions.sweeps import SweepActions
from bot.conversation import ConversationService
from bot.conversation.service import StartOrder, Turn
from bot.i18n import DEFAULT_LANGUAGE, t
from bot.policy import Action, Actor, Membership, Policy, Reason, Refusal, no_membership
from bot.predict import PredictService, export
from bot.predict.answer import (
    Predicted,
    continue_refusal,
    detect_reply,
    latest_continuable,
    predict_reply,
)
from bot.predict.files import Limits
from bot.predict.last_images import LAST_IMAGES_FOLDER, ThreadImages
from bot.present import runs as present
from bot.runs import RunError, RunManager, RunView, StartRequest
from bot.settings import Settings
from bot.storage import ChatSession, Database, RunStatus, SessionState
from bot.sweeps.controller import SweepController
from training.contract import MODEL_FILE

RECENT_LISTED = 10
RECENT_SEARCHED = 200


@dataclass(frozen=True)
class StartPlace:
    """Where a started run's messages go (a Slack thread); None in the console."""

    channel: str
    thread_ts: str


class Actions:
    def __init__(
        self,
        settings: Settings,
        policy: Policy,
        conversation: ConversationService,
        runs: RunManager,
        *,
        predictions: PredictService | None = None,
        export_command: list[str] | None = None,
        sweeps: SweepController | None = None,
    ) -> None:
        self.policy = policy
        self.conversation = conversation
        self.runs = runs
        self._predictions = predictions or PredictService(gpus=runs, cpus=runs.helper_cpus)
        self.export_command = export_command or export.export_command()
        self._last_images = ThreadImages(settings.output_root / LAST_IMAGES_FOLDER)
        self._messages = RateLimiter(settings.user_messages_per_minute)
        self._heavy = RateLimiter(settings.user_heavy_actions_per_minute)
        self.start_lock = threading.Lock()  # a start and the message that follows it, one at a time
        # sweeps (bot/sweeps): None where the front end was composed without them
        self.sweeps = SweepActions(settings, policy, conversation, sweeps) if sweeps is not None else None

    @classmethod
    def compose(
        cls,
        settings: Settings,
        db: Database,
        parser_choice: str,
        *,
        membership: Membership = no_membership,
        admins: frozenset[str] = frozenset(),
        anthropic_client: anthropic.Anthropic | None = None,
        trainer_command: Sequence[str] | None = None,
    ) -> Actions:
        """The services every front end shares, on the composition root's one (migrated) database."""
        conversation = ConversationService(db, settings, parser_choice, anthropic_client)
        policy = Policy(settings, membership, admins=admins)
        runs = RunManager(db, settings, trainer_command=trainer_command, policy=policy)
        sweeps = SweepController(db, runs, settings)
        return cls(settings, policy, conversation, runs, sweeps=sweeps)

    def start_sweeps(self) -> None:
        """Go on with the sweeps a previous bot left running; after runs.start() (it re-attaches them)."""
        if self.sweeps is not None:
            self.sweeps.controller.start()

    def close(self) -> None:
        self._predictions.close()
        if self.sweeps is not None:
            self.sweeps.controller.close()

    # ---- gates ---------------------------------------------------------------------------------------

    def _limited(self, limiter: RateLimiter, actor: Actor, action: Action) -> Refusal | None:
        wait = limiter.take(actor.user)
        return None if wait is None else Refusal(Reason.RATE_LIMITED, action, retry_after_s=wait)

    def may_upload(self, actor: Actor, where: Thread) -> Refusal | None:
        """A dataset .zip for the thread's setup: checked before anything is downloaded."""
        session = self.session(where)
        refusal = self.policy.may_use_draft(actor, session.user_id if session else None, Action.UPLOAD)
        return refusal or self._limited(self._heavy, actor, Action.UPLOAD)

    # ---- conversation --------------------------------------------------------------------------------

    def session(self, where: Thread) -> ChatSession | None:
        return self.conversation.get_session(where.team_id, where.channel, where.thread_ts)

    def typed_start(
        self, actor: Actor, where: Thread, text: str, place: StartPlace | None
    ) -> Started | Refusal | Failed | None:
        """A typed start ("start", "start at 02:00") in a confirming thread starts the run; None when the
        message is not one (it is for `talk`)."""
        session = self.session(where)
        order = self.conversation.start_order(session, text) if session is not None else None
        if session is None or order is None:
            return None
        return self.start(actor, session, order, place)

    def talk(self, actor: Actor, where: Thread, text: str) -> Turn | Refusal:
        """A message for the conversation engine (and Claude), only from people who may talk to the bot
        and change this thread's setup, within their rate limit."""
        session = self.session(where)
        refusal = self.policy.may_use_draft(actor, session.user_id if session else None, Action.EDIT)
        refusal = refusal or self._limited(self._messages, actor, Action.TALK)
        if refusal is not None:
            return refusal
        return self.conversation.handle_message(
            team_id=where.team_id,
            channel_id=where.channel,
            thread_ts=where.thread_ts,
            user_id=actor.user,
            text=text,
        )

    def start_summary(
        self, actor: Actor, where: Thread, session_id: int, config_key: str, summary_ts: str | None
    ) -> Started | Refusal | Failed | Said:
        """Start on a setup summary: only the summary of the thread's current, unchanged setup starts."""
        session = self.session(where)
        if session is None or session.id != session_id:
            return Said(t(self._thread_language(session), "setup_gone"))
        if session.summary_ts not in (None, summary_ts):  # a replaced summary, also after a start
            return Said(t(session.language, "setup_replaced"))
        if session.state == SessionState.CANCELLED:
            return Said(t(session.language, "setup_was_cancelled"))
        order = self.conversation.start_order(session)
        if order is None:
            return Said(t(session.language, "error_dataset_gone"))
        if order.config_key != config_key:  # the settings changed since this summary
            return Said(t(session.language, "setup_replaced"))
        return self.start(actor, session, order, StartPlace(where.channel, where.thread_ts))

    def start(
        self, actor: Actor, session: ChatSession, order: StartOrder, place: StartPlace | None
    ) -> Started | Refusal | Failed:
        """Submit (or schedule) the draft as its requester's run. A continued run's source is checked again
        now, not only when the draft was made. The same config key gives the same run (a double click)."""
        refusal = self.policy.may_use_draft(actor, session.user_id, Action.START)
        if refusal is None and order.continues_run_id is not None:
            try:
                source = self.runs.get(order.continues_run_id)
            except RunError as error:
                return Failed(error)
            refusal = self.policy.may_use_run(actor, source, Action.CONTINUE)
        if refusal is not None:
            return refusal
        request = StartRequest(
            config=order.config,
            requested_by=session.user_id,  # an admin's click starts the requester's run
            start_key=order.config_key,
            session_id=session.id,
            slack_channel=place.channel if place else None,
            slack_thread_ts=place.thread_ts if place else None,
            continues_run_id=order.continues_run_id,
        )
        try:
            run = self.runs.schedule(request, order.at) if order.at is not None else self.runs.submit(request)
        except RunError as error:
            return Failed(error)
        self.conversation.mark_started(session.id)
        return Started(run, order.at)

    def cancel_draft(self, actor: Actor, where: Thread) -> Cancelled | Refusal | None:
        """Cancel on a summary; None when there is no setup waiting for a start."""
        session = self.session(where)
        if session is None or session.state != SessionState.CONFIRMING:
            return None
        refusal = self.policy.may_use_draft(actor, session.user_id, Action.CANCEL)
        if refusal is not None:
            return refusal
        self.conversation.mark_cancelled(session.id)
        return Cancelled(session.id, actor.user)

    def continue_draft(
        self, actor: Actor, turn: Turn, run_id: int | None, candidates: list[RunView]
    ) -> Turn | Refusal | Failed | Said:
        """ "10 more epochs": a new draft continuing run `run_id`, else the newest finished or stopped
        of `candidates` (newest first), if the person may continue it."""
        refusal = self.policy.may_start(actor, Action.CONTINUE)
        if refusal is not None:
            return refusal
        try:
            source = self.runs.get(run_id) if run_id is not None else latest_continuable(candidates)
        except RunError as error:
            return Failed(error)
        if source is not None and (refusal := self.policy.may_use_run(actor, source, Action.CONTINUE)):
            return refusal
        said = continue_refusal(turn.language, source)
        if said is not None or source is None:
            return Said(said or "")
        epochs = int(turn.command_args.get("epochs") or 0)
        return self.conversation.continue_run(
            turn.session_id, source.id, source.config, epochs, turn.language
        )

    # ---- runs ----------------------------------------------------------------------------------------

    def _run(self, actor: Actor, run_id: int, action: Action) -> RunView | Refusal | Failed:
        try:
            run = self.runs.get(run_id)
        except RunError as error:
            return Failed(error)
        return self.policy.may_use_run(actor, run, action) or run

    def stop(self, actor: Actor, run_id: int) -> Stopped | Refusal | Failed:
        """Stop a run; a scheduled one is cancelled."""
        run = self._run(actor, run_id, Action.STOP)
        if not isinstance(run, RunView):
            return run
        try:
            if run.is_scheduled:
                return Stopped(self.runs.cancel_scheduled(run.id, run.requested_by or actor.user))
            return Stopped(self.runs.stop(run.id, run.requested_by or actor.user))
        except RunError as error:
            return Failed(error)

    def resume(self, actor: Actor, run_id: int) -> Resumed | Refusal | Failed:
        """A new run from the checkpoint, owned by the run's owner (an admin resumes it for them)."""
        run = self._run(actor, run_id, Action.RESUME)
        if not isinstance(run, RunView):
            return run
        try:
            return Resumed(self.runs.resume(run.id, run.requested_by or actor.user))
        except RunError as error:
            return Failed(error)

    def download(self, actor: Actor, run_id: int) -> ModelOf | Refusal | Failed:
        run = self._run(actor, run_id, Action.DOWNLOAD)
        return ModelOf(run) if isinstance(run, RunView) else run

    def model_for_prediction(
        self, actor: Actor, run: RunView | int | None, language: str
    ) -> ModelOf | Refusal | Failed | Said:
        """The completed run (or id) whose model classifies images for the person, if they may use it."""
        if run is None:
            return Said(t(language, "predict_no_run"))
        found = self._run(actor, run, Action.PREDICT) if isinstance(run, int) else run
        if not isinstance(found, RunView):
            return found
        refusal = self.policy.may_use_run(actor, found, Action.PREDICT)
        refusal = refusal or self._limited(self._heavy, actor, Action.PREDICT)
        if refusal is not None:
            return refusal
        if found.status != RunStatus.COMPLETED:
            status = present.status_label(language, found.status)
            return Said(t(language, "predict_not_finished", run_id=found.id, status=status))
        if not found.output_dir or not (Path(found.output_dir) / MODEL_FILE).is_file():
            return Said(t(language, "predict_no_model", run_id=found.id))
        return ModelOf(found)

    def predict(
        self, model: ModelOf, files: list[tuple[str, Path]], language: str, limits: Limits, where: Thread
    ) -> Predicted:
        """Classify local files (display name, path) with a model `model_for_prediction` handed out; a
        detection run's boxes come with the images drawn, and the images stay the thread's last ones."""
        if not files:
            return Predicted("")
        return predict_reply(
            self._predictions,
            model.run,
            files,
            language,
            limits,
            kept=self._last_images,
            thread=_thread_key(where),
        )

    def rethreshold(
        self, actor: Actor, where: Thread, conf: float, language: str
    ) -> Predicted | Refusal | Failed | Said:
        """The thread's last images answered again by the detection run that answered them, at `conf`."""
        key = _thread_key(where)
        last = self._last_images.last(key)
        if last is None:
            return Said(t(language, "det_rethreshold_no_images"))
        model = self.model_for_prediction(actor, last.run_id, language)
        if not isinstance(model, ModelOf):
            return model
        drawn = self._last_images.drawn_folder(key)
        return detect_reply(self._predictions, model.run, last.images, [], language, conf, drawn)

    def export_onnx(
        self, actor: Actor, run: RunView | int | None, language: str, working: Callable[[RunView], None]
    ) -> Exported | Refusal | Failed | Said:
        """Export the run's best model to ONNX in a subprocess, verified against PyTorch (`working` is
        told first when that takes a while); only its owner or an admin may."""
        if run is None:
            return Said(t(language, "onnx_no_run"))
        found = self._run(actor, run, Action.EXPORT) if isinstance(run, int) else run
        if not isinstance(found, RunView):
            return found
        refusal = self.policy.may_use_run(actor, found, Action.EXPORT)
        refusal = refusal or self._limited(self._heavy, actor, Action.EXPORT)
        if refusal is not None:
            return refusal
        if found.status != RunStatus.COMPLETED or not found.output_dir:
            status = present.status_label(language, found.status)
            return Said(t(language, "predict_not_finished", run_id=found.id, status=status))
        report = export.verified_report(found)
        if report is None:
            working(found)
            report = export.run_export(Path(found.output_dir), self.export_command, self.runs.helper_cpus())
        return Exported(found, report, export.offered_file(found, report))

    # ---- lists ---------------------------------------------------------------------------------------

    def visible(self, user: str, runs: list[RunView]) -> list[RunView]:
        return [run for run in runs if self.policy.may_see(user, run)]

    def status(self, actor: Actor) -> list[RunView]:
        """Running, queued and scheduled runs the person may see."""
        return self.visible(actor.user, self.runs.active_runs())

    def recent(self, actor: Actor, limit: int = RECENT_LISTED) -> list[RunView]:
        """The newest runs the person may see, with their results."""
        return self.visible(actor.user, self.runs.recent_runs(limit=RECENT_SEARCHED))[:limit]

    def own_recent(self, actor: Actor, limit: int) -> list[RunView]:
        return [
            run for run in self.runs.recent_runs(limit=RECENT_SEARCHED) if run.requested_by == actor.user
        ][:limit]

    def _thread_language(self, session: ChatSession | None) -> str:
        return session.language if session is not None else DEFAULT_LANGUAGE


def _thread_key(where: Thread) -> str:
    return f"{where.team_id}/{where.channel}/{where.thread_ts}"
