"""`python -m bot parse MESSAGE...`: play messages as one thread and print the result as JSON.

Uses an in-memory database and does not require the dataset folders to exist, so it works anywhere;
dataset paths are still refused when they escape DATA_ROOT.
"""

from __future__ import annotations

import json
import sys

from bot.conversation.service import ConversationService
from bot.settings import Settings
from bot.storage import Database


def run_parse(messages: list[str], parser_choice: str, settings: Settings) -> int:
    db = Database("sqlite://")
    db.create_all()
    try:
        service = ConversationService(db, settings, parser_choice, dataset_must_exist=False)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    turn = None
    for text in messages:
        turn = service.handle_message(
            team_id="cli", channel_id="cli", thread_ts="parse", user_id="cli", text=text
        )
    assert turn is not None  # argparse requires at least one message
    output = {"config": turn.draft, "missing": turn.missing, "intent": turn.intent, "reply": turn.reply}
    if turn.command:
        output["command"] = turn.command
    print(json.dumps(output, ensure_ascii=False))
    return 0
