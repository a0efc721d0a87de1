"""Timed work of the run manager on APScheduler: scheduled starts and the periodic watchdog.

Scheduled starts live in memory: the database row (status pending, scheduled_for) is what persists,
and the manager adds a job per such row when it starts. So a job holds a plain callback instead of a
pickled reference that would need a global registry to find the live manager after a restart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler


def _job_id(run_id: int) -> str:
    return f"run-{run_id}"


class RunScheduler:
    def __init__(
        self,
        timezone: str,
        *,
        on_due: Callable[[int], None],
        watchdog: Callable[[], None],
        watchdog_interval: float,
    ) -> None:
        self._on_due = on_due
        self._scheduler = BackgroundScheduler(timezone=ZoneInfo(timezone))
        self._scheduler.add_job(
            watchdog,
            "interval",
            seconds=watchdog_interval,
            id="watchdog",
            coalesce=True,
            max_instances=1,
        )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        self._scheduler.shutdown(wait=wait)

    def add(self, run_id: int, at: datetime) -> None:
        """Call on_due(run_id) at `at`; a time already past fires at once."""
        self._scheduler.add_job(
            self._on_due,
            "date",
            run_date=at,
            args=[run_id],
            id=_job_id(run_id),
            replace_existing=True,
            misfire_grace_time=None,  # a start missed while the bot was down still happens on the next start
            coalesce=True,
        )

    def remove(self, run_id: int) -> None:
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(_job_id(run_id))
