"""What every listener needs, built once in `app.build`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot.conversation import ConversationService
from bot.i18n import DEFAULT_LANGUAGE
from bot.predict import PredictService
from bot.predict.export import export_command
from bot.runs import RunManager, RunView
from bot.settings import Settings
from bot.slack.executor import WorkExecutor
from bot.slack.progress import ProgressPublisher
from bot.storage import Database


@dataclass(frozen=True)
class ThreadRef:
    """A conversation thread: the Slack thread of one ChatSession."""

    team_id: str
    channel: str
    thread_ts: str


@dataclass
class SlackContext:
    settings: Settings
    conversation: ConversationService
    runs: RunManager
    client: WebClient
    db: Database
    executor: WorkExecutor
    progress: ProgressPublisher
    bot_user_id: str
    start_lock: threading.Lock = field(default_factory=threading.Lock)
    predictions: PredictService | None = None  # prediction workers (bot/predict)
    export_command: list[str] = field(default_factory=export_command)  # `python -m training.export`

    def may_start(self, user_id: str, channel_id: str) -> bool:
        """ALLOWED_USER_IDS / ALLOWED_CHANNEL_IDS: who may start runs (and upload datasets), and where."""
        allowed_users = self.settings.allowed_user_ids
        allowed_channels = self.settings.allowed_channel_ids
        return (not allowed_users or user_id in allowed_users) and (
            not allowed_channels or channel_id in allowed_channels
        )

    def run_language(self, run: RunView) -> str:
        """The language of the conversation the run came from."""
        return self.conversation.session_language(run.session_id)

    def thread_language(self, where: ThreadRef) -> str:
        session = self.conversation.get_session(where.team_id, where.channel, where.thread_ts)
        return session.language if session is not None else DEFAULT_LANGUAGE

    def close(self) -> None:
        self.progress.close()
        self.executor.shutdown(wait=True)
        if self.predictions is not None:
            self.predictions.close()
