"""The Bolt app over Socket Mode (`python -m bot`).

SLACK_API_URL, when set, is the Web API base URL of every Slack client here: the app's WebClient, the
per-request clients Bolt copies from it, and the Socket Mode client (which calls apps.connections.open
through it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.util.utils import create_copy
from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.web import SlackResponse

from bot.actions import Actions
from bot.settings import Settings
from bot.slack.context import SlackContext
from bot.slack.dedupe import EventLedger
from bot.slack.executor import WorkExecutor
from bot.slack.listeners import register_all
from bot.slack.progress import EDIT_INTERVAL_S, ProgressPublisher
from bot.storage import Database

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 5

SETUP_HELP = """Slack tokens are missing: set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (environment or .env).

To create the Slack app:
  1. https://api.slack.com/apps -> Create New App -> From a manifest -> pick the workspace,
     paste manifest.yml from this repository, Create.
  2. Install to Workspace (OAuth & Permissions), then copy the "Bot User OAuth Token" (xoxb-...)
     into SLACK_BOT_TOKEN.
  3. Basic Information -> App-Level Tokens -> Generate Token and Scopes, add the scope
     connections:write, and copy the token (xapp-...) into SLACK_APP_TOKEN.
  4. Invite the bot to a channel (/invite @trainbot) and type /train there.

To try the whole flow without Slack: python -m bot --console"""


def make_web_client(settings: Settings) -> WebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token,
        base_url=settings.slack_api_url or WebClient.BASE_URL,
        retry_handlers=[
            ConnectionErrorRetryHandler(),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )


@dataclass(frozen=True)
class SlackConnection:
    """The bot's one Slack client and the one auth.test that checked its token."""

    client: WebClient
    auth: SlackResponse

    @property
    def bot_user_id(self) -> str:
        return str(self.auth["user_id"])

    def bolt_app(self) -> App:
        """A Bolt app authorized by this connection's auth.test, so Bolt calls none of its own: its
        client copy carries no token (Bolt's requests get the token from `authorize`)."""
        authorized = AuthorizeResult.from_auth_test_response(
            bot_token=self.client.token, auth_test_response=self.auth
        )
        client = create_copy(self.client)
        client.token = None
        return App(client=client, authorize=lambda: authorized)


def connect(client: WebClient) -> SlackConnection:
    return SlackConnection(client, client.auth_test())


def build(
    settings: Settings,
    actions: Actions,
    slack: SlackConnection,
    db: Database,
    *,
    edit_interval: float = EDIT_INTERVAL_S,
) -> tuple[App, SlackContext]:
    """The Bolt app and its context (whose `close()` stops the progress publisher and the executors),
    on the composition root's one client (already checked by auth.test) and one database."""
    client = slack.client
    app = slack.bolt_app()
    executor = WorkExecutor()
    progress = ProgressPublisher(
        client,
        executor,
        min_interval=edit_interval,
        language_of=lambda run: actions.conversation.session_language(run.session_id),
    )
    ctx = SlackContext(
        settings=settings,
        actions=actions,
        client=client,
        executor=executor,
        progress=progress,
        bot_user_id=slack.bot_user_id,
    )

    events = EventLedger(db)

    @app.middleware
    def handle_each_event_once(body: dict[str, Any], next: Any) -> BoltResponse | None:
        event_id = body.get("event_id")
        if event_id and not events.claim(event_id):
            log.info("event %s was already handled (retry %s)", event_id, body.get("retry_attempt"))
            return BoltResponse(status=200, body="")  # ack the re-delivery, do nothing
        next()
        return None

    register_all(app, ctx)
    progress.start(actions.runs)
    return app, ctx


def run_socket_mode(settings: Settings, actions: Actions, slack: SlackConnection, db: Database) -> int:
    """Serve Slack until interrupted; the run manager starts after the progress messages subscribed
    (recovery may finish runs at once)."""
    assert settings.slack_app_token is not None, "checked by the caller (has_slack_tokens)"
    app, ctx = build(settings, actions, slack, db)
    actions.runs.start()
    actions.start_sweeps()
    handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
    try:
        handler.start()  # blocks until interrupted
    except KeyboardInterrupt:
        log.info("shutting down; running trainers keep going and are picked up on the next start")
    finally:
        handler.close()
        ctx.close()
        actions.runs.shutdown()
    return 0
