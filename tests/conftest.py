from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage import Database


@pytest.fixture
def db(tmp_path: Path) -> Database:
    """A fresh SQLite database with the schema created."""
    database = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    database.create_all()
    return database
