"""Storage under faults: a connection the server dropped is replaced (pool_pre_ping), and two bot
processes handling messages of one thread at once keep both messages' settings (the version check)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.conversation import ConversationService
from bot.conversation.rules import RuleParser
from bot.settings import Settings
from bot.storage import ChatSession, Database
from tests.postgres_server import PostgresServer


def test_a_connection_the_server_dropped_is_replaced_before_the_next_query(
    postgres: PostgresServer,
) -> None:
    with postgres.fresh_database() as url:
        db = Database(url)
        try:
            with db.engine.connect() as connection:
                backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            # the connection is back in the pool; the server now ends its backend
            postgres.execute(f"SELECT pg_terminate_backend({backend})")
            with db.engine.connect() as connection:
                assert connection.execute(text("SELECT 1")).scalar_one() == 1
                assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != backend
        finally:
            db.dispose()


def test_two_bot_processes_saving_one_thread_at_once_keep_both_messages(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_root=tmp_path, max_epochs=200, _env_file=None)  # type: ignore[call-arg]
    databases = [Database(database_url), Database(database_url)]  # one engine per bot process
    databases[0].create_all()
    services = [ConversationService(db, settings, "rules", dataset_must_exist=False) for db in databases]
    services[0].handle_message(team_id="T1", channel_id="C1", thread_ts="9.9", user_id="U1", text="hello")
    # both turns have read the conversation before either parses: the race the version check is for
    both_read = threading.Barrier(2, timeout=10)
    parse = RuleParser.parse
    first_parse = threading.local()

    def parse_after_both_read(self, message, context):  # type: ignore[no-untyped-def]
        if not getattr(first_parse, "done", False):
            first_parse.done = True
            both_read.wait()
        return parse(self, message, context)

    monkeypatch.setattr(RuleParser, "parse", parse_after_both_read)
    turns: dict[str, object] = {}

    def say(service: ConversationService, message: str) -> None:
        turns[message] = service.handle_message(
            team_id="T1", channel_id="C1", thread_ts="9.9", user_id="U1", text=message
        )

    messages = ("20 epochs", "batch size 64")
    threads = [
        threading.Thread(target=say, args=(service, message))
        for service, message in zip(services, messages, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert set(turns) == set(messages)
        with databases[0].session() as session:
            row = session.scalars(select(ChatSession)).one()
            assert row.draft["epochs"] == 20 and row.draft["batch_size"] == 64
            said = [m["text"] for m in row.messages if m["role"] == "user"]
            assert said[0] == "hello" and sorted(said[1:]) == sorted(messages)
            assert row.version == 3  # hello, then the two messages, each saved once
    finally:
        for db in databases:
            db.dispose()
