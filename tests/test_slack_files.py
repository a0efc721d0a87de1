"""The bot token goes only to Slack's file host. Two loopback servers: one is "Slack" (SLACK_API_URL
points at it, so it is the file host, as the stand-in is), the other is anywhere else; both record the
headers of every request they get."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.slack.files import download_shared_file, file_origin
from bot.uploads import UploadError
from tests.slack_standin import SlackStandIn

TOKEN = "xoxb-the-bot-token"
BODY = b"PK\x05\x06" + bytes(18)  # an empty zip: any bytes would do


class Recorder:
    """A loopback HTTP server that records (path, headers) and answers /file with BODY and
    /to?url=... with a 302 to that url."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                recorder.requests.append((self.path, dict(self.headers)))
                if self.path.startswith("/to?url="):
                    self.send_response(302)
                    self.send_header("Location", self.path.removeprefix("/to?url="))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                self.wfile.write(BODY)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def authorizations(self) -> list[str | None]:
        return [headers.get("Authorization") for _, headers in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


@pytest.fixture
def elsewhere() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


def shared(url: str, **fields: Any) -> dict[str, Any]:
    return {"id": "F1", "name": "birds.zip", "size": len(BODY), "url_private_download": url, **fields}


def download(file: dict[str, Any], slack: Recorder, dest: Path) -> Path:
    client = WebClient(token=TOKEN, base_url=f"{slack.url}/api/")  # SLACK_API_URL pointing at "Slack"
    return download_shared_file(client, file, dest / "upload.zip", 1024)


def test_a_file_on_slacks_file_host_is_downloaded_with_the_token(slack: Recorder, tmp_path: Path) -> None:
    saved = download(shared(f"{slack.url}/files-pri/T1-F1/birds.zip"), slack, tmp_path)
    assert saved.read_bytes() == BODY
    assert slack.authorizations() == [f"Bearer {TOKEN}"]


def test_a_file_on_another_host_is_refused_without_a_request(
    slack: Recorder, elsewhere: Recorder, tmp_path: Path
) -> None:
    with pytest.raises(UploadError) as refused:
        download(shared(f"{elsewhere.url}/birds.zip"), slack, tmp_path)
    assert refused.value.code == "external"
    assert "birds.zip" in refused.value.words("en") and "Slack" in refused.value.words("ko")
    assert elsewhere.requests == [] and slack.requests == []
    assert not (tmp_path / "upload.zip").exists()


@pytest.mark.parametrize("fields", [{"is_external": True}, {"mode": "external"}, {"mode": "remote"}])
def test_external_and_remote_files_are_refused_even_with_a_slack_url(
    fields: dict[str, Any], slack: Recorder, tmp_path: Path
) -> None:
    with pytest.raises(UploadError, match="not stored in Slack"):
        download(shared(f"{slack.url}/files-pri/T1-F1/birds.zip", **fields), slack, tmp_path)
    assert slack.requests == []


def test_a_redirect_to_another_host_never_carries_the_token(
    slack: Recorder, elsewhere: Recorder, tmp_path: Path
) -> None:
    # Slack's host redirects to itself first (the token goes along), then away (it must not)
    away = f"{slack.url}/to?url={elsewhere.url}/stolen.zip"
    saved = download(shared(f"{slack.url}/to?url={away}"), slack, tmp_path)
    assert saved.read_bytes() == BODY  # followed, without the token
    assert slack.authorizations() == [f"Bearer {TOKEN}", f"Bearer {TOKEN}"]
    assert [path for path, _ in elsewhere.requests] == ["/stolen.zip"]
    assert elsewhere.authorizations() == [None]
    assert not any(TOKEN in str(headers) for _, headers in elsewhere.requests)


def test_slacks_own_file_host_unless_the_api_url_points_elsewhere() -> None:
    assert file_origin(None) == "https://files.slack.com"
    assert file_origin("https://slack.com/api/") == "https://files.slack.com"
    assert file_origin("https://acme.enterprise.slack.com/api/") == "https://files.slack.com"
    assert file_origin("http://127.0.0.1:8123/api/") == "http://127.0.0.1:8123"


def test_with_slacks_api_only_https_files_slack_com_gets_the_token(tmp_path: Path) -> None:
    for url in (
        "http://files.slack.com/files-pri/T1-F1/a.zip",  # the token in clear text
        "https://files.slack.com.evil.example/files-pri/T1-F1/a.zip",
        "https://user@files.slack.com/files-pri/T1-F1/a.zip",
        "https://example.com/a.zip",
    ):
        with pytest.raises(UploadError, match="not stored in Slack"):
            download_shared_file(WebClient(token=TOKEN), shared(url), tmp_path / "a.zip", 1024)


def test_a_file_shared_without_its_link_is_looked_up_with_files_info(tmp_path: Path) -> None:
    standin = SlackStandIn().start()
    try:
        hosted = standin.host_file("pets.zip", BODY)
        event_file = {"id": hosted["id"], "name": "pets.zip", "file_access": "check_file_info"}
        client = WebClient(token=standin.bot_token, base_url=standin.base_url)
        saved = download_shared_file(client, event_file, tmp_path / "upload.zip", 1024)
        assert saved.read_bytes() == BODY
        assert [call.params["file"] for call in standin.calls_to("files.info")] == [hosted["id"]]
        with pytest.raises(UploadError, match="no download link"):
            download_shared_file(client, {"id": "FGONE", "name": "gone.zip"}, tmp_path / "gone.zip", 1024)
    finally:
        standin.stop()
