"""A local stand-in for the Anthropic Messages API on 127.0.0.1, for driving the real SDK in tests.

Each test scripts the answers (status, headers, body, delay) in order; every request is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def message(
    payload: dict[str, Any] | str, *, stop_reason: str = "end_turn", model: str = "claude-haiku-5-5"
) -> Reply:
    """A JSON-outputs answer: the JSON in a text block, after an empty thinking block as Haiku 5.5 sends."""
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return Reply(
        body={
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [
                {"type": "thinking", "thinking": "", "signature": "sig"},
                {"type": "text", "text": text},
            ],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": 900, "output_tokens": 40, "cache_read_input_tokens": 800},
        }
    )


def updates(intent: str = "settings", **fields: Any) -> Reply:
    return message({"intent": intent, "updates": fields})


def refusal() -> Reply:
    reply = message("")
    reply.body["content"] = []
    reply.body["stop_reason"] = "refusal"
    return reply


def error(status: int, kind: str, headers: dict[str, str] | None = None) -> Reply:
    body = {"type": "error", "error": {"type": kind, "message": f"fake {kind}"}, "request_id": "req_fake"}
    return Reply(status=status, body=body, headers=headers or {})


class FakeAnthropic:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: list[Reply] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(Recorded(self.path, dict(self.headers), body))
                    reply = server.script.pop(0) if server.script else error(500, "api_error")
                time.sleep(reply.delay_s)
                data = json.dumps(reply.body, ensure_ascii=False).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("request-id", f"req_fake_{len(server.requests)}")
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
