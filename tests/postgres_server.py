"""A throwaway PostgreSQL server for the tests: Debian's binaries, initdb in a temp dir, loopback only.

Started once per test session (about a second) and stopped by the PID in its postmaster.pid. Each test
gets its own database, copied from a template that already holds the migrated schema.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

SERVER_USER = "postgres"  # PostgreSQL refuses to run as root
TEMPLATE = "trainbot_template"


def find_binaries() -> Path | None:
    """The newest installed server's bin folder (Debian keeps them out of PATH)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]), reverse=True
    )
    if found:
        return found[0].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable_reason() -> str | None:
    if find_binaries() is None:
        return "PostgreSQL server not installed (apt-get install -y postgresql; .ci/run does it)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no '{SERVER_USER}' user to run the server as"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    def __init__(self) -> None:
        self.bin = find_binaries()
        assert self.bin is not None
        self.root = Path(tempfile.mkdtemp(prefix="trainbot-pg-"))  # not under pytest's 0700 folder
        self.port = 0
        self.pid = 0
        self._names = itertools.count(1)

    def _as_server_user(self, *command: str) -> None:
        prefix = ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            shutil.chown(self.root, SERVER_USER)
        data = self.root / "data"
        self._as_server_user(
            str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--no-locale", "--no-sync",
        )  # fmt: skip
        for attempt in range(3):  # another process may take the port between probing and binding
            self.port = _free_port()
            options = (
                f"-k {self.root} -c listen_addresses=127.0.0.1 -p {self.port} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._as_server_user(
                    str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.root / "server.log"),
                    "-o", options, "-w", "-t", "60", "start",
                )  # fmt: skip
                break
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
        self.pid = int((data / "postmaster.pid").read_text().split()[0])
        return self

    def stop(self) -> None:
        """Fast shutdown of the postmaster by its PID, then the folder goes."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGINT)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    os.kill(self.pid, 0)  # raises ProcessLookupError once it is gone
                    time.sleep(0.05)
                os.kill(self.pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(sql)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def fresh_database(self, template: str = "template0") -> Iterator[str]:
        """A new database (a copy of `template`) for one test, dropped afterwards."""
        name = f"test_{next(self._names)}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        try:
            yield self.url(name)
        finally:
            self.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
