"""Alembic environment: runs on the connection bot.storage.migrate hands over (no alembic.ini, no URL)."""

from __future__ import annotations

from alembic import context

from bot.storage.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters a table by copying it; batch mode does that for us
    include_name=lambda name, type_, _parent: type_ != "table" or not str(name).startswith("apscheduler"),
)
with context.begin_transaction():
    context.run_migrations()
