"""Start-up for `python -m bot`, the console and `bot parse`: folders, the one database and the one Slack
client, each checked as it is made.

Each problem becomes an InvalidSettings line that names the setting, what was found and what to check, so
the entry point can print it and exit without a traceback. Tokens and database passwords are never shown.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.settings import InvalidSettings, Settings, shown_value
from bot.storage import Database

if TYPE_CHECKING:
    from bot.slack.app import SlackConnection

FOLDER_SETTINGS = ("data_root", "output_root", "decoded_cache_dir")


def check_folders(settings: Settings, *, create: bool) -> None:
    """DATA_ROOT, OUTPUT_ROOT and a set DECODED_CACHE_DIR must be folders: created when missing (if
    `create`), refused otherwise."""
    problems = []
    for name in FOLDER_SETTINGS:
        folder: Path | None = getattr(settings, name)
        if folder is None:
            continue
        shown = f"{name.upper()}={str(folder)!r}"
        if folder.exists() and not folder.is_dir():
            problems.append(f"{shown} is a file, not a folder; point it at a folder (created when missing)")
            continue
        if not create or folder.is_dir():
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problems.append(
                f"{shown} could not be created ({exc.strerror or exc}); pick a folder you can write"
            )
    if problems:
        raise InvalidSettings(problems)


def open_database(settings: Settings) -> Database:
    """The bot's one Database, its schema brought up to date now, so a bad DATABASE_URL fails at start."""
    url = settings.database_url_or_default
    try:
        db = Database(url)
    except (SQLAlchemyError, ImportError, ValueError, OSError) as exc:
        raise InvalidSettings([_database_problem(url, exc)]) from None
    try:
        db.create_all()
    except (SQLAlchemyError, OSError, RuntimeError) as exc:
        db.dispose()
        raise InvalidSettings([_database_problem(url, exc)]) from None
    return db


def _database_problem(url: str, exc: BaseException) -> str:
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        shown = shown_value(url)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    detail = shown_value(reason[0], 200) if reason else type(exc).__name__
    if isinstance(exc, ImportError):
        detail += " (for PostgreSQL write postgresql+psycopg://… and pip install -e '.[postgres]')"
    return f"DATABASE_URL={shown!r} could not be used: {detail}"


def connect_slack(settings: Settings) -> SlackConnection:
    """The bot's one Slack client, checked by its one auth.test: an unreachable Slack or a refused token
    is said plainly now."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.slack.app import connect, make_web_client

    client = make_web_client(settings)
    sdk_log = logging.getLogger("slack_sdk")
    level = sdk_log.level
    sdk_log.setLevel(logging.CRITICAL)  # its retry handler logs each failed try; the one line below says it
    try:
        return connect(client)
    except SlackApiError as exc:
        raise InvalidSettings([slack_refusal(exc)]) from None
    except (SlackClientError, OSError) as exc:
        raise InvalidSettings([slack_unreachable(client.base_url, exc)]) from None
    finally:
        sdk_log.setLevel(level)


def slack_refusal(exc: BaseException) -> str:
    """Slack answered but refused a token; which one follows from the method that was called."""
    response = getattr(exc, "response", None)
    code = response.get("error", "an error") if response is not None else "an error"
    api_url = str(getattr(response, "api_url", ""))
    if "apps.connections.open" in api_url:
        return (
            f"Slack refused SLACK_APP_TOKEN ({code}); generate an App-Level Token with the connections:write "
            "scope on the app's Basic Information page, and check that Socket Mode is enabled"
        )
    return (
        f"Slack refused SLACK_BOT_TOKEN ({code}); copy the Bot User OAuth Token (xoxb-…) from the app's "
        "OAuth & Permissions page, and reinstall the app if it was removed"
    )


def slack_unreachable(base_url: str, exc: BaseException) -> str:
    reason = str(getattr(exc, "reason", None) or exc).strip() or type(exc).__name__
    return (
        f"could not reach Slack at {base_url} ({shown_value(reason, 120)}); check this machine's network "
        "connection and proxy, and SLACK_API_URL if it is set"
    )
