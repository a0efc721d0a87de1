"""Dataset .zip uploads: safe extraction under DATA_ROOT/uploads."""

from __future__ import annotations

import io
import shutil
import socket
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.settings import Settings
from bot.slack.files import download_shared_file
from bot.uploads import SHOWN_NAME_MAX, UploadError, extract_dataset_zip, shown_name
from tests.imagegen import make_image_folder


def zip_of(entries: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def image_folder_zip(tmp_path: Path, prefix: str = "pets/") -> bytes:
    source = make_image_folder(tmp_path / "src", classes=("cat", "dog"), per_class=3)
    entries = {f"{prefix}{p.relative_to(source).as_posix()}": p.read_bytes() for p in source.rglob("*.png")}
    entries.update(
        {f"{prefix}notes.txt": b"hi", f"__MACOSX/{prefix}cat/._a.png": b"meta", f"{prefix}.hidden.png": b"x"}
    )
    return zip_of(entries)


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "upload.zip"
    path.write_bytes(data)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_root=tmp_path / "data", upload_max_bytes=10_000_000, upload_max_files=100)


def test_extracts_only_images_into_uploads_and_summarizes(tmp_path: Path, settings: Settings) -> None:
    result = extract_dataset_zip(write(tmp_path, image_folder_zip(tmp_path)), settings, "pets.zip")
    uploads = (settings.data_root / "uploads").resolve()
    assert result.path.parent == uploads and result.relative_path == f"uploads/{result.path.name}"
    assert result.summary.classes == ["cat", "dog"] and result.summary.counts == {"cat": 3, "dog": 3}
    assert result.images == 6 and result.dropped == 3
    kept = sorted(p.name for p in result.path.rglob("*") if p.is_file())
    assert len(kept) == 6 and all(name.endswith(".png") and not name.startswith(".") for name in kept)
    assert [p.name for p in uploads.iterdir()] == [result.path.name]  # no staging left behind


@pytest.mark.parametrize(
    "bad_name", ["../evil.png", "cat/../../evil.png", "/abs/evil.png", "C:/evil.png", "..\\evil.png"]
)
def test_a_path_escaping_member_refuses_the_whole_zip(
    tmp_path: Path, settings: Settings, bad_name: str
) -> None:
    data = zip_of({"cat/1.png": b"1", "dog/1.png": b"2", bad_name: b"x"})
    with pytest.raises(UploadError, match="outside") as error:
        extract_dataset_zip(write(tmp_path, data), settings, "evil.zip")
    assert "Nothing was extracted" in error.value.message
    assert not (tmp_path / "evil.png").exists() and not (settings.data_root / "uploads" / "cat").exists()
    assert list((settings.data_root / "uploads").iterdir()) == []


def test_symlink_members_are_refused(tmp_path: Path, settings: Settings) -> None:
    data = zip_of({"cat/1.png": b"1", "dog/1.png": b"2"}, symlinks={"cat/link.png": "/etc/passwd"})
    with pytest.raises(UploadError, match="symbolic link"):
        extract_dataset_zip(write(tmp_path, data), settings, "links.zip")


def test_file_count_and_declared_size_limits(tmp_path: Path) -> None:
    entries = {f"{c}/{i}.png": b"x" * 100 for c in ("cat", "dog") for i in range(5)}
    few_files = Settings(data_root=tmp_path / "a", upload_max_files=9)
    with pytest.raises(UploadError, match="10 files; the limit is 9"):
        extract_dataset_zip(write(tmp_path, zip_of(entries)), few_files, "many.zip")
    small = Settings(data_root=tmp_path / "b", upload_max_bytes=999)
    with pytest.raises(UploadError, match="would unpack to 1000 bytes"):
        extract_dataset_zip(write(tmp_path, zip_of(entries)), small, "big.zip")


def test_a_zip_bomb_lying_about_its_sizes_is_stopped_while_extracting(tmp_path: Path) -> None:
    data = bytearray(zip_of({"cat/1.png": b"\0" * 50_000, "dog/1.png": b"\0" * 50_000}))
    # shrink the declared uncompressed sizes in the central directory to 10 bytes each
    offset = 0
    while (offset := data.find(b"PK\x01\x02", offset)) != -1:
        data[offset + 24 : offset + 28] = (10).to_bytes(4, "little")
        offset += 4
    settings = Settings(data_root=tmp_path / "data", upload_max_bytes=60_000)
    with pytest.raises(UploadError, match="is damaged"):
        extract_dataset_zip(write(tmp_path, bytes(data)), settings, "bomb.zip")
    assert list((settings.data_root / "uploads").iterdir()) == []


