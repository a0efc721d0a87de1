"""The Bolt app over Socket Mode (`python -m bot`).

SLACK_API_URL, when set, is the Web API base URL of every Slack client here: the app's WebClient, the
per-request clients Bolt copies from it, and the Socket Mode client (which calls apps.connections.open
through it).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.conversation import ConversationService
from bot.predict import PredictService
from bot.runs import RunManager
from bot.settings import Settings
from bot.slack.context import SlackContext
from bot.slack.dedupe import claim_event
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


def build(
    settings: Settings,
    conversation: ConversationService,
    runs: RunManager,
    web_client: WebClient | None = None,
    *,
    edit_interval: float = EDIT_INTERVAL_S,
) -> tuple[App, SlackContext]:
    """The Bolt app and its context (whose `close()` stops the progress publisher and the executor)."""
    client = web_client or make_web_client(settings)
    app = App(client=client, token_verification_enabled=True)
    db = Database(settings.database_url_or_default)
    db.create_all()
    executor = WorkExecutor()
    progress = ProgressPublisher(
        client,
        executor,
        min_interval=edit_interval,
        language_of=lambda run: conversation.session_language(run.session_id),
    )
    ctx = SlackContext(
        settings=settings,
        conversation=conversation,
        runs=runs,
        client=client,
        db=db,
        executor=executor,
        progress=progress,
        bot_user_id=client.auth_test()["user_id"],
        predictions=PredictService(
            visible_gpus=lambda: list(runs.gpus()), busy_gpus=runs.busy_gpus, cpus=runs.helper_cpus
        ),
    )

    @app.middleware
    def handle_each_event_once(body: dict[str, Any], next: Any) -> BoltResponse | None:
        event_id = body.get("event_id")
        if event_id and not claim_event(db, event_id):
            log.info("event %s was already handled (retry %s)", event_id, body.get("retry_attempt"))
            return BoltResponse(status=200, body="")  # ack the re-delivery, do nothing
        next()
        return None

    register_all(app, ctx)
    progress.start(runs)
    return app, ctx


def run_socket_mode(settings: Settings, parser_choice: str) -> int:
    if not settings.has_slack_tokens or settings.slack_app_token is None:
        print(SETUP_HELP, file=sys.stderr)
        return 1
    db = Database(settings.database_url_or_default)
    db.create_all()
    conversation = ConversationService(db, settings, parser_choice)
    runs = RunManager(db, settings)
    app, ctx = build(settings, conversation, runs)
    runs.start()  # after build subscribed the progress messages: recovery may finish runs at once
    handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
    try:
        handler.start()  # blocks until interrupted
    except KeyboardInterrupt:
        log.info("shutting down; running trainers keep going and are picked up on the next start")
    finally:
        handler.close()
        ctx.close()
        runs.shutdown()
    return 0
