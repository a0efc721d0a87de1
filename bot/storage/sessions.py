"""Saving a conversation turn that was read earlier: compare and set on the conversation's version.

A turn reads the conversation, parses the message (which may ask Claude: seconds) and saves the new
draft. Two bot processes handling two messages of one thread at once would both start from the same
draft, and the second save would drop the first message's settings. The save therefore moves the
version on only from the version the turn read; otherwise the turn is handled again on top of what the
other process saved.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.storage.models import ChatSession


class SessionChanged(Exception):
    """Another bot process saved the conversation since this turn read it."""


def session_for_change(db: Session, session_id: int, read_version: int | None = None) -> ChatSession:
    """The conversation's row, to change in this transaction, with its version moved on. With
    `read_version`, only while it is still at that version; else SessionChanged. The UPDATE that moves the
    version on also holds the row (PostgreSQL) or the database (SQLite) until the transaction ends, so
    nothing changes the row between reading it here and the commit."""
    move_on = update(ChatSession).where(ChatSession.id == session_id)
    if read_version is not None:
        move_on = move_on.where(ChatSession.version == read_version)
    moved = db.execute(
        move_on.values(version=ChatSession.version + 1).execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise SessionChanged(session_id)
    return db.get_one(ChatSession, session_id, populate_existing=True)
