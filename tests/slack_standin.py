"""A local stand-in for Slack: the Web API over HTTP and a Socket Mode WebSocket server, both on loopback.

The real slack_bolt / slack_sdk code talks to it exactly as to Slack: `WebClient(base_url=standin.base_url)`
and `apps.connections.open` returning a ws:// URL of the WebSocket server, which pushes envelopes
(like Slack, without waiting for the client) and records the acks. Every Web API call is recorded;
chosen methods can answer HTTP 429 with Retry-After a given number of times.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

TEAM_ID = "T0001"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0001"


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    wall: float = field(default_factory=time.time)  # to compare with trainer event times


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    user: str
    files: list[dict[str, Any]] = field(default_factory=list)
    edits: int = 0


class SlackStandIn:
    def __init__(self, bot_token: str = "xoxb-standin", app_token: str = "xapp-standin") -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.calls: list[ApiCall] = []
        self.messages: dict[tuple[str, str], Message] = {}  # (channel, ts) -> message
        self.ephemerals: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []  # what Bolt's respond() posted to response_url
        self.uploads: dict[str, dict[str, Any]] = {}  # file id -> {"name", "bytes", "title", ...}
        self.home_views: dict[str, dict[str, Any]] = {}  # user id -> the App Home view published last
        self.hosted_files: dict[str, bytes] = {}  # path under /files-pri/ -> bytes (user uploads)
        self.shared_files: dict[str, dict[str, Any]] = {}  # file id -> its file object (files.info)
        self.acks: dict[str, dict[str, Any]] = {}
        # private channels and DMs: their members; every other channel is public, with everyone seen in it
        self.private_members: dict[str, set[str]] = {}
        self.people: set[str] = set()  # every user who has sent an event
        self._rate_limits: dict[str, tuple[int, int]] = {}  # method -> (times left, Retry-After)
        self._cond = threading.Condition()
        self._ts = itertools.count(1)
        self._ws_conns: list[ServerConnection] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ws_port = 0
        self._stop_ws: asyncio.Future[None] | None = None
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True

    # ---- lifecycle -------------------------------------------------------------------------------------

    @property
    def http_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.http_url}/api/"

    def start(self) -> SlackStandIn:
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="standin-http", daemon=True
        ).start()
        started = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop_ws = self._loop.create_future()
            async with serve(self._ws_handler, "127.0.0.1", 0) as server:
                self._ws_port = server.sockets[0].getsockname()[1]
                started.set()
                await self._stop_ws

        threading.Thread(target=lambda: asyncio.run(main()), name="standin-ws", daemon=True).start()
        if not started.wait(5):
            raise RuntimeError("the Socket Mode stand-in did not start")
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._loop and self._stop_ws:
            self._loop.call_soon_threadsafe(self._stop_ws.set_result, None)

    # ---- test controls ---------------------------------------------------------------------------------

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with HTTP 429 and Retry-After."""
        with self._cond:
            self._rate_limits[method] = (times, retry_after)

    def host_file(self, name: str, data: bytes) -> dict[str, Any]:
        """A file a user shared: returns its Slack file object, downloadable with the bot token."""
        file_id = f"F{uuid.uuid4().hex[:9].upper()}"
        path = f"{TEAM_ID}-{file_id}/{name}"
        self.hosted_files[path] = data
        url = f"{self.http_url}/files-pri/{path}"
        self.shared_files[file_id] = {
            "id": file_id,
            "name": name,
            "size": len(data),
            "mimetype": "application/zip",
            "filetype": "zip",
            "url_private": url,
            "url_private_download": url + "?download=1",
        }
        return dict(self.shared_files[file_id])

    def calls_to(self, method: str) -> list[ApiCall]:
        with self._cond:
            return [call for call in self.calls if call.method == method]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        with self._cond:
            return sorted(
                (m for m in self.messages.values() if m.channel == channel and m.thread_ts == thread_ts),
                key=lambda m: float(m.ts),
            )

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate()
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
                self._cond.wait(min(left, 0.05))

    # ---- Socket Mode envelopes -------------------------------------------------------------------------

    def wait_connected(self, timeout: float = 10.0) -> None:
        self.wait_for(lambda: self._ws_conns, timeout, "a Socket Mode connection")

    def push(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
    ) -> str:
        envelope_id = envelope_id or str(uuid.uuid4())
        frame: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if retry_attempt:
            frame.update(retry_attempt=retry_attempt, retry_reason="timeout")
        self.wait_connected()
        assert self._loop is not None
        conn = self._ws_conns[-1]
        asyncio.run_coroutine_threadsafe(conn.send(json.dumps(frame)), self._loop).result(5)
        return envelope_id

    def push_event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_attempt: int = 0
    ) -> str:
        event = {"event_ts": event.get("ts", ""), **event}
        payload = {
            "token": "verification",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
            "event": event,
        }
        return self.push("events_api", payload, accepts_response_payload=False, retry_attempt=retry_attempt)

    def user_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        channel_type: str = "channel",
        event_id: str | None = None,
        retry_attempt: int = 0,
    ) -> tuple[str, str]:
        """A human message event (recorded in the channel too). Returns (envelope id, message ts)."""
        self.people.add(user)
        ts = self.next_ts()
        event: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "channel": channel,
            "channel_type": channel_type,
            "client_msg_id": str(uuid.uuid4()),
            "team": TEAM_ID,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        if files:
            event.update(subtype="file_share", files=files, upload=True)
        with self._cond:
            self.messages[(channel, ts)] = Message(channel, ts, text, None, thread_ts, user, files or [])
        return self.push_event(event, event_id=event_id, retry_attempt=retry_attempt), ts

    def slash_command(self, channel: str, user: str, text: str, command: str = "/train") -> str:
        self.people.add(user)
        payload = {
            "token": "verification",
            "team_id": TEAM_ID,
            "team_domain": "standin",
            "channel_id": channel,
            "channel_name": "ml",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"{self.http_url}/commands/{TEAM_ID}/1/xyz",
            "trigger_id": "1.2.3",
        }
        return self.push("slash_commands", payload, accepts_response_payload=True)

    def click(self, message: Message, user: str, action_id: str) -> str:
        """Click the button `action_id` of a bot message, as the given user."""
        self.people.add(user)
        button = find_button(message.blocks or [], action_id)
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "team": {"id": TEAM_ID, "domain": "standin"},
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
                "thread_ts": message.thread_ts,
            },
            "channel": {"id": message.channel, "name": "ml"},
            "message": {
                "type": "message",
                "ts": message.ts,
                "thread_ts": message.thread_ts,
                "bot_id": BOT_ID,
                "blocks": message.blocks,
                "text": message.text,
            },
            "trigger_id": "1.2.3",
            "state": {"values": {}},
            "response_url": f"{self.http_url}/actions/{TEAM_ID}/1/xyz",
            "actions": [{**button, "block_id": button.get("block_id", "b"), "action_ts": str(time.time())}],
        }
        return self.push("interactive", payload, accepts_response_payload=False)

    def open_home(self, user: str) -> str:
        """The user opens the app's Home tab (app_home_opened)."""
        self.people.add(user)
        return self.push_event(
            {
                "type": "app_home_opened",
                "user": user,
                "channel": "D0HOME",
                "tab": "home",
                "ts": self.next_ts(),
            }
        )

    def click_home(self, user: str, action_id: str, value: str) -> str:
        """Click the button `action_id` whose value is `value` in the user's published Home tab."""
        view = self.home_views[user]
        button = next(
            {**element, "block_id": block.get("block_id", "")}
            for block in view["blocks"]
            if block.get("type") == "actions"
            for element in block["elements"]
            if element.get("action_id") == action_id and element.get("value") == value
        )
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "team": {"id": TEAM_ID, "domain": "standin"},
            "container": {"type": "view", "view_id": view["id"]},
            "view": view,
            "trigger_id": "1.2.3",
            "actions": [{**button, "action_ts": str(time.time())}],
        }
        return self.push("interactive", payload, accepts_response_payload=False)

    def wait_ack(self, envelope_id: str, timeout: float = 3.0) -> dict[str, Any]:
        return self.wait_for(lambda: self.acks.get(envelope_id), timeout, f"the ack of {envelope_id}")

    def next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    async def _ws_handler(self, conn: ServerConnection) -> None:
        with self._cond:
            self._ws_conns.append(conn)
            self._cond.notify_all()
        hello = {
            "type": "hello",
            "num_connections": len(self._ws_conns),
            "debug_info": {"host": "standin", "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID},
        }
        await conn.send(json.dumps(hello))
        try:
            async for frame in conn:
                ack = json.loads(frame)
                with self._cond:
                    self.acks[ack["envelope_id"]] = {**ack, "at": time.monotonic()}
                    self._cond.notify_all()
        except ConnectionClosed:
            pass  # the client went away without a close frame (SocketModeHandler.close does that)
        finally:
            with self._cond:
                self._ws_conns.remove(conn)

    # ---- Web API -----------------------------------------------------------------------------------------

    def _api(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict]:
        with self._cond:
            self.calls.append(ApiCall(method, params, token))
            self._cond.notify_all()
            left, retry_after = self._rate_limits.get(method, (0, 0))
            if left > 0:
                self._rate_limits[method] = (left - 1, retry_after)
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        with self._cond:
            body = handler(params)
            self._cond.notify_all()
        return 200, body, {}

    def _api_auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://standin.slack.com/",
            "team": "Stand-in",
            "user": "trainbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _api_apps_connections_open(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"ws://127.0.0.1:{self._ws_port}/link/?ticket={uuid.uuid4()}&app_id={APP_ID}",
        }

    def _api_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        if len(p.get("blocks") or []) > 50:
            return {"ok": False, "error": "invalid_blocks"}
        ts = self.next_ts()
        message = Message(
            p["channel"], ts, p.get("text", ""), p.get("blocks"), p.get("thread_ts"), BOT_USER_ID
        )
        self.messages[(message.channel, ts)] = message
        return {"ok": True, "channel": message.channel, "ts": ts, "message": self._message_json(message)}

    def _api_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get((p["channel"], p["ts"]))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.text = p.get("text", message.text)
        message.blocks = p.get("blocks")  # like Slack: text without blocks drops the old blocks
        message.edits += 1
        return {
            "ok": True,
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "message": self._message_json(message),
        }

    def _api_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        self.ephemerals.append(p)
        return {"ok": True, "message_ts": self.next_ts()}

    def _api_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{uuid.uuid4().hex[:9].upper()}"
        self.uploads[file_id] = {"name": p["filename"], "length": int(p["length"]), "bytes": None}
        return {"ok": True, "upload_url": f"{self.http_url}/upload/v1/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(p["files"])
        shared = []
        for entry in files:
            upload = self.uploads.get(entry["id"])
            if upload is None or upload["bytes"] is None:
                return {"ok": False, "error": "file_not_found"}
            upload.update(title=entry.get("title"), channel=p.get("channel_id"), thread_ts=p.get("thread_ts"))
            shared.append(
                {
                    "id": entry["id"],
                    "name": upload["name"],
                    "title": entry.get("title"),
                    "size": len(upload["bytes"]),
                }
            )
        if p.get("channel_id"):
            ts = self.next_ts()
            self.messages[(p["channel_id"], ts)] = Message(
                p["channel_id"],
                ts,
                p.get("initial_comment", ""),
                None,
                p.get("thread_ts"),
                BOT_USER_ID,
                shared,
            )
        return {"ok": True, "files": shared}

    def _api_files_info(self, p: dict[str, Any]) -> dict[str, Any]:
        file = self.shared_files.get(p.get("file", ""))
        return {"ok": True, "file": file} if file else {"ok": False, "error": "file_not_found"}

    def _api_views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        view = p["view"] if isinstance(p["view"], dict) else json.loads(p["view"])
        if view.get("type") != "home" or len(view.get("blocks") or []) > 100:
            return {"ok": False, "error": "invalid_arguments"}
        published = {**view, "id": f"V{p['user_id']}"}
        self.home_views[p["user_id"]] = published
        return {"ok": True, "view": published}

    def _api_conversations_members(self, p: dict[str, Any]) -> dict[str, Any]:
        members = self.private_members.get(p["channel"], {BOT_USER_ID, *self.people})
        return {"ok": True, "members": sorted(members), "response_metadata": {"next_cursor": ""}}

    def _api_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user": {"id": p["user"], "name": p["user"].lower(), "tz": "UTC"}}

    @staticmethod
    def _message_json(message: Message) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "message",
            "user": message.user,
            "bot_id": BOT_ID,
            "text": message.text,
            "ts": message.ts,
        }
        if message.thread_ts:
            body["thread_ts"] = message.thread_ts
        if message.blocks is not None:
            body["blocks"] = message.blocks
        return body

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(
                self, status: int, body: bytes, content_type: str, headers: dict | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _token(self) -> str | None:
                auth = self.headers.get("Authorization", "")
                return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path.startswith("/files-pri/"):
                    data = standin.hosted_files.get(url.path.removeprefix("/files-pri/"))
                    if self._token() != standin.bot_token or data is None:
                        # what Slack does without a valid token: an HTML login page
                        self._reply(200, b"<html>Sign in to Slack</html>", "text/html")
                        return
                    self._reply(200, data, "application/zip")
                    return
                if url.path.startswith("/api/"):
                    params = {k: v[0] for k, v in parse_qs(url.query).items()}
                    self._api_reply(url.path.removeprefix("/api/"), params)
                    return
                self._reply(404, b"not found", "text/plain")

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if url.path.startswith("/upload/v1/"):
                    upload = standin.uploads.get(url.path.removeprefix("/upload/v1/"))
                    if upload is None:
                        self._reply(404, b"unknown upload", "text/plain")
                        return
                    upload["bytes"] = raw  # opaque bytes, never parsed as a form
                    self._reply(200, f"OK - {len(raw)}".encode(), "text/plain")
                    return
                if url.path.startswith(("/commands/", "/actions/")):
                    with standin._cond:
                        standin.responses.append(json.loads(raw or b"{}"))
                        standin._cond.notify_all()
                    self._reply(200, b"ok", "text/plain")
                    return
                if not url.path.startswith("/api/"):
                    self._reply(404, b"not found", "text/plain")
                    return
                content_type = self.headers.get("Content-Type", "")
                if content_type.startswith("application/json"):
                    params = json.loads(raw or b"{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                self._api_reply(url.path.removeprefix("/api/"), params)

            def _api_reply(self, method: str, params: dict[str, Any]) -> None:
                status, body, headers = standin._api(method, params, self._token())
                self._reply(status, json.dumps(body).encode(), "application/json; charset=utf-8", headers)

        return Handler


def find_button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == action_id:
                return {**element, "block_id": block.get("block_id", "")}
    raise AssertionError(f"no button {action_id!r} in the message")


def has_button(blocks: list[dict[str, Any]] | None, action_id: str) -> bool:
    try:
        find_button(blocks or [], action_id)
    except AssertionError:
        return False
    return True
