"""`python -m bot`: the Slack app (default), the terminal console, or the `parse` tool.

Each mode's module is imported only when chosen, so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.storage import Database

PARSER_CHOICES = ("auto", "rules", "claude")
# A setting is missing or wrong: deploy/trainbot.service does not restart on this code
# (RestartPreventExitStatus), so an unconfigured service waits for .env to be fixed instead of looping.
EXIT_MISCONFIGURED = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Slack chat-ops bot for training image classifiers. With no arguments it connects "
        "to Slack over Socket Mode (SLACK_BOT_TOKEN and SLACK_APP_TOKEN must be set).",
    )
    parser.add_argument(
        "--console",
        action="store_true",
        help="run the same conversation and run manager in this terminal, with no Slack workspace",
    )
    parser.add_argument(
        "--parser",
        choices=PARSER_CHOICES,
        default=None,
        help="conversation parser: claude when ANTHROPIC_API_KEY is set (auto, the default), or rules",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    parse = commands.add_parser(
        "parse",
        help="play messages as one thread through the conversation engine and print the result as JSON",
        description="Play MESSAGE... as one thread (each message answers the bot's previous reply) and "
        'print {"config": {...}, "missing": [...], "reply": "..."}.',
    )
    parse.add_argument("--parser", dest="parse_parser", choices=PARSER_CHOICES, default=None)
    parse.add_argument("messages", nargs="+", metavar="MESSAGE")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bot.settings import InvalidSettings

    try:
        return _run(args)
    except InvalidSettings as exc:  # one line per problem, no traceback
        for line in exc.lines:
            print(f"error: {line}", file=sys.stderr)
        return EXIT_MISCONFIGURED


def _run(args: argparse.Namespace) -> int:
    """The composition root: settings → one database (migrated once) → one Slack client (one auth.test)
    → the services (bot/actions) → the front end."""
    from bot import startup
    from bot.settings import configure_logging, get_settings

    settings = get_settings()
    configure_logging(settings)
    parser_choice = getattr(args, "parse_parser", None) or args.parser or settings.conversation_parser
    if args.command == "parse":
        startup.check_folders(settings, create=False)  # parse needs no folders, but DATA_ROOT is no file
        from bot.conversation.cli import run_parse

        return run_parse(args.messages, parser_choice, settings)
    startup.check_folders(settings, create=True)
    db = startup.open_database(settings)
    from bot.runs.launcher import BackendUnavailable

    try:
        if args.console:
            from bot.console import run_console

            return run_console(settings, db, parser_choice)
        return _run_slack(settings, db, parser_choice)
    except BackendUnavailable as exc:
        print(f"Cannot start runs: {exc}", file=sys.stderr)
        return EXIT_MISCONFIGURED
    finally:
        db.dispose()


def _run_slack(settings: Settings, db: Database, parser_choice: str) -> int:
    from slack_sdk.errors import SlackApiError

    from bot import startup
    from bot.actions import Actions
    from bot.slack.app import SETUP_HELP, run_socket_mode
    from bot.slack.membership import ChannelMembers

    if not settings.has_slack_tokens or settings.slack_app_token is None:
        print(SETUP_HELP, file=sys.stderr)
        return EXIT_MISCONFIGURED
    slack = startup.connect_slack(settings)
    actions = Actions.compose(settings, db, parser_choice, membership=ChannelMembers(slack.client))
    try:
        return run_socket_mode(settings, actions, slack, db)
    except SlackApiError as exc:  # Socket Mode's apps.connections.open refused the app token
        raise startup.InvalidSettings([startup.slack_refusal(exc)]) from None
