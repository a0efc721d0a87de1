"""The console's terminal: one live progress line redrawn in place, chat lines printed above it, typing
read while a run is shown, and logs kept out of the chat.

On a terminal the live line is cut to the terminal's width (Hangul counts two columns) and redrawn with
`\\r` and erase-to-end-of-line, so it never wraps or leaves copies; what the user types during a run is
shown at its end (the terminal's own echo is off meanwhile). When the output is not a terminal (a pipe, a
file) each changed progress line is printed once, on a line of its own.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import select
import shutil
import sys
import termios
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

ERASE_LINE = "\x1b[K"
TYPED_MARK = " › "
ELLIPSIS = "…"
_BACKSPACE = ("\x7f", "\b")
_KILL_LINE = "\x15"  # Ctrl+U


def columns(text: str) -> int:
    """The terminal columns `text` takes: wide (Hangul, CJK) characters take two, combining marks none."""
    return sum(_char_columns(char) for char in text)


def _char_columns(char: str) -> int:
    if unicodedata.combining(char) or char == "\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def fit(text: str, width: int) -> str:
    """`text` cut to `width` columns, ending in "…" when cut."""
    if columns(text) <= width:
        return text
    kept, used = [], columns(ELLIPSIS)
    for char in text:
        used += _char_columns(char)
        if used > width:
            break
        kept.append(char)
    return "".join(kept) + ELLIPSIS


class LiveLine:
    """The chat's output: `say` prints lines, `show` keeps one progress line current below them."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tty = _is_tty(out)
        self._line = ""  # the progress line, "" when none is shown
        self._typed = ""
        self._printed = ""  # off a terminal: the progress line printed last

    @property
    def is_tty(self) -> bool:
        return self._tty

    def say(self, text: str) -> None:
        """Lines of chat above the live line (which is redrawn below them)."""
        if self._tty and self._line:
            self._out.write("\r" + ERASE_LINE)
        self._out.write(text + "\n")
        self._draw()

    def show(self, line: str) -> None:
        self._line = line
        self._draw()

    def typed(self, text: str) -> None:
        """What the user is typing while the live line is shown."""
        self._typed = text
        self._draw()

    def end(self) -> None:
        """Leave the last progress line as it is and go on below it."""
        if self._line and self._tty:
            self._typed = ""
            self._draw()
            self._out.write("\n")
        self._line = self._typed = self._printed = ""
        self._out.flush()

    def _draw(self) -> None:
        if not self._line:
            self._out.flush()
            return
        if not self._tty:
            if self._line != self._printed:
                self._out.write(self._line + "\n")
                self._printed = self._line
            self._out.flush()
            return
        width = shutil.get_terminal_size().columns - 1  # the last column would wrap on some terminals
        typed = TYPED_MARK + self._typed if self._typed else ""
        if columns(typed) > width // 2:  # a long entry shows its end, the progress keeps the rest
            typed = TYPED_MARK + ELLIPSIS + self._typed[-(width // 4) :]
        self._out.write("\r" + fit(self._line, width - columns(typed)) + typed + ERASE_LINE)
        self._out.flush()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class KeyReader:
    """Lines typed while a run is shown, read key by key without the terminal's echo (so typing never
    breaks the live line); `poll` returns the lines completed with Enter and keeps the rest in `typed`."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.typed = ""

    def poll(self) -> list[str]:
        lines: list[str] = []
        while select.select([self._fd], [], [], 0)[0]:
            data = os.read(self._fd, 1024)
            if not data:
                break
            for char in self._decoder.decode(data):
                if char in "\r\n":
                    lines.append(self.typed)
                    self.typed = ""
                elif char in _BACKSPACE:
                    self.typed = self.typed[:-1]
                elif char == _KILL_LINE:
                    self.typed = ""
                elif char.isprintable():
                    self.typed += char
        return lines


@contextlib.contextmanager
def keys_while_running(stream: TextIO) -> Iterator[KeyReader | None]:
    """A KeyReader on `stream` in cbreak mode without echo (Ctrl+C still interrupts), restored afterwards;
    None when `stream` is not a terminal (piped input is read after the run, as typed)."""
    if not _is_tty(stream):
        yield None
        return
    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    mode = termios.tcgetattr(fd)
    mode[3] &= ~(termios.ICANON | termios.ECHO)  # lflag: key by key, no echo; ISIG keeps Ctrl+C
    mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
    termios.tcsetattr(fd, termios.TCSANOW, mode)
    try:
        yield KeyReader(fd)
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


def read_typed_line(prompt: str) -> str:
    """input() with its prompt on stdout: input() writes it to stderr, which divert_logs sends to the log."""
    sys.stdout.write(prompt)
    sys.stdout.flush()
    return input()


def divert_logs(path: Path) -> None:
    """Keep logs out of the chat: every log record goes to `path`, only warnings also to the terminal's
    stderr; child processes (the prediction worker, ONNX export) inherit a stderr that is `path`, so their
    library INFO lines (timm's "Loaded ... from checkpoint") land there too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    terminal = os.fdopen(os.dup(2), "w", buffering=1, encoding=sys.stderr.encoding, errors="replace")
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 2)  # what children write to their stderr
    os.close(log_fd)
    sys.stderr = terminal  # Python's own warnings and tracebacks still reach the person
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setStream(terminal)
    quiet_stream_handlers()
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(to_file)


def quiet_stream_handlers() -> None:
    """Stream handlers (the terminal) show only warnings."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setLevel(max(handler.level, logging.WARNING))
