"""Names, served content types, Content-Disposition, byte ranges and the download plan
(files/names.py, files/ranges.py, files/downloads.py): plain functions."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peerlane.errors import ErrorCode, ProtocolError
from peerlane.files.downloads import plan_download
from peerlane.files.names import (
    MAX_NAME_CHARS,
    content_disposition,
    declared_type,
    safe_name,
    served_type,
)
from peerlane.files.ranges import ByteRange, parse_range
from peerlane.files.records import StoredFile


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", ".._.._etc_passwd"),
        ("..\\..\\boot.ini", ".._.._boot.ini"),
        ("a\x00b\r\nc.txt", "abc.txt"),
        ("evil\u202egpj.exe", "evilgpj.exe"),  # right-to-left override
        ("  spaced  ", "spaced"),
        ("..", "file"),
        ("", "file"),
        (None, "file"),
        ("\x00\x01", "file"),
        ("Grüße 😀.txt", "Grüße 😀.txt"),
    ],
)
def test_safe_name(raw: str | None, clean: str) -> None:
    assert safe_name(raw) == clean


def test_long_names_are_cut() -> None:
    assert len(safe_name("x" * 5000)) == MAX_NAME_CHARS


@given(st.text(max_size=400))
def test_safe_name_never_has_separators_or_controls(raw: str) -> None:
    name = safe_name(raw)
    assert 0 < len(name) <= MAX_NAME_CHARS
    assert "/" not in name
    assert "\\" not in name
    assert all(ord(c) >= 0x20 and c != "\x7f" for c in name)
    assert name not in (".", "..")


@given(st.text(max_size=300))
def test_content_disposition_is_a_safe_header(raw: str) -> None:
    header = content_disposition(raw)
    assert header.isascii()
    assert "\r" not in header
    assert "\n" not in header
    assert "\x00" not in header
    assert header.startswith('attachment; filename="')
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert '"' not in fallback
    assert "\\" not in fallback
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == safe_name(raw)


def test_content_disposition_examples() -> None:
    assert content_disposition("a b.txt") == (
        "attachment; filename=\"a b.txt\"; filename*=UTF-8''a%20b.txt"
    )
    assert content_disposition('Grüße "x".txt') == (
        "attachment; filename=\"Gr__e _x_.txt\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%22x%22.txt"
    )


@pytest.mark.parametrize(
    ("declared", "served"),
    [
        ("image/png", "image/png"),
        ("IMAGE/JPEG; q=1", "image/jpeg"),
        ("video/mp4", "video/mp4"),
        ("application/pdf", "application/pdf"),
        ("text/plain", "text/plain; charset=utf-8"),
        ("text/html", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/javascript", "application/octet-stream"),
        ("text/javascript", "application/octet-stream"),
        ("text/xml", "application/octet-stream"),
        ("application/x-unknown", "application/octet-stream"),
        ("nonsense", "application/octet-stream"),
        ("text/plain\r\nX-Evil: 1", "application/octet-stream"),
    ],
)
def test_served_types(declared: str, served: str) -> None:
    assert served_type(declared) == served


def test_declared_type() -> None:
    assert declared_type(None) == "application/octet-stream"
    assert declared_type("Text/HTML; charset=x") == "text/html"


def rng(header: str | None, size: int = 1000) -> ByteRange | None:
    return parse_range(header, size)


def test_ranges() -> None:
    assert rng(None) is None
    assert rng("bytes=0-99") == ByteRange(0, 100)
    assert rng("bytes=500-") == ByteRange(500, 1000)
    assert rng("bytes=900-5000") == ByteRange(900, 1000)  # clipped to the end
    assert rng("bytes=-100") == ByteRange(900, 1000)
    assert rng("bytes=-5000") == ByteRange(0, 1000)
    assert rng("bytes=999-999") == ByteRange(999, 1000)
    assert rng("items=0-1") is None  # another unit: ignored
    assert rng("bytes=0-1,5-6") is None  # several ranges: the whole file
    assert ByteRange(900, 1000).content_range(1000) == "bytes 900-999/1000"


@pytest.mark.parametrize(
    "header", ["bytes=1000-", "bytes=5-2", "bytes=-0", "bytes=abc", "bytes=", "bytes=1-2-3"]
)
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(ProtocolError) as info:
        rng(header)
    assert info.value.code == ErrorCode.RANGE_NOT_SATISFIABLE


def test_no_range_of_an_empty_file() -> None:
    for header in ("bytes=0-", "bytes=-1"):
        with pytest.raises(ProtocolError):
            parse_range(header, 0)


FILE = StoredFile(
    id="f" * 22, room_id=None, share_id="s", sender_id=None, recipient_id=None,
    name="<b>x</b>.html", content_type="text/html", length=1000, offset=1000,
    status="complete", upload_metadata="", created_at=1.0, expires_at=None,
    root="ab" * 32, completed_at=2.0,
)  # fmt: skip


def test_plan_whole_file_counts_at_the_end() -> None:
    plan = plan_download(FILE, range_header=None, if_range=None, cacheable=False)
    assert (plan.status, plan.span, plan.count_at) == (200, ByteRange(0, 1000), "end")
    h = plan.headers
    assert h["Content-Type"] == "application/octet-stream"
    assert h["Content-Length"] == "1000"
    assert h["Accept-Ranges"] == "bytes"
    assert h["ETag"] == f'"{"ab" * 32}"'
    assert h["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in h["Content-Security-Policy"]
    assert h["Cache-Control"] == "no-store"


def test_plan_ranges_count_only_from_zero() -> None:
    first = plan_download(FILE, range_header="bytes=0-9", if_range=None, cacheable=True)
    assert (first.status, first.count_at) == (206, "start")
    assert first.headers["Content-Range"] == "bytes 0-9/1000"
    assert first.headers["Content-Length"] == "10"
    later = plan_download(FILE, range_header="bytes=10-", if_range=None, cacheable=True)
    assert (later.status, later.count_at) == (206, "never")


def test_if_range() -> None:
    tag = f'"{"ab" * 32}"'
    same = plan_download(FILE, range_header="bytes=10-", if_range=tag, cacheable=True)
    assert same.status == 206
    other = plan_download(FILE, range_header="bytes=10-", if_range='"other"', cacheable=True)
    assert (other.status, other.span) == (200, ByteRange(0, 1000))
    changed = replace(FILE, root="cd" * 32)
    stale = plan_download(changed, range_header="bytes=10-", if_range=tag, cacheable=True)
    assert stale.status == 200
