"""`python -m bot --console`: the same conversation engine and run manager, in the terminal.

Type requests as in a Slack thread; once the setup is complete, type "start" / "시작" (or "start at 02:00").
While a run trains, one line (bot/terminal.py) shows its phase and the same figures as the Slack progress
message, updated in place; `stop`, `status` and `help` can be typed meanwhile, and Ctrl+C stops the run too
(it saves a checkpoint). Everything is worded by bot/present and the catalogue in the session's language;
logs go to console.log in the output folder (warnings also to stderr), so no log line lands in the chat.
"""

from __future__ import annotations

import contextlib
import getpass
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
from bot.actions.sweeps import (
    SweepProposed,
    SweepResult,
    SweepResumed,
    SweepSaid,
    SweepStarted,
    SweepStopped,
    SweepTrialsShown,
)
from bot.conversation.intents import find_command
from bot.conversation.language import detect_language
from bot.conversation.service import Turn
from bot.i18n import DEFAULT_LANGUAGE, front_end, t
from bot.policy import Actor, Refusal
from bot.predict.answer import Predicted, latest_completed
from bot.predict.files import Limits
from bot.present import runs as present
from bot.present.refusals import refusal_text
from bot.runs import RunUpdate, RunView
from bot.settings import Settings
from bot.storage import Database, RunStatus, SweepStatus
from bot.sweeps import present as sweep_present
from bot.sweeps.controller import SweepController
from bot.sweeps.views import SweepView
from bot.terminal import LiveLine, divert_logs, keys_while_running, read_typed_line
from training.config import SCORE_THRESHOLD_RANGE

QUIT_WORDS = frozenset({"quit", "exit", "종료", "q"})
CONSOLE = "console"
LOG_FILE = "console.log"  # in the output folder: every log line of the console and its helper processes
_MARKUP = re.compile(r"\*([^*\n]+)\*|(?<!\w)_([^_\n]+)_(?!\w)")  # *bold*, _italic_


def plain(text: str) -> str:
    """Markup as terminal text: *bold* and _italic_ lose their marks, `code` stays as typed."""
    return _MARKUP.sub(lambda match: match.group(1) or match.group(2), text)


