"""Each person's share of DATA_ROOT/uploads (UPLOAD_QUOTA_BYTES): every kept upload is recorded in the
hidden uploads/.owners folder with who sent it and its unpacked size; an upload whose folder is gone
(removed by an admin) no longer counts."""

from __future__ import annotations

import json
from pathlib import Path

OWNERS_FOLDER = ".owners"


def record_upload(uploads: Path, folder: str, user: str, size: int) -> None:
    owners = uploads / OWNERS_FOLDER
    owners.mkdir(exist_ok=True)
    (owners / f"{folder}.json").write_text(json.dumps({"user": user, "bytes": size}), encoding="utf-8")


def used_by(uploads: Path, user: str) -> int:
    """Bytes of the uploads `user` sent that are still kept."""
    used = 0
    for record in (uploads / OWNERS_FOLDER).glob("*.json"):
        try:
            entry = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if entry.get("user") == user and (uploads / record.stem).is_dir():
            used += int(entry.get("bytes") or 0)
    return used
