"""Alembic migrations: the migrated schema is the models' schema, and an old database upgrades in place."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Boolean, MetaData, create_engine, insert, inspect, select, text

from bot.storage import ChatSession, Database, RunEpoch, TrainingRun
from bot.storage.db import BASELINE, SchemaTooNew, alembic_config, create_schema
from bot.storage.models import Base

PREVIOUS_RELEASE = Path(__file__).parent / "schemas" / "a193403.sqlite.sql"


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_migrations_from_nothing_give_exactly_the_models_schema(empty_database_url: str) -> None:
    """Fails when a model changes without a migration (or a migration without the model)."""
    engine = create_engine(empty_database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_a_new_database_is_created_at_the_newest_revision(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    db.create_all()
    assert current_revision(db) == head()
    assert create_schema(db.engine) == head()  # again: nothing to do
    assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())


def previous_release_database(tmp_path: Path, url: str) -> None:
    """The previous release's database at `url`: its schema as its create_all made it (no Alembic), and
    its rows. On SQLite straight from the dump; elsewhere the baseline migration's tables, the version
    table removed, and the dump's rows copied over."""
    dump = tmp_path / "previous.db"
    with sqlite3.connect(dump) as connection:
        connection.executescript(PREVIOUS_RELEASE.read_text())
    if url.startswith("sqlite"):
        shutil.copy(dump, url.removeprefix("sqlite:///"))
        return
    source, target = create_engine(f"sqlite:///{dump}"), create_engine(url)
    with target.begin() as connection:
        command.upgrade(alembic_config(connection), BASELINE)
        connection.execute(text("DROP TABLE alembic_version"))
    old, new = MetaData(), MetaData()
    old.reflect(source)
    new.reflect(target)
    with source.connect() as reading, target.begin() as writing:
        for table in new.sorted_tables:
            booleans = {column.name for column in table.columns if isinstance(column.type, Boolean)}
            rows = [
                {key: bool(value) if key in booleans else value for key, value in row.items()}
                for row in reading.execute(select(old.tables[table.name])).mappings()
            ]
            if rows:
                writing.execute(insert(table), rows)
        for table in new.sorted_tables:  # the copied ids must not collide with the next inserts
            if "id" in table.columns and writing.dialect.name == "postgresql":
                writing.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), MAX(id)) "
                        f"FROM {table.name}"
                    )
                )
    source.dispose()
    target.dispose()


def test_the_previous_releases_database_upgrades_without_losing_rows(
    tmp_path: Path, empty_database_url: str
) -> None:
    previous_release_database(tmp_path, empty_database_url)
    db = Database(empty_database_url)
    db.create_all()
    assert current_revision(db) == head()
    assert "schema_meta" not in inspect(db.engine).get_table_names()
    with db.session() as session:
        runs = session.scalars(select(TrainingRun).order_by(TrainingRun.id)).all()
        assert [(run.id, run.status, run.start_key) for run in runs] == [
            (1, "completed", "k-1"),
            (2, "running", "k-2"),
            (3, "pending", "k-3"),
        ]
        assert runs[1].pid == 4242 and runs[1].events_offset == 1234 and runs[1].resume_of == 1
        assert all(run.stop_requested_at is None for run in runs)  # columns added since start empty
        assert runs[2].scheduled_for is not None and runs[2].scheduled_for.hour == 2
        assert [epoch.metrics["val_acc"] for epoch in runs[0].epochs] == [0.6, 0.7, 0.8, 0.9, 1.0]
        chat = session.scalars(select(ChatSession)).one()
        assert chat.language == "ko" and chat.draft == {
            "model": "resnet18",
            "dataset_path": "cats",
            "epochs": 5,
        }
        assert session.scalar(select(RunEpoch.id).where(RunEpoch.run_id == 1).limit(1)) is not None
        assert session.execute(text("SELECT event_id FROM processed_events")).scalars().all() == ["Ev1"]
    with db.engine.connect() as connection:  # the upgraded schema is the models' schema
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    with db.session() as session:  # and new rows still get fresh ids
        session.add(TrainingRun(config={}, start_key="k-new"))
    db.dispose()


def test_a_database_from_a_newer_bot_is_refused(database_url: str) -> None:
    db = Database(database_url)
    db.create_all()
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    db.dispose()
    older_bot = Database(database_url)  # a bot started on it later (one Database migrates once)
    with pytest.raises(SchemaTooNew, match=r"ffff_future.*newer version of the bot"):
        older_bot.create_all()
    older_bot.dispose()


def test_a_database_from_before_the_backend_job_columns_gets_them_empty(empty_database_url: str) -> None:
    """0004: a run handed to a scheduler (Slurm) keeps its job id, queue reason and position."""
    engine = create_engine(empty_database_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0003")
        connection.execute(
            text(
                "INSERT INTO training_runs (status, config, progress, current_epoch, total_epochs, metrics, "
                "created_at, events_offset, stalled) "
                "VALUES ('running', '{}', 0, 0, 3, '{}', '2026-01-01', 0, false)"
            )
        )
    engine.dispose()
    db = Database(empty_database_url)
    db.create_all()
    assert current_revision(db) == head()
    with db.session() as session:
        row = session.scalars(select(TrainingRun)).one()
        assert (
            row.status == "running" and (row.job_id, row.backend_reason, row.backend_position) == (None,) * 3
        )
        row.job_id, row.backend_reason, row.backend_position = "17", "Priority", 3
    with db.session() as session:
        assert session.scalars(select(TrainingRun.job_id)).one() == "17"
    db.dispose()
