"""bot/terminal.py: the live line fits the terminal (Hangul counts two columns), chat lines go above it,
and off a terminal each changed progress line is printed once."""

from __future__ import annotations

import io

import pytest

from bot.terminal import ERASE_LINE, LiveLine, columns, fit


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_hangul_takes_two_columns_and_a_cut_line_ends_in_an_ellipsis() -> None:
    assert columns("에폭 3/10") == 9 and columns("epoch") == 5
    cut = fit("학습 #1 · resnet18 · 🏃 학습 중 | 에폭 3/10", 20)
    assert columns(cut) <= 20 and cut.endswith("…") and cut.startswith("학습 #1")
    assert fit("short", 20) == "short"


def test_on_a_terminal_the_line_is_redrawn_in_place_within_the_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    out = FakeTerminal()
    live = LiveLine(out)
    live.show("Run #1 · " + "x" * 80)
    live.show("Run #1 · second")
    live.say("> status")
    live.typed("sto")
    live.end()
    text = out.getvalue()
    assert "\n" not in text.split("> status")[0]  # every redraw stays on the same row
    draws = [part for part in text.split("\r") if part.startswith("Run #1")]
    assert all(columns(part.split(ERASE_LINE)[0]) < 40 for part in draws), draws
    assert draws[-1].startswith("Run #1 · second" + ERASE_LINE)  # the typed text is gone at the end
    assert any(part.split(ERASE_LINE)[0].endswith(" › sto") for part in draws)
    assert text.endswith("\n")


def test_off_a_terminal_each_changed_line_is_printed_once() -> None:
    out = io.StringIO()
    live = LiveLine(out)
    for line in ("epoch 1", "epoch 1", "epoch 2"):
        live.show(line)
    live.say("done")
    live.end()
    assert out.getvalue() == "epoch 1\nepoch 2\ndone\n"
