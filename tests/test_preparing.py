"""The `preparing` events before `start`: throttled, in order, and decode progress that reaches its total."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.imagegen import make_image_folder
from tests.trainer_helpers import run_trainer
from training.contract import ExitCode
from training.emit import EventWriter, PreparingReporter
from training.events import PreparingEvent, parse_event


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _reporter() -> tuple[PreparingReporter, EventWriter, FakeClock]:
    writer, clock = EventWriter(None, io.StringIO()), FakeClock()
    return PreparingReporter(writer, interval=0.25, clock=clock), writer, clock


def test_reports_are_throttled_but_a_phase_start_and_its_end_always_go_out() -> None:
    reporter, writer, clock = _reporter()
    advance = reporter.counter("decode", total=100)
    for _ in range(60):  # 60 images within 0.12 s: only the first goes out
        advance(1)
        clock.now += 0.002
    clock.now += 0.25
    advance(1)  # the interval has passed
    reporter.report("weights", message="resnet50")  # another phase is not held back by this one
    for _ in range(39):
        advance(1)  # the last one reaches the total and goes out although within the interval
    events = writer.emitted
    assert all(isinstance(e, PreparingEvent) for e in events)
    assert [(e.phase, e.done, e.total) for e in events] == [
        ("decode", 1, 100),
        ("decode", 61, 100),
        ("weights", 0, 0),
        ("decode", 100, 100),
    ]
    assert events[2].message == "resnet50"


def test_at_most_about_four_per_second_whatever_the_rate() -> None:
    reporter, writer, clock = _reporter()
    advance = reporter.counter("decode", total=10_000)
    for _ in range(9_999):  # ~10 s of decoding at 1,000 images/s
        advance(1)
        clock.now += 0.001
    assert 38 <= len(writer.emitted) <= 41


def test_events_round_trip_through_the_protocol() -> None:
    event = PreparingEvent(phase="cache", done=3, total=0, message="writing")
    assert parse_event(event.to_json_line()) == event
    with pytest.raises(ValueError):
        PreparingEvent(phase="compiling")


def test_a_run_reports_weights_then_decoding_before_start(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the pretrained lookup fails at once
    data = make_image_folder(tmp_path / "data", per_class=8)
    code, events = run_trainer(data, tmp_path / "out", "--pretrained")
    assert code == ExitCode.DONE
    start = next(i for i, e in enumerate(events) if e.type == "start")
    preparing = [e for e in events if e.type == "preparing"]
    assert preparing and all(events.index(e) < start for e in preparing)
    assert preparing[0].phase == "weights" and preparing[0].message == "resnet18"
    decode = [e for e in preparing if e.phase == "decode"]
    assert decode[0].done == 0 and decode[-1].done == decode[-1].total == 24  # 3 classes x 8, all splits
    assert [e.done for e in decode] == sorted(e.done for e in decode)
    assert {e.total for e in decode} == {24}
    # asked for, not loaded: metrics.json and the model card say what happened
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["config"]["pretrained"] is False
    assert "- pretrained: `False`" in (tmp_path / "out" / "README.md").read_text()
