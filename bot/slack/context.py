"""What every listener needs, built once by the composition root (bot/slack/app.py `build`)."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk import WebClient

from bot.actions import Actions, Thread
from bot.conversation import ConversationService
from bot.conversation.language import detect_language
from bot.i18n import DEFAULT_LANGUAGE
from bot.policy import Actor
from bot.runs import RunManager, RunView
from bot.settings import Settings
from bot.slack.executor import WorkExecutor
from bot.slack.progress import ProgressPublisher


@dataclass
class SlackContext:
    settings: Settings
    actions: Actions
    client: WebClient
    executor: WorkExecutor
    progress: ProgressPublisher
    bot_user_id: str

    @property
    def conversation(self) -> ConversationService:
        return self.actions.conversation

    @property
    def runs(self) -> RunManager:
        return self.actions.runs

    def run_language(self, run: RunView) -> str:
        """The language of the conversation the run came from."""
        return self.conversation.session_language(run.session_id)

    def thread_language(self, where: Thread) -> str:
        session = self.conversation.get_session(where.team_id, where.channel, where.thread_ts)
        return session.language if session is not None else DEFAULT_LANGUAGE

    def person_language(self, user_id: str, text: str = "") -> str:
        """A person's language: Korean for Hangul in what they wrote, else their latest conversation's."""
        return detect_language(text, self.conversation.user_language(user_id))

    def close(self) -> None:
        self.progress.close()
        self.executor.shutdown(wait=True)
        self.actions.close()


def actor(user_id: str, where: Thread | None = None, channel: str | None = None) -> Actor:
    return Actor(user_id, where.channel if where is not None else channel)
