"""`python -m bot --console`: the same conversation engine and run manager, in the terminal.

Type requests as in a Slack thread; once the setup is complete, type "start" / "시작" (or "start at 02:00").
While a run trains, one line shows the same figures as the Slack progress message; Ctrl+C stops the run
(it saves a checkpoint). Everything is worded by bot/present and the catalogue in the session's language;
logs on stderr are cut to warnings, so no INFO line lands between the chat lines.
"""

from __future__ import annotations

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

from bot.actions import Actions, Exported, Failed, ModelOf, Resumed, Said, Started, Stopped, Thread
from bot.actions.sweeps import SweepProposed, SweepSaid, SweepStarted, SweepStopped
from bot.conversation.service import Turn
from bot.i18n import DEFAULT_LANGUAGE, t
from bot.policy import Actor, Refusal
from bot.predict.answer import latest_completed
from bot.predict.files import Limits
from bot.present import runs as present
from bot.present.refusals import refusal_text
from bot.runs import RunUpdate, RunView
from bot.settings import Settings
from bot.storage import Database, RunStatus
from bot.sweeps import present as sweep_present
from bot.sweeps.controller import SweepController
from bot.sweeps.views import SweepView

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
    """Command handling: each request goes to bot/actions as the local user (the owner and an admin of
    everything here); what comes back is printed by the output methods below."""

    def __init__(
        self,
        actions: Actions,
        *,
        user: str | None = None,
        read_line: Callable[[str], str] = input,
        out: TextIO = sys.stdout,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        self._actions = actions
        self._runs = actions.runs
        self._read_line = read_line
        self._out = out
        self._language = language  # the session's, once the user has said something
        self._user = user or getpass.getuser()
        self._actor = Actor(self._user)
        self._thread = self._new_thread()
        self._updates: queue.SimpleQueue[RunUpdate] = queue.SimpleQueue()
        self._line_width = 0  # of the progress line drawn last, to pad over it
        self._warnings_shown = 0
        self._started: list[int] = []  # runs started or resumed here, oldest first

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
        return 0

    def _where(self) -> Thread:
        return Thread(CONSOLE, CONSOLE, self._thread)

    def _handle(self, text: str) -> None:
        if self._handle_sweep(text):
            return
        started = self._actions.typed_start(self._actor, self._where(), text, None)
        if started is not None:
            self._on_started(started)
            return
        turn = self._actions.talk(self._actor, self._where(), text)
        if not isinstance(turn, Turn):
            self._say_answer(turn)
            return
        self._language = turn.language
        for notice in turn.notices:
            self._say(notice)
        if turn.intent == "command" and turn.command in CONSOLE_COMMANDS:
            CONSOLE_COMMANDS[turn.command](self, turn)
            return
        self._say_turn(turn)

    def _handle_sweep(self, text: str) -> bool:
        """A sweep asked for, started ("start sweep" / "스윕 시작") or stopped; False for other messages."""
        sweeps = self._actions.sweeps
        result = sweeps.handle_text(self._actor, self._where(), text) if sweeps is not None else None
        if result is None or sweeps is None:
            return False
        match result:
            case SweepProposed(text=proposal, language=language):
                self._language = language
                self._say(proposal)
            case SweepStarted(sweep=sweep, language=language):
                self._say(
                    t(
                        language,
                        "sweep_started",
                        id=sweep.id,
                        count=sweep.trials_budget,
                        parallel=sweep.parallel,
                    )
                )
                self._follow_sweep(sweeps.controller, sweep.id)
            case SweepStopped(sweep=sweep, language=language):
                self._say(t(language, "sweep_stopped", id=sweep.id))
            case SweepSaid(text=said):
                self._say(said)
            case Refusal():
                self._say_answer(result)
        return True

    def _follow_sweep(self, controller: SweepController, sweep_id: int) -> None:
        """Print the sweep's table whenever a trial starts or ends, then the result; Ctrl+C stops it."""
        changes: queue.SimpleQueue[SweepView] = queue.SimpleQueue()
        unsubscribe = controller.subscribe(changes.put)
        shown: tuple[object, ...] = ()
        sweep = controller.view(sweep_id)
        try:
            while not sweep_present.is_finished(sweep):
                try:
                    changed = changes.get(timeout=0.5)
                except queue.Empty:
                    continue
                except KeyboardInterrupt:
                    controller.stop(sweep_id, self._user)
                    continue
                if changed.id != sweep_id:
                    continue
                sweep = changed
                states = tuple((t.run.status if t.run else None, t.pruned) for t in sweep.trials)
                if states != shown:
                    shown = states
                    self._say(sweep_present.table(self._language, sweep))
        finally:
            unsubscribe()
        self._say(sweep_present.result(self._language, sweep))
        best = sweep.best
        if best is not None and best.run is not None:
            self._say(t(self._language, "console_files", path=best.run.output_dir))
        if sweep.chart is not None:
            self._say(t(self._language, "sweep_chart_at", path=sweep.chart))

    def _say_turn(self, turn: Turn) -> None:
        self._say(turn.reply)
        if turn.complete:
            self._say(t(self._language, "console_summary_footer"))

    def _say_answer(self, result: Refusal | Failed | Said) -> None:
        match result:
            case Refusal():
                self._say(refusal_text(self._language, result))
            case Failed(error=error):
                self._say(present.run_error(self._language, error))
            case Said(text=text):
                self._say(text)

    def _help(self, _turn: Turn) -> None:
        self._say(t(self._language, "console_help"))

    def _status(self, _turn: Turn) -> None:
        self._say_runs("status_title", self._actions.status(self._actor), "status_empty")

    def _list(self, _turn: Turn) -> None:
        self._say_runs("list_title", self._actions.recent(self._actor), "list_empty")
        if self._actions.sweeps is not None:
            for line in sweep_present.list_lines(self._language, self._actions.sweeps.visible(self._user)):
                self._say(line)

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
        result = self._actions.stop(self._actor, run_id)
        if isinstance(result, Stopped):
            self._say(t(self._language, "stopping", id=result.run.id))
        else:
            self._say_answer(result)

    def _resume(self, turn: Turn) -> None:
        """Resume as a new run and follow it here, as a run started from this console is followed."""
        run_id = turn.command_args.get("run_id")
        if run_id is None:
            self._say(t(self._language, "console_resume_usage"))
            return
        result = self._actions.resume(self._actor, run_id)
        if isinstance(result, Resumed):
            self._follow(result.run)
        else:
            self._say_answer(result)

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
        run = run_id if run_id is not None else latest_completed(self._own_runs())
        model = self._actions.model_for_prediction(self._actor, run, self._language)
        if not isinstance(model, ModelOf):
            self._say_answer(model)
            return
        paths = [(word, Path(word).expanduser()) for word in words]
        missing = [
            t(self._language, "predict_missing_file", name=name) for name, path in paths if not path.is_file()
        ]
        found = [(path.name, path) for _, path in paths if path.is_file()]
        reply = self._actions.predict(model, found, self._language, Limits())
        self._say("\n".join(line for line in (reply, *missing) if line))

    def _export_onnx(self, turn: Turn) -> None:
        run_id = turn.command_args.get("run_id")
        run = run_id if run_id is not None else latest_completed(self._own_runs())

        def working(found: RunView) -> None:
            self._say(t(self._language, "onnx_working", run_id=found.id))

        result = self._actions.export_onnx(self._actor, run, self._language, working)
        if not isinstance(result, Exported):
            self._say_answer(result)
            return
        self._say(present.onnx_report(self._language, result.run.id, result.report))
        if result.offered is not None:
            self._say(t(self._language, "onnx_console_file", path=result.offered))

    def _continue(self, turn: Turn) -> None:
        """ "10 more epochs": a new setup continuing the latest finished or stopped run (or the one named)."""
        result = self._actions.continue_draft(
            self._actor, turn, turn.command_args.get("run_id"), self._own_runs()
        )
        if isinstance(result, Turn):
            self._say_turn(result)
        else:
            self._say_answer(result)

    def _own_runs(self) -> list[RunView]:
        """The runs started or resumed in this console, newest first."""
        return [self._runs.get(run_id) for run_id in reversed(self._started)]

    def _on_started(self, result: Started | Refusal | Failed) -> None:
        if not isinstance(result, Started):
            self._say_answer(result)
            return
        if result.at is not None:
            scheduled = t(self._language, "scheduled", id=result.run.id, at=present.clock(result.at))
            self._say(f"{scheduled} {t(self._language, 'console_scheduled_note')}")
        else:
            self._follow(result.run)
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
                    self._actions.stop(self._actor, run.id)  # it may have ended at this very moment
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


def run_console(settings: Settings, db: Database, parser_choice: str) -> int:
    quiet_logs()
    user = getpass.getuser()
    actions = Actions.compose(settings, db, parser_choice, admins=frozenset({user}))
    actions.runs.start()
    actions.start_sweeps()
    try:
        return Console(actions, user=user, language=locale_language()).run()
    finally:
        actions.close()
        actions.runs.shutdown()
