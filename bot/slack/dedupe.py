"""Handle each Slack event once, even when Slack re-delivers it (retries share the event_id)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot.storage import Database, ProcessedEvent


def claim_event(db: Database, event_id: str) -> bool:
    """True the first time an event id is seen (also across restarts: the ids are stored)."""
    try:
        with db.session() as session:
            session.add(ProcessedEvent(event_id=event_id))
    except IntegrityError:
        return False
    return True
