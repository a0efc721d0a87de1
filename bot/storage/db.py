"""Engine and session factory. SQLite gets WAL and foreign keys; any SQLAlchemy URL works."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.models import SCHEMA_VERSION, Base, SchemaMeta

# Migrations from version N to N+1, applied in order on start. Empty while the schema is at version 1.
MIGRATIONS: dict[int, Callable[[Engine], None]] = {}


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def create_all(self) -> None:
        create_schema(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str) -> Engine:
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
        # threads share the engine (listeners, run followers, scheduler); wait on locks instead of failing
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _ensure_sqlite_folder(url: str) -> None:
    path = url.split(":///", 1)[-1] if ":///" in url else ""
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_schema(engine: Engine) -> int:
    """Create missing tables, then migrate to SCHEMA_VERSION. Returns the version now in force."""
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        meta = session.scalar(select(SchemaMeta).where(SchemaMeta.id == 1))
        if meta is None:
            session.add(SchemaMeta(id=1, version=SCHEMA_VERSION))
            return SCHEMA_VERSION
        version = meta.version
    if version > SCHEMA_VERSION:
        raise RuntimeError(f"database schema version {version} is newer than this bot ({SCHEMA_VERSION})")
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](engine)
        version += 1
        with Session(engine) as session, session.begin():
            session.get_one(SchemaMeta, 1).version = version
    return version
