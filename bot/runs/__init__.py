"""Training runs: launch, queue, follow, stop, resume, schedule and recover trainer processes."""

from bot.runs.errors import InvalidRunState, NotAllowed, RunError, RunNotFound
from bot.runs.manager import RunManager
from bot.runs.views import RunUpdate, RunView, StartRequest
from bot.runs.when import parse_start_time

__all__ = [
    "InvalidRunState",
    "NotAllowed",
    "RunError",
    "RunManager",
    "RunNotFound",
    "RunUpdate",
    "RunView",
    "StartRequest",
    "parse_start_time",
]
