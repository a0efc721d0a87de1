"""Slack file transfers: downloading a shared file with the bot token, uploading run artifacts."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from bot.uploads import UploadError, shown_name, size_text

CHUNK = 1024 * 1024


def download_shared_file(file: dict[str, Any], token: str, dest: Path, max_bytes: int) -> Path:
    """Save a file a user shared (its `url_private_download`, which needs the bot token and files:read)."""
    url = file.get("url_private_download") or file.get("url_private")
    if not url:
        raise UploadError("no_link", name=shown_name(str(file.get("name") or "")))
    if int(file.get("size") or 0) > max_bytes:
        raise UploadError("over_limit", name=shown_name(str(file.get("name"))), limit=size_text(max_bytes))
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        return _save(request, dest, str(file.get("name")), max_bytes)
    except OSError as exc:  # HTTP errors, timeouts, a dropped connection, a full disk
        name = shown_name(str(file.get("name")))
        raise UploadError("download_failed", name=name, reason=shown_name(str(exc))) from exc


def _save(request: urllib.request.Request, dest: Path, name: str, max_bytes: int) -> Path:
    with urllib.request.urlopen(request, timeout=60) as response:
        if response.headers.get_content_type() == "text/html":
            # what Slack answers when the token lacks files:read: a login page, not the file
            raise UploadError("not_permitted", name=shown_name(name))
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("wb") as sink:
            copied = 0
            while chunk := response.read(CHUNK):
                copied += len(chunk)
                if copied > max_bytes:
                    raise UploadError("over_limit", name=shown_name(name), limit=size_text(max_bytes))
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
