"""Handle each Slack event once, even when Slack re-delivers it (retries share the event_id).

The ids are stored (so a restart does not handle a retry again) and kept for KEEP_EVENTS: Slack retries a
delivery three times within about an hour, so older ids only grow the table, by one row for every
message in every channel. They are pruned as events arrive, at most once per PRUNE_EVERY.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.storage import Database, ProcessedEvent
from bot.storage.models import utcnow

log = logging.getLogger(__name__)

KEEP_EVENTS = timedelta(days=1)
PRUNE_EVERY = timedelta(hours=1)


class EventLedger:
    def __init__(
        self,
        db: Database,
        *,
        keep: timedelta = KEEP_EVENTS,
        prune_every: timedelta = PRUNE_EVERY,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = db
        self._keep = keep
        self._prune_every = prune_every
        self._now = now
        self._next_prune: datetime | None = None  # the first claim prunes what a previous run left
        self._lock = threading.Lock()

    def claim(self, event_id: str) -> bool:
        """True the first time an event id is seen (also across restarts: the ids are stored)."""
        self._prune_when_due()
        try:
            with self._db.session() as session:
                session.add(ProcessedEvent(event_id=event_id, created_at=self._now()))
        except IntegrityError:
            return False
        return True

    def prune(self) -> int:
        """Forget the ids older than `keep`; how many were removed."""
        with self._db.session() as session:
            result = session.execute(
                delete(ProcessedEvent).where(ProcessedEvent.created_at < self._now() - self._keep)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    def _prune_when_due(self) -> None:
        with self._lock:
            now = self._now()
            if self._next_prune is not None and now < self._next_prune:
                return
            self._next_prune = now + self._prune_every
        removed = self.prune()
        if removed:
            log.info("forgot %d handled Slack event ids older than %s", removed, self._keep)
