"""`python -m bot --console`: the same conversation engine and run manager, in the terminal.

Type requests as in a Slack thread; once the setup is complete, type "start" / "시작" (or "start at 02:00").
While a run trains, one line shows the same figures as the Slack progress message; Ctrl+C stops the run
(it saves a checkpoint). Everything is worded by bot/present and the catalogue in the session's language;
logs on stderr are cut to warnings, so no INFO line lands between the chat lines.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import queue
import re
import shlex
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.conversation import ConversationService
from bot.conversation.service import StartOrder, Turn
from bot.i18n import DEFAULT_LANGUAGE, t
from bot.predict import PredictService, export
from bot.predict.answer import continue_refusal, latest_completed, latest_continuable, predict_reply
from bot.predict.export import export_command
from bot.present import runs as present
from bot.runs import RunError, RunManager, RunUpdate, RunView, StartRequest
from bot.settings import Settings
from bot.storage import Database, RunStatus

QUIT_WORDS = frozenset({"quit", "exit", "종료", "q"})
CONSOLE = "console"
_MARKUP = re.compile(r"\*([^*\n]+)\*|(?<!\w)_([^_\n]+)_(?!\w)")  # *bold*, _italic_


def plain(text: str) -> str:
    """Markup as terminal text: *bold* and _italic_ lose their marks, `code` stays as typed."""
    return _MARKUP.sub(lambda match: match.group(1) or match.group(2), text)


def progress_line(run: RunView, language: str) -> str:
    """One line with what the Slack progress message shows: status, bar (or queue place, start time,
    preparing phase), epoch, loss, val accuracy and best, images/s, elapsed, ETA."""
    shown = present.progress(run, language)
    parts = [plain(shown.title)]
    parts += [part for part in (shown.bar, shown.state and plain(shown.state)) if part]
    parts += [plain(figure) for figure in shown.figures]
    if shown.stalled:
        parts.append(plain(shown.stalled))
    return " | ".join(parts)


class Console:
    def __init__(
        self,
        settings: Settings,
        conversation: ConversationService,
        runs: RunManager,
        *,
        read_line: Callable[[str], str] = input,
        out: TextIO = sys.stdout,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        self._settings = settings
        self._conversation = conversation
        self._runs = runs
        self._read_line = read_line
        self._out = out
        self._language = language  # the session's, once the user has said something
        self._user = getpass.getuser()
        self._thread = self._new_thread()
        self._updates: queue.SimpleQueue[RunUpdate] = queue.SimpleQueue()
        self._line_width = 0  # of the progress line drawn last, to pad over it
        self._warnings_shown = 0
        self._started: list[int] = []  # runs started or resumed here, oldest first
        self._predictions: PredictService | None = None  # started at the first `predict`
        self._export_command = export_command()

    def run(self) -> int:
        unsubscribe = self._runs.subscribe(self._updates.put)
        self._say(t(self._language, "console_intro"))
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
            if self._predictions is not None:
                self._predictions.close()
        return 0

    def _handle(self, text: str) -> None:
        session = self._conversation.get_session(CONSOLE, CONSOLE, self._thread)
        order = self._conversation.start_order(session, text) if session is not None else None
        if session is not None and order is not None:
            self._start(order, session.id)
            return
        turn = self._conversation.handle_message(
            team_id=CONSOLE, channel_id=CONSOLE, thread_ts=self._thread, user_id=self._user, text=text
        )
        self._language = turn.language
        for notice in turn.notices:
            self._say(notice)
        if turn.intent == "command" and turn.command in CONSOLE_COMMANDS:
            CONSOLE_COMMANDS[turn.command](self, turn)
            return
        self._say_turn(turn)

    def _say_turn(self, turn: Turn) -> None:
        self._say(turn.reply)
        if turn.complete:
            self._say(t(self._language, "console_summary_footer"))

    def _help(self, _turn: Turn) -> None:
        self._say(t(self._language, "console_help"))

    def _status(self, _turn: Turn) -> None:
        self._say_runs("status_title", self._runs.active_runs(), "status_empty")

    def _list(self, _turn: Turn) -> None:
        self._say_runs("list_title", self._runs.recent_runs(limit=10), "list_empty")

    def _say_runs(self, title_key: str, runs: list[RunView], empty_key: str) -> None:
        lines = [f"• {present.run_line(run, self._language)}" for run in runs]
        self._say(
            "\n".join([t(self._language, title_key), *lines]) if lines else t(self._language, empty_key)
        )

    def _stop(self, turn: Turn) -> None:
        run_id = turn.command_args.get("run_id")
        if run_id is None:
            self._say(t(self._language, "console_stop_usage"))
            return
        try:
            run = self._runs.stop(run_id, self._user)
        except RunError as error:
            self._say(present.run_error(self._language, error))
            return
        self._say(t(self._language, "stopping", id=run.id))

    def _resume(self, turn: Turn) -> None:
        """Resume as a new run and follow it here, as a run started from this console is followed."""
        run_id = turn.command_args.get("run_id")
        if run_id is None:
            self._say(t(self._language, "console_resume_usage"))
            return
        try:
            run = self._runs.resume(run_id, self._user)
        except RunError as error:
            self._say(present.run_error(self._language, error))
            return
        self._follow(run)

    def _predict(self, turn: Turn) -> None:
        """`predict [id] PATH...`: classify image files (or zips of them) with a finished run's model."""
        try:
            words = shlex.split(str(turn.command_args.get("text") or ""))[1:]
        except ValueError:  # an unclosed quote
            words = []
        run_id = int(words.pop(0).lstrip("#")) if words and words[0].lstrip("#").isdigit() else None
        if not words:
            self._say(t(self._language, "predict_console_usage"))
            return
        run = self._model_run(run_id, latest_completed)
        if run is None:
            return
        paths = [(word, Path(word).expanduser()) for word in words]
        missing = [
            t(self._language, "predict_missing_file", name=name) for name, path in paths if not path.is_file()
        ]
        found = [(path.name, path) for _, path in paths if path.is_file()]
        if self._predictions is None:
            self._predictions = PredictService(
                visible_gpus=lambda: list(self._runs.gpus()),
                busy_gpus=self._runs.busy_gpus,
                cpus=self._runs.helper_cpus,
            )
        reply = predict_reply(self._predictions, run, found, self._language) if found else ""
        self._say("\n".join(line for line in (reply, *missing) if line))

    def _export_onnx(self, turn: Turn) -> None:
        run = self._model_run(turn.command_args.get("run_id"), latest_completed)
        if run is None:
            return
        if run.status != RunStatus.COMPLETED or not run.output_dir:
            status = present.status_label(self._language, run.status)
            self._say(t(self._language, "predict_not_finished", run_id=run.id, status=status))
            return
        report = export.verified_report(run)
        if report is None:
            self._say(t(self._language, "onnx_working", run_id=run.id))
            report = export.run_export(Path(run.output_dir), self._export_command, self._runs.helper_cpus())
        self._say(present.onnx_report(self._language, run.id, report))
        offered = export.offered_file(run, report)
        if offered is not None:
            self._say(t(self._language, "onnx_console_file", path=offered))

    def _continue(self, turn: Turn) -> None:
        """ "10 more epochs": a new setup continuing the latest finished or stopped run (or the one named)."""
        run_id = turn.command_args.get("run_id")
        try:
            source = self._runs.get(run_id) if run_id is not None else latest_continuable(self._own_runs())
        except RunError as error:
            self._say(present.run_error(self._language, error))
            return
        refusal = continue_refusal(self._language, source)
        if refusal is not None or source is None:
            self._say(refusal or "")
            return
        epochs = int(turn.command_args.get("epochs") or 0)
        self._say_turn(
            self._conversation.continue_run(turn.session_id, source.id, source.config, epochs, self._language)
        )

    def _own_runs(self) -> list[RunView]:
        """The runs started or resumed in this console, newest first."""
        return [self._runs.get(run_id) for run_id in reversed(self._started)]

    def _model_run(
        self, run_id: int | None, pick: Callable[[list[RunView]], RunView | None]
    ) -> RunView | None:
        """The run named, else the one `pick` chooses among this console's runs; None after saying why."""
        try:
            run = self._runs.get(run_id) if run_id is not None else pick(self._own_runs())
        except RunError as error:
            self._say(present.run_error(self._language, error))
            return None
        if run is None:
            self._say(t(self._language, "predict_no_run"))
        return run

    def _start(self, order: StartOrder, session_id: int) -> None:
        request = StartRequest(
            config=order.config,
            requested_by=self._user,
            start_key=order.config_key,
            session_id=session_id,
            continues_run_id=order.continues_run_id,
        )
        try:
            if order.at is not None:
                run = self._runs.schedule(request, order.at)
                scheduled = t(self._language, "scheduled", id=run.id, at=present.clock(order.at))
                self._say(f"{scheduled} {t(self._language, 'console_scheduled_note')}")
            else:
                self._follow(self._runs.submit(request))
        except RunError as error:
            self._say(present.run_error(self._language, error))
            return
        self._conversation.mark_started(session_id)
        self._thread = self._new_thread()
        self._say(t(self._language, "console_next"))

    def _follow(self, run: RunView) -> None:
        """Draw the run's progress until it ends; Ctrl+C asks the trainer to stop (once)."""
        self._started.append(run.id)
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
                    self._out.write("\n" + plain(t(self._language, "console_stopping")) + "\n")
                    with contextlib.suppress(RunError):  # it may have ended at this very moment
                        self._runs.stop(run.id, self._user)
                continue
            if update.run.id == run.id:
                run = update.run
                self._draw(run)
        self._out.write("\n")
        self._say_ending(self._runs.get(run.id))

    def _say_ending(self, run: RunView) -> None:
        if run.status == RunStatus.COMPLETED:
            self._say("\n".join(present.completion(run, self._language)))
            self._say(t(self._language, "console_files", path=run.output_dir))
            return
        self._say("\n".join(present.ending(run, self._language)))
        if run.checkpoint_path:
            self._say(t(self._language, "console_resume_hint", id=run.id))

    def _draw(self, run: RunView) -> None:
        warnings = present.warnings(run, self._language)
        for warning in warnings[self._warnings_shown :]:
            self._out.write("\r" + plain(warning).ljust(self._line_width) + "\n")
        self._warnings_shown = len(warnings)
        line = progress_line(run, self._language)
        self._out.write("\r" + line.ljust(self._line_width))  # pad over the longer line drawn before
        self._line_width = len(line)
        self._out.flush()

    def _say(self, text: str) -> None:
        self._out.write(plain(text) + "\n")
        self._out.flush()

    @staticmethod
    def _new_thread() -> str:
        return f"{time.time():.6f}-{uuid.uuid4().hex[:6]}"


CONSOLE_COMMANDS: dict[str, Callable[[Console, Turn], None]] = {
    "help": Console._help,
    "status": Console._status,
    "list": Console._list,
    "stop": Console._stop,
    "resume": Console._resume,
    "predict": Console._predict,
    "export_onnx": Console._export_onnx,
    "continue": Console._continue,
}


def locale_language() -> str:
    """The terminal's language (LC_ALL, LC_MESSAGES, LANG) for the first lines, before the user speaks."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "ko" if value.lower().startswith("ko") else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def quiet_logs() -> None:
    """Logs never interleave with the chat: stderr shows only warnings."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setLevel(max(handler.level, logging.WARNING))


def run_console(settings: Settings, parser_choice: str) -> int:
    quiet_logs()
    db = Database(settings.database_url_or_default)
    db.create_all()
    conversation = ConversationService(db, settings, parser_choice)
    runs = RunManager(db, settings)
    runs.start()
    try:
        return Console(settings, conversation, runs, language=locale_language()).run()
    finally:
        runs.shutdown()