def test_not_a_zip_and_not_an_image_folder(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(UploadError, match=r"not a readable \.zip"):
        extract_dataset_zip(write(tmp_path, b"<html>login</html>"), settings, "page.zip")
    with pytest.raises(UploadError, match="no image files"):
        extract_dataset_zip(write(tmp_path, zip_of({"a.txt": b"x"})), settings, "text.zip")
    with pytest.raises(UploadError, match="one folder per class"):
        extract_dataset_zip(
            write(tmp_path, zip_of({"only/1.png": b"x", "only/2.png": b"y"})), settings, "one.zip"
        )


def test_a_member_that_cannot_be_written_refuses_the_zip(tmp_path: Path, settings: Settings) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cat/1.png", b"png")
        archive.writestr("cat/1.png/2.png", b"png")  # needs `cat/1.png` to be a folder too
    zip_path = tmp_path / "clash.zip"
    zip_path.write_bytes(buffer.getvalue())
    with pytest.raises(UploadError, match=r"could not be unpacked: `cat/1\.png/2\.png`"):
        extract_dataset_zip(zip_path, settings, "clash.zip")
    assert list((settings.data_root / "uploads").iterdir()) == []


def test_a_failed_download_is_an_upload_error(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once the socket is closed
    file = {"name": "pets.zip", "size": 10, "url_private_download": f"http://127.0.0.1:{port}/pets.zip"}
    client = WebClient(token="xoxb-test", base_url=f"http://127.0.0.1:{port}/api/")
    with pytest.raises(UploadError, match=r"Downloading `pets\.zip` from Slack failed"):
        download_shared_file(client, file, tmp_path / "upload.zip", max_bytes=1000)


# --- bad zips by family: each is refused with its own reason, in both languages, leaving nothing behind ---


def patch_headers(data: bytes, *, local: tuple[int, bytes], central: tuple[int, bytes]) -> bytes:
    """Overwrite a field in every local header (PK\\3\\4) and central directory entry (PK\\1\\2)."""
    patched = bytearray(data)
    for signature, (offset, value) in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        start = 0
        while (start := patched.find(signature, start)) != -1:
            patched[start + offset : start + offset + len(value)] = value
            start += 4
    return bytes(patched)


def pets_zip(tmp_path: Path, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    source = make_image_folder(tmp_path / "src", classes=("cat", "dog"), per_class=2)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for path in sorted(source.rglob("*.png")):
            archive.writestr(path.relative_to(source).as_posix(), path.read_bytes())
    return buffer.getvalue()


def encrypted(data: bytes) -> bytes:  # the "encrypted" flag bit, as a password-protected zip has it
    return patch_headers(data, local=(6, b"\x01\x00"), central=(8, b"\x01\x00"))


def method(number: int) -> Callable[[bytes], bytes]:
    code = number.to_bytes(2, "little")
    return lambda data: patch_headers(data, local=(8, code), central=(10, code))


def crc_flipped(data: bytes) -> bytes:
    return patch_headers(data, local=(14, b"\xde\xad\xbe\xef"), central=(16, b"\xde\xad\xbe\xef"))


def garbage_stream(data: bytes) -> bytes:  # the first member's compressed bytes overwritten
    start = data.find(b"PK\x03\x04") + 30 + int.from_bytes(data[26:28], "little")
    return data[:start] + b"\xff" * 40 + data[start + 40 :]


BAD_ZIPS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "password-protected": (encrypted, "encrypted"),
    "Deflate64": (method(9), "compression"),
    "IBM TERSE": (method(18), "compression"),
    "unknown method": (method(99), "compression"),
    "CRC mismatch": (crc_flipped, "damaged"),
    "corrupt stream": (garbage_stream, "damaged"),
    "truncated to half": (lambda data: data[: len(data) // 2], "not_zip"),
    "central directory cut": (lambda data: data[:-30], "not_zip"),
    "empty file": (lambda data: b"", "not_zip"),
    "no end of archive": (lambda data: data[: data.find(b"PK\x01\x02")], "not_zip"),
}


@pytest.mark.parametrize("case", list(BAD_ZIPS))
def test_each_kind_of_broken_zip_is_refused_cleanly(tmp_path: Path, settings: Settings, case: str) -> None:
    damage, code = BAD_ZIPS[case]
    with pytest.raises(UploadError) as caught:
        extract_dataset_zip(write(tmp_path, damage(pets_zip(tmp_path))), settings, "pets.zip")
    assert caught.value.code == code
    for language in ("en", "ko"):
        assert "`pets.zip`" in caught.value.words(language)
    assert list((settings.data_root / "uploads").iterdir()) == []


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_other_standard_compressions_are_unpacked(
    tmp_path: Path, settings: Settings, compression: int
) -> None:
    result = extract_dataset_zip(write(tmp_path, pets_zip(tmp_path, compression)), settings, "pets.zip")
    assert result.summary.counts == {"cat": 2, "dog": 2}


@pytest.mark.parametrize(
    "name", ["x" * 4000 + ".zip", "<!channel> data.zip", "a`b`c.zip", "line\nbreak.zip", "\x00\x1b[31m.zip"]
)
def test_echoed_names_are_one_short_line_without_code_breaking_characters(
    tmp_path: Path, settings: Settings, name: str
) -> None:
    member = "cat/" + "m" * 4000 + "/../../evil.png"
    with pytest.raises(UploadError) as caught:
        extract_dataset_zip(write(tmp_path, zip_of({member: b"x"})), settings, name)
    for language in ("en", "ko"):
        text = caught.value.words(language)
        assert len(text) < 400 and "\n" not in text and "\x00" not in text and "\x1b" not in text
        assert text.count("`") == 4  # the name's and the member's code spans stay closed
    shown = shown_name(name)
    assert len(shown) <= SHOWN_NAME_MAX and shown.endswith(".zip")  # a cut keeps both ends


# --- the per-person quota (UPLOAD_QUOTA_BYTES): every kept upload counts until it is removed ---


def test_each_persons_kept_uploads_count_against_their_quota(tmp_path: Path) -> None:
    settings = Settings(data_root=tmp_path / "data", upload_quota_bytes=1500)
    entries = {f"{c}/{i}.png": b"x" * 100 for c in ("cat", "dog") for i in range(5)}  # 1000 bytes
    first = extract_dataset_zip(write(tmp_path, zip_of(entries)), settings, "pets.zip", owner="U1")
    with pytest.raises(UploadError) as refused:
        extract_dataset_zip(write(tmp_path, zip_of(entries)), settings, "more.zip", owner="U1")
    assert refused.value.message == (
        "`more.zip` would unpack to 1000 bytes, and your uploads already take 1000 bytes of your 1.5 KB "
        "quota. Nothing was extracted; an admin can remove your older uploads under `uploads/`."
    )
    assert "할당량 1.5 KB 중 1000 bytes" in refused.value.words("ko")
    assert {p.name for p in (settings.data_root / "uploads").iterdir()} == {first.path.name, ".owners"}
    extract_dataset_zip(write(tmp_path, zip_of(entries)), settings, "theirs.zip", owner="U2")  # U2's own
    shutil.rmtree(first.path)  # an admin removed it: it no longer counts
    extract_dataset_zip(write(tmp_path, zip_of(entries)), settings, "again.zip", owner="U1")
    small = {"cat/1.png": b"x" * 250, "dog/1.png": b"x" * 250}
    extract_dataset_zip(write(tmp_path, zip_of(small)), settings, "small.zip", owner="U1")  # all 1500 bytes
    with pytest.raises(UploadError, match=r"already take 1\.5 KB of your 1\.5 KB quota, so `tiny\.zip`"):
        extract_dataset_zip(write(tmp_path, zip_of(small)), settings, "tiny.zip", owner="U1")


def test_no_quota_when_it_is_0(tmp_path: Path) -> None:
    settings = Settings(data_root=tmp_path / "data", upload_quota_bytes=0, upload_max_bytes=999)
    entries = {f"{c}/{i}.png": b"x" * 100 for c in ("cat", "dog") for i in range(5)}
    with pytest.raises(UploadError, match="would unpack to 1000 bytes; the limit is 999 bytes"):
        extract_dataset_zip(write(tmp_path, zip_of(entries)), settings, "big.zip", owner="U1")
