"""Front-end neutral use cases (start, schedule, cancel, stop, resume, download, predict, export, continue,
list/status) behind one permission policy (bot/policy.py); see service.py."""

from bot.actions.results import Cancelled, Exported, Failed, ModelOf, Resumed, Said, Started, Stopped, Thread
from bot.actions.service import Actions, StartPlace

__all__ = [
    "Actions",
    "Cancelled",
    "Exported",
    "Failed",
    "ModelOf",
    "Resumed",
    "Said",
    "StartPlace",
    "Started",
    "Stopped",
    "Thread",
]
