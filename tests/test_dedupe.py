"""Handled Slack event ids are kept long enough to catch Slack's retries, then pruned as events arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.slack.dedupe import EventLedger
from bot.storage import Database, ProcessedEvent

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, hours: float) -> None:
        self.now = T0 + timedelta(hours=hours)


def stored(db: Database) -> set[str]:
    with db.session() as session:
        return set(session.scalars(select(ProcessedEvent.event_id)))


def test_event_ids_are_claimed_once_and_forgotten_after_a_day(db: Database) -> None:
    clock = Clock()
    ledger = EventLedger(db, now=clock)
    assert ledger.claim("Ev1") and not ledger.claim("Ev1")  # a re-delivery is handled once
    clock.at(2)
    assert ledger.claim("Ev2") and not ledger.claim("Ev1")  # Slack's retries come within the hour
    clock.at(25)
    assert ledger.claim("Ev3")  # the first claim past the hour prunes: Ev1 is a day old
    assert stored(db) == {"Ev2", "Ev3"}
    clock.at(27)
    assert ledger.claim("Ev4") and stored(db) == {"Ev3", "Ev4"}  # 25 hours later Ev2 went too
    assert EventLedger(db, now=clock).claim("Ev3") is False  # also after a restart


def test_pruning_runs_at_most_once_per_interval_and_on_the_first_claim(db: Database) -> None:
    clock = Clock()
    with db.session() as session:  # left by an earlier run of the bot
        session.add(ProcessedEvent(event_id="Old", created_at=T0 - timedelta(days=3)))
    ledger = EventLedger(db, now=clock)
    assert ledger.claim("Ev1") and stored(db) == {"Ev1"}
    with db.session() as session:
        session.add(ProcessedEvent(event_id="Old", created_at=T0 - timedelta(days=3)))
    clock.at(0.5)
    ledger.claim("Ev2")
    assert "Old" in stored(db)  # not due yet: no delete on every message
    clock.at(1.01)
    ledger.claim("Ev3")
    assert stored(db) == {"Ev1", "Ev2", "Ev3"}
    assert ledger.prune() == 0
