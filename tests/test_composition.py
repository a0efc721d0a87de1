"""The composition root (bot/cli.py): one database migrated once, one Slack client checked by one
auth.test, then the services and the front end. And bot/ has no import cycle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bot
from bot import cli
from bot.slack import app as slack_app
from bot.storage import db as storage_db
from tests.slack_standin import SlackStandIn

BOT = Path(bot.__file__).parent


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    server = SlackStandIn().start()
    yield server
    server.stop()


class ServesOnce:
    """Socket Mode's handler: `start()` returns at once, as after Ctrl+C."""

    def __init__(self, app: Any, app_token: str) -> None:
        self.app = app

    def start(self) -> None:
        return None

    def close(self) -> None:
        return None


def test_start_up_makes_one_database_migrates_once_and_calls_auth_test_once(
    standin: SlackStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "SLACK_BOT_TOKEN": standin.bot_token,
        "SLACK_APP_TOKEN": standin.app_token,
        "SLACK_API_URL": standin.base_url,
        "DATA_ROOT": str(tmp_path / "data"),
        "OUTPUT_ROOT": str(tmp_path / "outputs"),
        "CONVERSATION_PARSER": "rules",
        "WARM_TRAINER": "false",
    }.items():
        monkeypatch.setenv(name, value)
    databases: list[storage_db.Database] = []
    migrations: list[object] = []
    made, migrate = storage_db.Database.__init__, storage_db.create_schema

    def counted_init(self: storage_db.Database, url: str) -> None:
        databases.append(self)
        made(self, url)

    def counted_migration(engine: Any) -> str:
        migrations.append(engine)
        return migrate(engine)

    monkeypatch.setattr(storage_db.Database, "__init__", counted_init)
    monkeypatch.setattr(storage_db, "create_schema", counted_migration)
    monkeypatch.setattr(slack_app, "SocketModeHandler", ServesOnce)

    assert cli.main([]) == 0
    assert len(databases) == 1 and len(migrations) == 1
    assert [call.method for call in standin.calls].count("auth.test") == 1


def _imports(path: Path, package: str) -> set[str]:
    """The bot modules `path` imports at module level (not those under TYPE_CHECKING or in functions)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base])
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "bot"}


def _with_packages(target: str) -> list[str]:
    """`target` and the packages an import of it runs first ("bot.runs.views": bot, bot.runs)."""
    parts = target.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts) + 1)]


def test_bot_has_no_import_cycle() -> None:
    modules = {}
    for path in BOT.rglob("*.py"):
        parts = path.relative_to(BOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = (path, name if parts[-1] == "__init__" else name.rpartition(".")[0])
    # importing `a.b.c` runs `a/__init__` and `a.b/__init__` first: edges to those packages too; but a
    # module's own parent packages are always imported before it: no edge to them
    graph = {
        name: {
            imported
            for target in _imports(path, package)
            for imported in _with_packages(target)
            if imported in modules and not (name == imported or name.startswith(imported + "."))
        }
        for name, (path, package) in modules.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, [*stack, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
