"""`python -m bot --console` in a real terminal (tmux, 100 columns) with the real trainer: the progress line
is one row updated in place, a typed `stop` stops the run without breaking that row, and no log line shows.

An English and a Korean console run side by side (two tmux sessions), so the two trainers' start-up overlaps.
Set TRAINBOT_CONSOLE_CAPTURES=DIR to keep the final screens as DIR/console_en.txt and console_ko.txt.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.console import plain
from bot.i18n import t
from bot.settings import Settings
from bot.terminal import columns
from tests.imagegen import make_image_folder
from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux not installed: apt-get install -y tmux (.ci/run does it)"
)
COLUMNS = 100
SETUP = {
    "en": "resnet18 classifier, 40 epochs, image size 32, batch size 4, from scratch",
    "ko": "resnet18 분류 모델, 40 에폭, 이미지 크기 32, 배치 크기 4, 처음부터",
}
TYPED_STOP = {"en": "stop", "ko": "중지"}
LOG_LINE = re.compile(
    r"\b(?:DEBUG|INFO|WARNING|ERROR)\b|^\d{4}-\d\d-\d\d[ T]\d\d:\d\d|Traceback", re.MULTILINE
)
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Pane:
    socket: Path
    language: str
    screens: list[str] = field(default_factory=list)  # every capture, to check the progress row in each

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), *args], capture_output=True, text=True, check=True, timeout=30
        ).stdout

    def screen(self) -> str:
        """The whole pane with its scrollback, wrapped rows joined (a wrapped progress line shows as wider
        than the terminal)."""
        text = self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", self.language)
        self.screens.append(text)
        return text

    def type(self, line: str) -> None:
        self.tmux("send-keys", "-t", self.language, "-l", line)
        self.tmux("send-keys", "-t", self.language, "Enter")

    def wait_for(self, text: str, timeout: float = 60) -> str:
        def shown() -> str | None:
            screen = self.screen()
            return screen if text in screen else None

        try:
            return wait_until(shown, timeout, 0.1)
        except AssertionError:
            raise AssertionError(f"{text!r} not shown in {timeout}s:\n{self.screens[-1]}") from None

    def progress_rows(self, screen: str) -> list[str]:
        title = plain(t(self.language, "run_title", id=1, model="resnet18", status="")).split(" · ")[0]
        return [row for row in screen.splitlines() if row.startswith(title + " · ")]


def say(language: str, key: str, **values: object) -> str:
    return plain(t(language, key, **values))


@pytest.fixture
def panes(tmp_path: Path) -> Iterator[list[Pane]]:
    make_image_folder(tmp_path / "data" / "pets", classes=("cat", "dog"), per_class=8)
    socket = tmp_path / "tmux.sock"
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    panes = []
    for language in ("en", "ko"):
        home = tmp_path / language
        settings = {"DATA_ROOT": tmp_path / "data", "OUTPUT_ROOT": home / "outputs"}
        settings["LANG"] = "ko_KR.UTF-8" if language == "ko" else "C.UTF-8"  # the console's first language
        settings |= {"DATABASE_URL": f"sqlite:///{home / 'bot.db'}", "PYTHONPATH": REPO}
        command = shlex.join(
            ["env", *(f"{k}={v}" for k, v in settings.items()), sys.executable, "-m", "bot", "--console"]
        )
        home.mkdir()
        subprocess.run(
            ["tmux", "-S", str(socket), "-f", "/dev/null", "new-session", "-d", "-s", language,
             "-x", str(COLUMNS), "-y", "60", "-c", str(home), command],
            env=env | {"TERM": "xterm-256color"}, check=True, timeout=30,
        )  # fmt: skip
        panes.append(Pane(socket, language))
    panes[0].tmux("set-option", "-g", "remain-on-exit", "on")
    panes[0].tmux("set-option", "-g", "history-limit", "5000")
    yield panes
    subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True, timeout=30, check=False)


def test_a_run_in_a_real_terminal_updates_one_line_and_stops_when_told(panes: list[Pane]) -> None:
    for pane in panes:
        pane.wait_for(say(pane.language, "console_intro"))
        pane.type(SETUP[pane.language])
    for pane in panes:
        pane.wait_for(say(pane.language, "ask_dataset_path"))
        pane.type("pets")
    for pane in panes:
        pane.wait_for(say(pane.language, "console_summary_footer"))
        pane.type("start" if pane.language == "en" else "시작")
    firsts = {}
    for pane in panes:  # the progress row changes (decoding, epoch, loss...) in the same single row
        first = wait_until(lambda pane=pane: pane.progress_rows(pane.screen()), 120, 0.1)[0]
        firsts[pane.language] = first
        wait_until(lambda pane=pane, first=first: pane.progress_rows(pane.screen()) != [first], 120, 0.1)
        pane.type(TYPED_STOP[pane.language])
    for pane in panes:
        screen = pane.wait_for(say(pane.language, "console_next"), 120)
        language = pane.language
        assert f"> {TYPED_STOP[language]}\n{say(language, 'console_stopping')}\n" in screen
        [row] = pane.progress_rows(screen)  # one row, redrawn in place: no copies, no wrapped tail
        assert say(language, "status_stopped") in row and row != firsts[language], row
        assert columns(row) < COLUMNS, row
        ending = screen.split(row + "\n", 1)[1]
        stopped = re.escape(say(language, "ended_stopped", id=1, epoch=999)).replace("999", r"\d+")
        assert re.match(stopped, ending), ending  # right below the progress row
        for earlier in pane.screens:
            assert len(pane.progress_rows(earlier)) <= 1, earlier
        assert LOG_LINE.search(screen) is None, screen
        captures = os.environ.get("TRAINBOT_CONSOLE_CAPTURES")
        if captures:
            Path(captures, f"console_{language}.txt").write_text(screen.rstrip() + "\n", encoding="utf-8")
        pane.type("quit" if language == "en" else "종료")
