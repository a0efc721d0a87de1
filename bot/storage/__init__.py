"""Storage: SQLAlchemy models and the database handle."""

from bot.storage.db import Database, create_schema, make_engine
from bot.storage.models import (
    ChatSession,
    ProcessedEvent,
    RunEpoch,
    RunStatus,
    SessionState,
    Sweep,
    SweepStatus,
    SweepTrial,
    TrainingRun,
)
from bot.storage.sessions import SessionChanged, session_for_change

__all__ = [
    "ChatSession",
    "Database",
    "ProcessedEvent",
    "RunEpoch",
    "RunStatus",
    "SessionChanged",
    "SessionState",
    "Sweep",
    "SweepStatus",
    "SweepTrial",
    "TrainingRun",
    "create_schema",
    "make_engine",
    "session_for_change",
]
