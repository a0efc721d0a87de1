"""Labelled conversation sets (tests/data/conversation_*.jsonl) played through ConversationService.

A case is {"id", "messages", "expected": the draft after the last message}; intent cases also carry
"intent", "topic", "command", "run_id". "thread" says what the thread holds when its last message comes:
"finished" (a run started there completed), "stopped", or "running"; the run is a real row of the
database the service reads, as a run the thread started would be.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.conversation.service import ConversationService, Turn
from bot.storage import ChatSession, Database, RunStatus, SessionState, TrainingRun
from tests.conversation_support import same

DATA = Path(__file__).parent / "data"
THREAD_RUNS = {"finished": RunStatus.COMPLETED, "stopped": RunStatus.STOPPED, "running": RunStatus.RUNNING}


def load(name: str) -> list[dict[str, Any]]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def add_thread_run(db: Database, session_id: int, status: RunStatus) -> None:
    """A run started from the session (as the Start button makes one), in `status`."""
    with db.session() as session:
        row = session.get_one(ChatSession, session_id)
        row.state = SessionState.STARTED
        session.add(TrainingRun(session_id=session_id, status=status, config=dict(row.draft)))


def play(
    service: ConversationService, db: Database, case: dict[str, Any], team: str = "T"
) -> tuple[Turn, dict[str, Any]]:
    """(last turn, draft before the last message)."""
    turn: Turn | None = None
    before: dict[str, Any] = {}
    for index, text in enumerate(case["messages"]):
        last = index == len(case["messages"]) - 1
        if last and turn is not None:
            before = dict(turn.draft)
            if case.get("thread"):
                add_thread_run(db, turn.session_id, THREAD_RUNS[case["thread"]])
        turn = service.handle_message(
            team_id=team, channel_id="C", thread_ts=case["id"], user_id="U", text=text
        )
    assert turn is not None
    return turn, before


def field_score(
    service: ConversationService, db: Database, cases: list[dict[str, Any]]
) -> tuple[int, int, list[str]]:
    """(fields right, fields scored, misses): every field expected or set counts, spurious ones too."""
    right, total, errors = 0, 0, []
    for case in cases:
        turn, _before = play(service, db, case)
        expected = case["expected"]
        for name in sorted(set(expected) | set(turn.draft)):
            total += 1
            if name in expected and name in turn.draft and same(expected[name], turn.draft[name]):
                right += 1
            else:
                errors.append(
                    f"{case['id']}: {name} expected {expected.get(name)!r}, got {turn.draft.get(name)!r}"
                )
    return right, total, errors
