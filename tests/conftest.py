from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import training  # noqa: F401  (before anything loads torch: OpenMP waits passively in this process too)
from bot.storage import Database
from tests import fake_anthropic
from tests.postgres_server import TEMPLATE, PostgresServer, unavailable_reason

DATABASES = ["sqlite", "postgresql"]


@pytest.fixture(scope="module")
def module_tmp(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder for one module's shared fixtures (trained runs of tens of MB each), removed when the module
    is done unless one of its tests failed, as pyproject's tmp_path_retention_policy does for tmp_path."""
    failed_before = request.session.testsfailed
    root = tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])
    yield root
    if request.session.testsfailed == failed_before:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole session, with a template database already migrated."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    server = PostgresServer().start()
    try:
        server.execute(f'CREATE DATABASE "{TEMPLATE}"')
        template = Database(server.url(TEMPLATE))
        template.create_all()
        template.dispose()  # a template must have no connections when it is copied
        yield server
    finally:
        server.stop()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with the schema in place: SQLite in tmp_path, or its own PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    with server.fresh_database(TEMPLATE) as url:
        yield url


@pytest.fixture(params=DATABASES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, for migration tests."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    with server.fresh_database() as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A fresh database with the schema created, on SQLite and on a real PostgreSQL."""
    database = Database(database_url)
    database.create_all()
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    database.create_all()
    yield database
    database.dispose()


@pytest.fixture
def no_anthropic_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing of a developer's own Anthropic set-up reaches the tests: the SDK sees only the stand-in."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def anthropic_stand_in() -> Iterator[fake_anthropic.FakeAnthropic]:
    """The local stand-in for the Messages API that the real anthropic SDK talks to."""
    stand_in = fake_anthropic.FakeAnthropic()
    yield stand_in
    stand_in.close()
