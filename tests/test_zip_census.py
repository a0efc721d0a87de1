"""Zips are counted before they are opened: a zip of many entries (declared in its end record, or
hidden behind an end record that lies) is refused for a dataset upload and for a prediction while the
bot's memory stays flat, and a prediction reply listing many refused files fits one Slack message."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.predict.files import Limits, gather_images
from bot.predict.present import LISTED_CHARS, prediction_text
from bot.settings import Settings
from bot.uploads import UploadError, extract_dataset_zip
from bot.zip_census import CENTRAL, EOCD, ZIP64_EOCD, ZIP64_LOCATOR, count_zip

NAME = b"cat/000000.png"


def central_entry(name: bytes = NAME, size: int = 0) -> bytes:
    """One central directory header, as zipfile reads it (local headers are only read on opening)."""
    return CENTRAL.pack(b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, size, size, len(name), 0, 0, 0, 0, 0, 0) + name


def end_record(entries: int, cd_size: int, cd_offset: int) -> bytes:
    return EOCD.pack(b"PK\x05\x06", 0, 0, entries, entries, cd_size, cd_offset, 0)


def zip64_end(entries: int, cd_size: int, cd_offset: int) -> bytes:
    """A zip64 end record (counts past 65535), its locator and the classic record pointing to them."""
    record = ZIP64_EOCD.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, cd_size, cd_offset)
    locator = ZIP64_LOCATOR.pack(b"PK\x06\x07", 0, cd_offset + cd_size, 1)
    classic = EOCD.pack(b"PK\x05\x06", 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 2**32 - 1, 2**32 - 1, 0)
    return record + locator + classic


def declares_25_million(path: Path) -> Path:
    """22 bytes of directory, an end record saying 25,000,000 entries."""
    directory = central_entry()
    path.write_bytes(directory + zip64_end(25_000_000, len(directory), 0))
    return path


def lies_about_its_count(path: Path, entries: int) -> Path:
    """`entries` real directory headers behind an end record that declares 2 (zipfile reads them all)."""
    directory = central_entry() * entries
    path.write_bytes(directory + end_record(2, len(directory), 0))
    return path


def peak_bytes(action: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        action()
    except UploadError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def upload_settings(tmp_path: Path) -> Settings:
    return Settings(data_root=tmp_path / "data", upload_max_files=1000)


def test_a_dataset_zip_declaring_25_million_entries_is_refused_from_its_end_record(tmp_path: Path) -> None:
    zip_path = declares_25_million(tmp_path / "huge.zip")
    settings = upload_settings(tmp_path)
    with pytest.raises(UploadError, match="holds 25,000,000 files; the limit is 1,000") as refused:
        extract_dataset_zip(zip_path, settings, "huge.zip")
    assert "25,000,000" in refused.value.words("ko") and "1,000" in refused.value.words("ko")
    assert peak_bytes(lambda: extract_dataset_zip(zip_path, settings, "huge.zip")) < 1_000_000
    assert list((settings.data_root / "uploads").iterdir()) == []


def test_a_zip_whose_end_record_lies_is_counted_header_by_header(tmp_path: Path) -> None:
    zip_path = lies_about_its_count(tmp_path / "liar.zip", 10_000)
    settings = upload_settings(tmp_path)
    with pytest.raises(UploadError, match="holds 1,001 files; the limit is 1,000"):
        extract_dataset_zip(zip_path, settings, "liar.zip")
    ours = peak_bytes(lambda: extract_dataset_zip(zip_path, settings, "liar.zip"))
    zipfiles = peak_bytes(lambda: zipfile.ZipFile(zip_path).close())  # what opening it first would take
    assert ours < 1_000_000 and zipfiles > 10 * ours, (ours, zipfiles)


def test_a_prediction_zip_of_too_many_files_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    for zip_path in (declares_25_million(tmp_path / "a.zip"), lies_about_its_count(tmp_path / "b.zip", 5000)):
        peak = peak_bytes(lambda path=zip_path: gather_images([("many.zip", path)], scratch, Limits()))
        accepted, problems = gather_images([("many.zip", zip_path)], scratch, Limits())
        assert accepted == [] and [(p.name, p.code, p.detail) for p in problems] == [
            ("many.zip", "zip_too_many", "1,000")
        ]
        assert peak < 1_000_000
    text = prediction_text("en", 3, "resnet18", [], problems)
    assert "`many.zip`: holds more than 1,000 files; nothing in it was read." in text


def test_the_census_matches_zipfile_on_an_ordinary_zip(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("pets/", b"")  # a folder is not a file
        archive.writestr("pets/cat/1.png", b"x" * 1000)
        archive.writestr("pets/dog/1.png", b"y" * 234)
        archive.comment = b"a comment"
    path = tmp_path / "pets.zip"
    path.write_bytes(b"prepended stub " + buffer.getvalue())  # like a self-extracting zip
    census = count_zip(path, 10)
    assert (census.files, census.declared_bytes, census.over_limit) == (2, 1234, False)
    assert count_zip(path, 1).over_limit


def test_a_long_list_of_refused_files_fits_one_slack_message(tmp_path: Path) -> None:
    entries = b"".join(central_entry(f"notes/{i:04d}-{'x' * 150}.txt".encode()) for i in range(900))
    zip_path = tmp_path / "notes.zip"
    zip_path.write_bytes(entries + end_record(900, len(entries), 0))
    _, problems = gather_images([("notes.zip", zip_path)], tmp_path / "scratch", Limits())
    assert len(problems) == 900 and {p.code for p in problems} == {"not_image"}
    for language, more in (("en", "and {} more"), ("ko", "외 {}개 더")):
        text = prediction_text(language, 3, "resnet18", [], problems)
        listed = text.count("`notes.zip/notes/")
        assert 1 <= listed <= 20 and len(text) < LISTED_CHARS + 500
        assert more.format(f"{900 - listed:,}") in text
