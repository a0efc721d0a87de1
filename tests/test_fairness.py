"""Per-user fairness: rate limits on messages that reach the parser and on heavy actions, and slow jobs on
their own pools so that conversations never wait behind them."""

from __future__ import annotations

import threading
from pathlib import Path

from bot.actions import Thread
from bot.actions.fairness import RateLimiter
from bot.policy import Actor, Reason, Refusal
from bot.present.refusals import refusal_text
from bot.settings import Settings
from bot.slack.executor import HEAVY_KINDS, WorkExecutor
from bot.storage import Database
from tests.slack_units import OTHER, OWNER, PUBLIC, TEAM, finished_run, unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_each_person_gets_their_own_sliding_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock)
    assert [limiter.take(OWNER) for _ in range(3)] == [None, None, None]
    clock.now += 20
    assert limiter.take(OWNER) == 40  # the oldest of the three leaves the window in 40 s
    assert limiter.take(OTHER) is None  # someone else is not held up
    clock.now += 40
    assert limiter.take(OWNER) is None


def test_messages_past_the_limit_never_reach_the_engine(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        data_root=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        user_messages_per_minute=2,
        user_heavy_actions_per_minute=1,
    )
    db = Database(settings.database_url_or_default)
    db.create_all()
    slack = unit(db, settings, [finished_run(tmp_path / "out", 1, OWNER, PUBLIC)])
    actions, where = slack.ctx.actions, Thread(TEAM, PUBLIC, "1.0")
    answers = [actions.talk(Actor(OWNER, PUBLIC), where, f"resnet18, {n} epochs") for n in (1, 2, 3)]
    assert isinstance(answers[2], Refusal) and answers[2].reason == Reason.RATE_LIMITED
    assert "try again in" in refusal_text("en", answers[2]) and "초 뒤에" in refusal_text("ko", answers[2])
    session = actions.session(where)
    assert session is not None and [m["text"] for m in session.messages if m["role"] == "user"] == [
        "resnet18, 1 epochs",
        "resnet18, 2 epochs",
    ]
    first = actions.export_onnx(Actor(OWNER, PUBLIC), 1, "en", lambda run: None)
    second = actions.export_onnx(Actor(OWNER, PUBLIC), 1, "en", lambda run: None)
    assert not isinstance(first, Refusal) and isinstance(second, Refusal)
    assert second.reason == Reason.RATE_LIMITED
    db.dispose()


def test_slow_jobs_of_every_kind_cannot_starve_conversations() -> None:
    executor = WorkExecutor(max_workers=2, heavy_workers=1)
    release = threading.Event()
    answered = threading.Event()
    try:
        for kind in HEAVY_KINDS:
            for _ in range(8):  # eight slow jobs of each kind, all waiting
                executor.submit_heavy(kind, release.wait, 30)
        executor.submit_in_order(("T1", "C1", "1.0"), answered.set)
        assert answered.wait(10)
    finally:
        release.set()
        executor.shutdown(wait=True)
