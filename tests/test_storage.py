from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from bot.storage import ChatSession, Database, RunEpoch, RunStatus, TrainingRun


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'sub' / 'bot.db'}")  # the folder is created
    db.create_all()
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_one_session_per_thread_and_json_columns_round_trip(db: Database) -> None:
    with db.session() as session:
        chat = ChatSession(channel_id="C1", thread_ts="1.0", user_id="U1", draft={"epochs": 5})
        session.add(chat)
        session.flush()
        run = TrainingRun(session_id=chat.id, config={"dataset_path": "cats"}, total_epochs=5, start_key="k1")
        run.epochs.append(RunEpoch(epoch=1, metrics={"val_acc": 0.5}))
        session.add(run)
    with db.session() as session:
        loaded = session.scalars(select(TrainingRun)).one()
        assert loaded.status == RunStatus.PENDING
        assert loaded.config == {"dataset_path": "cats"}
        assert [e.metrics["val_acc"] for e in loaded.epochs] == [0.5]
        assert loaded.session is not None and loaded.session.draft == {"epochs": 5}
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(ChatSession(channel_id="C1", thread_ts="1.0", user_id="U2"))
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(TrainingRun(config={}, start_key="k1"))
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(RunEpoch(run_id=999, epoch=1))
