"""Engine, session factory and schema migrations (Alembic, in bot/storage/migrations). SQLite gets WAL and
foreign keys; any SQLAlchemy URL works."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.models import Base

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"  # the schema of the first release, which create_all made without a version table
MIGRATION_LOCK = 0x7472_6169  # pg_advisory_xact_lock key: one bot process migrates at a time


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer version of the bot."""


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._migrated = False

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def create_all(self) -> None:
        """Bring the schema up to date, once per Database (later calls are no-ops)."""
        if not self._migrated:
            create_schema(self.engine)
            self._migrated = True

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str) -> Engine:
    # a pooled connection the server dropped (a restart, an idle timeout, pg_terminate_backend) is
    # replaced when it is checked out, instead of failing the query it was taken for
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
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


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def create_schema(engine: Engine) -> str:
    """Bring the database to the newest migration and return that revision. A new database gets the
    tables at once (stamped as the newest revision); one from the first release, made before there were
    migrations, is stamped as the baseline and then upgraded."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config = alembic_config(connection)
        script = ScriptDirectory.from_config(config)
        current = MigrationContext.configure(connection).get_current_revision()
        if current is None and not set(Base.metadata.tables) & set(inspect(connection).get_table_names()):
            Base.metadata.create_all(connection)
            command.stamp(config, "head")
        elif current is None:
            command.stamp(config, BASELINE)
            command.upgrade(config, "head")
        elif current not in {rev.revision for rev in script.walk_revisions()}:
            raise SchemaTooNew(
                f"the database is at schema revision {current}, made by a newer version of the bot "
                f"(this one knows up to {script.get_current_head()}); upgrade the bot"
            )
        else:
            command.upgrade(config, "head")
        head = script.get_current_head()
        assert head is not None
        return head