def progress_line(run: RunView, language: str) -> str:
    """One line with what the Slack progress message shows: status, bar (or queue place, start time,
    preparing phase), epoch, loss, val accuracy and best, images/s, elapsed, ETA; after the last epoch it
    says the run is finishing (test score, files, ONNX check) instead of the ETA."""
    shown = present.progress(run, language)
    finishing = run.status == RunStatus.RUNNING and not shown.state and run.progress >= 1.0
    ready = present.images_ready(run.figures.data, language)
    dropped = {ready if run.current_epoch else None}  # where the images came from: news only until epoch 1
    if finishing:
        dropped.add(t(language, "fig_eta", time=present.duration(language, run.figures.eta_seconds or 0)))
    state = t(language, "console_finishing") if finishing else shown.state
    parts = [plain(shown.title)]
    parts += [part for part in (shown.bar, state and plain(state)) if part]
    parts += [plain(figure) for figure in shown.figures if figure not in dropped]
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
        self._display = LiveLine(out)
        self._language = language  # the session's, once the user has said something
        self._user = user or getpass.getuser()
        self._actor = Actor(self._user)
        self._thread = self._new_thread()
        self._updates: queue.SimpleQueue[RunUpdate] = queue.SimpleQueue()
        self._warnings_shown = 0
        self._stopping = False  # the run being shown was asked to stop
        self._started: list[int] = []  # runs started or resumed here, oldest first

    def run(self) -> int:
        with front_end(CONSOLE):  # the catalogue's console wording: commands to type, not buttons
            return self._converse()

    def _converse(self) -> int:
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
        sweeps = self._actions.sweeps
        proposed = sweeps.propose(self._where(), turn) if sweeps else None
        if proposed is not None:  # a sweep asked for: its proposal (notices included) instead of the reply
            self._say(proposed.text)
            return
        if turn.sweep_objective is not None and sweeps is not None:  # "pick by val loss instead"
            self._on_sweep(sweeps.controller, sweeps.reobjective(self._actor, self._where(), turn))
            return
        for notice in turn.notices:
            self._say(notice)
        if turn.intent == "command" and turn.command in CONSOLE_COMMANDS:
            CONSOLE_COMMANDS[turn.command](self, turn)
            return
        self._say_turn(turn)

    def _handle_sweep(self, text: str) -> bool:
        """A sweep started ("start sweep" / "스윕 시작"), stopped, resumed ("resume sweep" /
        "스윕 재개") or showing each trial's progress ("show trial progress"); False for other messages."""
        sweeps = self._actions.sweeps
        result = sweeps.handle_text(self._actor, self._where(), text) if sweeps is not None else None
        if result is None or sweeps is None:
            return False
        self._on_sweep(sweeps.controller, result)
        return True

    def _on_sweep(self, controller: SweepController, result: SweepResult) -> None:
        match result:
            case SweepProposed(text=text):
                self._say(text)
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
                self._follow_sweep(controller, sweep.id)
            case SweepStopped(sweep=sweep, language=language):
                self._say(t(language, "sweep_stopped", id=sweep.id))
            case SweepResumed(sweep=sweep, language=language):
                self._say(t(language, "sweep_resumed", id=sweep.id))
                self._follow_sweep(controller, sweep.id)
            case SweepTrialsShown(sweep=sweep, language=language):
                key = "sweep_trials_shown" if sweep.show_trials else "sweep_trials_hidden"
                self._say(t(language, key, id=sweep.id))
            case SweepSaid(text=said):
                self._say(said)
            case Refusal():
                self._say_answer(result)

    def _follow_sweep(self, controller: SweepController, sweep_id: int) -> None:
        """Print the sweep's table whenever a trial starts or ends (and, when asked for, each trial's
        progress line at each of its epochs), then the result; Ctrl+C stops it (`resume sweep` resumes)."""
        changes: queue.SimpleQueue[SweepView] = queue.SimpleQueue()
        unsubscribe = controller.subscribe(changes.put)
        shown: tuple[object, ...] = ()
        epochs: dict[int, tuple[object, ...]] = {}  # each trial run's last printed (status, epoch)
        sweep = controller.view(sweep_id)
        try:
            while not sweep_present.is_finished(sweep) or sweep.training:  # a Stop: until the trials end
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
                for run in (trial.run for trial in sweep.trials if sweep.show_trials and trial.run):
                    if epochs.get(run.id) != (state := (run.status, run.current_epoch)):
                        epochs[run.id] = state
                        self._say(progress_line(run, self._language))
        finally:
            unsubscribe()
        self._say(sweep_present.result(self._language, sweep))
        if sweep.status == SweepStatus.STOPPED:
            self._say(t(self._language, "sweep_resume_hint"))
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
        self._status_now()

    def _status_now(self) -> None:
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
        self._stop_run(run_id)

    def _stop_run(self, run_id: int) -> None:
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
        predicted = self._actions.predict(model, found, self._language, Limits(), self._where())
        self._say("\n".join(line for line in (predicted.text, *missing) if line))
        self._say_drawn(predicted)

    def _say_drawn(self, predicted: Predicted) -> None:
        """A detection answer's drawn images: the folder they were written to."""
        if predicted.drawn:
            folder = predicted.drawn[0][1].parent
            self._say(t(self._language, "det_predict_folder", path=str(folder)))

    def _rethreshold(self, turn: Turn) -> None:
        """ "again with confidence 0.6": the last images predicted here, answered again at that threshold."""
        conf = turn.command_args.get("score_threshold")
        low, high = SCORE_THRESHOLD_RANGE
        if conf is None or not low <= conf <= high:
            self._say(t(self._language, "det_rethreshold_bad"))
            return
        result = self._actions.rethreshold(self._actor, self._where(), conf, self._language)
        if not isinstance(result, Predicted):
            self._say_answer(result)
            return
        self._say(result.text)
        self._say_drawn(result)

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
        """Draw the run's progress until it ends, reading what is typed meanwhile (stop, status, help);
        `stop` or Ctrl+C asks the trainer to stop (once)."""
        self._started.append(run.id)
        self._warnings_shown = 0
        self._stopping = False
        self._draw(run)
        with keys_while_running(sys.stdin) if self._display.is_tty else contextlib.nullcontext() as keys:
            while not run.status.is_terminal:
                try:
                    for line in keys.poll() if keys is not None else ():
                        self._typed_while_running(line, run)
                    if keys is not None:
                        self._display.typed(keys.typed)
                    update = self._updates.get(timeout=0.1)
                except queue.Empty:
                    continue
                except KeyboardInterrupt:
                    self._stop_followed(run)
                    continue
                if update.run.id == run.id:
                    run = update.run
                    self._draw(run)
        self._display.end()
        self._say_ending(self._runs.get(run.id))

    def _typed_while_running(self, line: str, run: RunView) -> None:
        """A line typed during a run: `stop` (this run, or the one named), `status`, `help`; anything else
        waits for the run to end, and the reply says so."""
        text = line.strip()
        if not text:
            return
        self._language = detect_language(text, self._language)
        self._say(f"> {text}")
        command = find_command(text)
        if command is not None and command.name == "stop":
            if command.run_id in (None, run.id):
                self._stop_followed(run)
            else:
                self._stop_run(command.run_id)
        elif command is not None and command.name == "status":
            self._status_now()
        else:
            self._say(t(self._language, "console_running_help"))

    def _stop_followed(self, run: RunView) -> None:
        if self._stopping:
            return
        self._stopping = True
        self._say(t(self._language, "console_stopping"))
        self._actions.stop(self._actor, run.id)  # it may have ended at this very moment

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
            self._say(warning)
        self._warnings_shown = len(warnings)
        self._display.show(progress_line(run, self._language))

    def _say(self, text: str) -> None:
        self._display.say(plain(text))

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
    "rethreshold": Console._rethreshold,
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


def run_console(settings: Settings, db: Database, parser_choice: str) -> int:
    divert_logs(settings.output_root / LOG_FILE)
    user = getpass.getuser()
    actions = Actions.compose(settings, db, parser_choice, admins=frozenset({user}))
    actions.runs.start()
    actions.start_sweeps()
    try:
        return Console(actions, user=user, read_line=read_typed_line, language=locale_language()).run()
    finally:
        actions.close()
        actions.runs.shutdown()
