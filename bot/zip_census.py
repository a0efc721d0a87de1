"""Counting a zip's files before opening it. `zipfile.ZipFile` reads the whole central directory into
memory first (about half a kilobyte per entry, whatever the end record declares), so a small zip of
millions of empty entries would take gigabytes. `count_zip` reads the end-of-central-directory record
(and its zip64 form), refuses a declared count past the limit at once, and otherwise walks the central
directory a header at a time, stopping one file past the limit.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

EOCD = struct.Struct("<4s4H2LH")  # sig, disks, entries here, entries, cd size, offset, comment
ZIP64_LOCATOR = struct.Struct("<4sLQL")  # signature, cd disk, zip64 end record offset, disks
ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")  # sig, size, versions, disks, entries (here, all), cd size, offset
CENTRAL = struct.Struct("<4s6H3L5H2L")  # one central directory header, before its name, extra and comment
EOCD_SIGNATURE, LOCATOR_SIGNATURE = b"PK\x05\x06", b"PK\x06\x07"
ZIP64_SIGNATURE, CENTRAL_SIGNATURE = b"PK\x06\x06", b"PK\x01\x02"
MAX_COMMENT = 0xFFFF
ZIP64_EXTRA = 0x0001
READ_BUFFER = 64 * 1024


class NotAZip(Exception):
    """No readable end record or central directory."""


@dataclass(frozen=True)
class ZipCensus:
    files: int  # entries that are not folders; past the limit: the declared count, at least limit + 1
    declared_bytes: int  # their sizes once unpacked, as the central directory declares them
    over_limit: bool  # more files than the limit: counting stopped there


def count_zip(path: Path, max_files: int) -> ZipCensus:
    """The files of the zip at `path` and their declared sizes, reading at most max_files + 1 headers."""
    try:
        with path.open("rb", buffering=READ_BUFFER) as handle:
            entries, cd_size, cd_start = _end_record(handle)
            if entries > max_files:
                return ZipCensus(files=entries, declared_bytes=0, over_limit=True)
            return _walk(handle, cd_start, cd_size, max_files, entries)
    except (OSError, struct.error) as exc:
        raise NotAZip(str(exc)) from exc


def _end_record(handle: BinaryIO) -> tuple[int, int, int]:
    """(entries, central directory size, where it starts), from the end record."""
    # found as zipfile finds it, so that both read the same directory: a record right at the end, else
    # the last signature within a comment's reach
    size = handle.seek(0, 2)
    tail_start = max(0, size - EOCD.size - MAX_COMMENT)
    handle.seek(tail_start)
    tail = handle.read()
    at = len(tail) - EOCD.size
    if at < 0 or tail[at : at + 4] != EOCD_SIGNATURE or tail[-2:] != b"\0\0":
        at = tail.rfind(EOCD_SIGNATURE)
    if at < 0 or len(tail) - at < EOCD.size:
        raise NotAZip("no end of central directory record")
    _, _, _, _, entries, cd_size, _, _ = EOCD.unpack_from(tail, at)
    record_at = tail_start + at
    locator_at = record_at - ZIP64_LOCATOR.size
    if locator_at >= 0:
        handle.seek(locator_at)
        locator = handle.read(ZIP64_LOCATOR.size)
        if locator[:4] == LOCATOR_SIGNATURE:  # zip64: counts and sizes past 65535 / 4 GiB
            record_at = locator_at - ZIP64_EOCD.size
            handle.seek(record_at)
            record = ZIP64_EOCD.unpack(handle.read(ZIP64_EOCD.size))
            if record[0] != ZIP64_SIGNATURE:
                raise NotAZip("damaged zip64 end record")
            entries, cd_size = record[7], record[8]
    # like zipfile: the directory ends where the end record begins (data may be prepended to a zip)
    return entries, cd_size, record_at - cd_size


def _walk(handle: BinaryIO, start: int, cd_size: int, max_files: int, entries: int) -> ZipCensus:
    if start < 0:
        raise NotAZip("the central directory lies before the start of the file")
    handle.seek(start)
    files = declared = read = 0
    while read < cd_size:
        header = CENTRAL.unpack(handle.read(CENTRAL.size))
        if header[0] != CENTRAL_SIGNATURE:
            raise NotAZip("damaged central directory")
        unpacked, name_len, extra_len, comment_len = header[9], header[10], header[11], header[12]
        variable = handle.read(name_len + extra_len + comment_len)
        read += CENTRAL.size + len(variable)
        if variable[:name_len].endswith(b"/"):
            continue
        files += 1
        if files > max_files:  # the end record's count, when it does not lie, says how many more
            return ZipCensus(files=max(files, entries), declared_bytes=declared, over_limit=True)
        if unpacked == 0xFFFFFFFF:
            unpacked = _zip64_size(variable[name_len : name_len + extra_len], unpacked)
        declared += unpacked
    return ZipCensus(files=files, declared_bytes=declared, over_limit=False)


def _zip64_size(extra: bytes, fallback: int) -> int:
    """The unpacked size from the zip64 extra field (its first value when the header says 0xFFFFFFFF)."""
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, at)
        if tag == ZIP64_EXTRA and length >= 8:
            return int(struct.unpack_from("<Q", extra, at + 4)[0])
        at += 4 + length
    return fallback
