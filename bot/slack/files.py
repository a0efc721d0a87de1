"""Slack file transfers: downloading a shared file with the bot token, uploading run artifacts.

The bot token goes only to Slack's file host: https://files.slack.com, or, where SLACK_API_URL points at
Slack-compatible endpoints of another host (a local stand-in), that host. A file stored elsewhere
(external or remote files, links to other services) is refused before any request, and a redirect to
another host is followed without the token (urllib would copy the header onto it).
"""

from __future__ import annotations

import urllib.request
from http.client import HTTPMessage
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.uploads import UploadError, shown_name, size_text

CHUNK = 1024 * 1024
SLACK_FILE_ORIGIN = "https://files.slack.com"
SLACK_DOMAINS = ("slack.com", "slack-gov.com")  # Slack's own API hosts: their files are on files.<domain>
EXTERNAL_MODES = frozenset({"external", "remote"})


def file_origin(api_url: str | None) -> str:
    """scheme://host[:port] of the host that serves Slack files to the bot, for the Web API at `api_url`
    (SLACK_API_URL, or Slack's own)."""
    if not api_url:
        return SLACK_FILE_ORIGIN
    parts = urlsplit(api_url)
    host = (parts.hostname or "").lower()
    for domain in SLACK_DOMAINS:
        if host == domain or host.endswith("." + domain):
            return f"https://files.{domain}"
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def on_origin(url: str, origin: str) -> bool:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}" == origin and not parts.username


def download_shared_file(client: WebClient, file: dict[str, Any], dest: Path, max_bytes: int) -> Path:
    """Save a file a user shared (its `url_private_download`, which needs the bot token and files:read)
    when Slack stores it: on the file host of the client's API (see file_origin). An event that leaves
    the link out (`file_access: check_file_info`) is completed with files.info."""
    file = _with_link(client, file)
    name = shown_name(str(file.get("name") or ""))
    url = str(file.get("url_private_download") or file.get("url_private") or "")
    origin = file_origin(client.base_url)
    if file.get("is_external") or file.get("mode") in EXTERNAL_MODES or (url and not on_origin(url, origin)):
        raise UploadError("external", name=name)
    if not url:
        raise UploadError("no_link", name=name)
    if int(file.get("size") or 0) > max_bytes:
        raise UploadError("over_limit", name=name, limit=size_text(max_bytes))
    token = client.token or ""
    request = urllib.request.Request(url)
    request.add_unredirected_header("Authorization", f"Bearer {token}")  # never copied onto a redirect
    opener = urllib.request.build_opener(_TokenOnOrigin(origin, token))
    try:
        with opener.open(request, timeout=60) as response:
            return _save(response, dest, name, max_bytes)
    except OSError as exc:  # HTTP errors, timeouts, a dropped connection, a full disk
        raise UploadError("download_failed", name=name, reason=shown_name(str(exc))) from exc


def _with_link(client: WebClient, file: dict[str, Any]) -> dict[str, Any]:
    if file.get("url_private_download") or file.get("url_private") or not file.get("id"):
        return file
    try:
        found = client.files_info(file=str(file["id"])).get("file")
    except SlackApiError:
        return file
    return dict(found) if isinstance(found, dict) else file


class _TokenOnOrigin(urllib.request.HTTPRedirectHandler):
    """Follows redirects; the token goes along only to Slack's file host."""

    def __init__(self, origin: str, token: str) -> None:
        self._origin = origin
        self._token = token

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        redirected = super().redirect_request(req, fp, code, msg, headers, newurl)
        if redirected is not None and on_origin(newurl, self._origin):
            redirected.add_unredirected_header("Authorization", f"Bearer {self._token}")
        return redirected


def _save(response: Any, dest: Path, name: str, max_bytes: int) -> Path:
    if response.headers.get_content_type() == "text/html":
        # what Slack answers when the token lacks files:read: a login page, not the file
        raise UploadError("not_permitted", name=name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as sink:
        copied = 0
        while chunk := response.read(CHUNK):
            copied += len(chunk)
            if copied > max_bytes:
                raise UploadError("over_limit", name=name, limit=size_text(max_bytes))
            sink.write(chunk)
    return dest


def upload_artifacts(
    client: WebClient, channel: str, thread_ts: str, paths: list[tuple[str, str]], comment: str
) -> None:
    """Upload (path, title) files into a thread with files_upload_v2; missing files are left out."""
    uploads = [{"file": path, "title": title} for path, title in paths if Path(path).is_file()]
    if uploads:
        client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, file_uploads=uploads, initial_comment=comment
        )
