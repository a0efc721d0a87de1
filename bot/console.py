"""`python -m bot --console`: the same conversation engine and run manager, in the terminal.

Type requests as in a Slack thread; once the setup is complete, type "start" / "시작" (or "start at 02:00").
While a run trains, a progress bar is drawn on one line; Ctrl+C stops the run (it saves a checkpoint).
"""

from __future__ import annotations

import contextlib
import getpass
import queue
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from bot.conversation import ConversationService
from bot.runs import RunError, RunManager, RunUpdate, RunView, StartRequest
from bot.settings import Settings
from bot.slack import render
from bot.slack.progress import completion_metrics
from bot.slack.start_intent import start_intent
from bot.storage import Database, RunStatus, SessionState
from training.config import TrainingConfig

QUIT_WORDS = frozenset({"quit", "exit", "종료", "q"})
CONSOLE = "console"


class Console:
    def __init__(
        self,
        settings: Settings,
        conversation: ConversationService,
        runs: RunManager,
        *,
        read_line: Callable[[str], str] = input,
        out: TextIO = sys.stdout,
    ) -> None:
        self._settings = settings
        self._conversation = conversation
        self._runs = runs
        self._read_line = read_line
        self._out = out
        self._user = getpass.getuser()
        self._thread = self._new_thread()
        self._updates: queue.SimpleQueue[RunUpdate] = queue.SimpleQueue()
        self._line_width = 0  # of the progress line drawn last, to pad over it
        self._warnings_shown = 0

    def run(self) -> int:
        unsubscribe = self._runs.subscribe(self._updates.put)
        self._say('Describe the model to train (e.g. "resnet18 on cats, 5 epochs"). "quit" leaves.')
        try:
            while True:
                try:
                    line = self._read_line("> ").strip()
                except EOFError:
                    break
                if line.lower() in QUIT_WORDS:
                    break
                if line:
                    self._handle(line)
        except KeyboardInterrupt:
            pass
        finally:
            unsubscribe()
        return 0

    def _handle(self, text: str) -> None:
        session = self._conversation.get_session(CONSOLE, CONSOLE, self._thread)
        if session is not None and session.state == SessionState.CONFIRMING:
            intent = start_intent(text, self._settings.timezone)
            confirmed = self._conversation.confirmed_config(session) if intent else None
            if intent and confirmed:
                self._start(*confirmed, session.id, intent.at)
                return
        turn = self._conversation.handle_message(
            team_id=CONSOLE, channel_id=CONSOLE, thread_ts=self._thread, user_id=self._user, text=text
        )
        for notice in turn.notices:
            self._say(f"({notice})")
        self._say(turn.reply)
        if turn.complete:
            self._say(
                'Type "start" (or "시작") to begin, "start at 02:00" to schedule it, or change a value.'
            )

    def _start(self, config: TrainingConfig, key: str, session_id: int, at: datetime | None) -> None:
        request = StartRequest(config=config, requested_by=self._user, start_key=key, session_id=session_id)
        try:
            if at is not None:
                run = self._runs.schedule(request, at)
                self._say(
                    f"Run #{run.id} is scheduled for {at:%Y-%m-%d %H:%M %Z}; it runs while the bot runs."
                )
            else:
                self._follow(self._runs.submit(request))
        except RunError as error:
            self._say(error.message)
            return
        self._conversation.mark_started(session_id)
        self._thread = self._new_thread()
        self._say("Describe the next model to train, or type quit.")

    def _follow(self, run: RunView) -> None:
        """Draw the run's progress until it ends; Ctrl+C asks the trainer to stop (once)."""
        self._line_width = self._warnings_shown = 0
        self._draw(run)
        stopping = False
        while not run.status.is_terminal:
            try:
                update = self._updates.get(timeout=0.5)
            except queue.Empty:
                continue
            except KeyboardInterrupt:
                if not stopping:
                    stopping = True
                    self._out.write("\nStopping (saving a checkpoint)…\n")
                    with contextlib.suppress(RunError):  # it may have ended at this very moment
                        self._runs.stop(run.id, self._user)
                continue
            if update.run.id == run.id:
                run = update.run
                self._draw(run)
        self._out.write("\n")
        final = self._runs.get(run.id)
        if final.status == RunStatus.COMPLETED:
            self._say(render.completion_text(final, *completion_metrics(final, done=None)))
            self._say(f"Files: {final.output_dir}")
        else:
            self._say(render.ending_text(final).replace("Press *Resume*", "Resume it from Slack"))

    def _draw(self, run: RunView) -> None:
        metrics = run.metrics or {}
        parts = [f"run #{run.id} {run.status.value}", render.progress_bar(run.progress)]
        if run.status == RunStatus.QUEUED and run.queue_position is not None:
            parts.append(f"queue position {run.queue_position}")
        parts.append(f"epoch {run.current_epoch}/{run.total_epochs or run.config.get('epochs', '?')}")
        if metrics.get("val_acc") is not None:
            parts.append(f"val acc {metrics['val_acc']:.1%}")
        if run.eta_seconds is not None and run.status == RunStatus.RUNNING:
            parts.append(f"ETA {render.format_duration(run.eta_seconds)}")
        warnings = render.run_warnings(run)
        for warning in warnings[self._warnings_shown :]:
            self._out.write("\r" + f"⚠️  {warning['message']}".ljust(self._line_width) + "\n")
        self._warnings_shown = len(warnings)
        line = " | ".join(parts)
        self._out.write("\r" + line.ljust(self._line_width))  # pad over the longer line drawn before
        self._line_width = len(line)
        self._out.flush()

    def _say(self, text: str) -> None:
        self._out.write(text.replace("*", "") + "\n")
        self._out.flush()

    @staticmethod
    def _new_thread() -> str:
        return f"{time.time():.6f}-{uuid.uuid4().hex[:6]}"


def run_console(settings: Settings, parser_choice: str) -> int:
    db = Database(settings.database_url_or_default)
    db.create_all()
    conversation = ConversationService(db, settings, parser_choice)
    runs = RunManager(db, settings)
    runs.start()
    try:
        return Console(settings, conversation, runs).run()
    finally:
        runs.shutdown()
