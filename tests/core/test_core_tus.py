"""core/tus.py: header parsing and the checks of the tus protocol, without HTTP."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peerlane.core import tus
from peerlane.core.tus import UploadState
from peerlane.errors import ErrorCode, PeerlaneError

NOW = 1_000_000.0


def code_of(call: Callable[[], object]) -> ErrorCode:
    with pytest.raises(PeerlaneError) as info:
        call()
    return info.value.code


def test_tus_resumable_required_except_for_options() -> None:
    tus.check_resumable("PATCH", "1.0.0")
    tus.check_resumable("OPTIONS", None)
    tus.check_resumable("OPTIONS", "0.2.2")
    for value in (None, "", "0.2.2", "1.0", "2.0.0"):
        assert code_of(lambda v=value: tus.check_resumable("HEAD", v)) == (
            ErrorCode.UNSUPPORTED_TUS_VERSION
        )


def test_method_override() -> None:
    assert tus.effective_method("POST", None) == "POST"
    assert tus.effective_method("POST", "patch") == "PATCH"
    assert tus.effective_method("POST", "DELETE") == "DELETE"
    assert code_of(lambda: tus.effective_method("POST", "BREW")) == ErrorCode.BAD_REQUEST


@pytest.mark.parametrize("value", [None, "", "-1", "+5", "1.0", "0x10", "1 2", "9" * 20])
def test_bad_integers(value: str | None) -> None:
    assert code_of(lambda: tus.parse_int(value, "Upload-Length")) == ErrorCode.BAD_REQUEST


def test_good_integers() -> None:
    assert tus.parse_int("0", "x") == 0
    assert tus.parse_int(" 42 ", "x") == 42
    assert tus.parse_int(str(2**63 - 1), "x") == 2**63 - 1


def test_metadata_parsing() -> None:
    b64 = base64.b64encode
    header = f"filename {b64(b'world_domination.pdf').decode()},is_confidential,empty "
    assert tus.parse_metadata(header) == {
        "filename": b"world_domination.pdf",
        "is_confidential": b"",
        "empty": b"",
    }
    assert tus.parse_metadata(None) == {}
    assert tus.parse_metadata("") == {}  # tuspy sends an empty header without metadata


@pytest.mark.parametrize(
    "header",
    [
        "name !!!notbase64",
        "name YQ==,name Yg==",  # repeated key
        "na me YQ==",
        "name YQ== extra",
        " ,",
        "n\u00e4me YQ==",  # keys are ASCII
        "x" * (tus.MAX_METADATA_CHARS + 1),
    ],
)
def test_bad_metadata(header: str) -> None:
    assert code_of(lambda: tus.parse_metadata(header)) == ErrorCode.INVALID_METADATA


@given(
    st.dictionaries(
        st.text(
            alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=","),
            min_size=1,
            max_size=10,
        ),
        st.binary(max_size=40),
        max_size=5,
    )
)
def test_metadata_round_trip(pairs: dict[str, bytes]) -> None:
    assert tus.parse_metadata(tus.encode_metadata(pairs)) == pairs


def test_metadata_text() -> None:
    pairs = {"name": "Grüße.txt".encode(), "bad": b"\xff\xfe", "long": b"x" * 10}
    assert tus.metadata_text(pairs, "name", max_chars=20) == "Grüße.txt"
    assert tus.metadata_text(pairs, "missing", max_chars=20) is None
    assert code_of(lambda: tus.metadata_text(pairs, "bad", max_chars=20)) == (
        ErrorCode.INVALID_METADATA
    )
    assert code_of(lambda: tus.metadata_text(pairs, "long", max_chars=5)) == (
        ErrorCode.INVALID_METADATA
    )


def test_checksum_header() -> None:
    assert tus.parse_checksum(None) is None
    parsed = tus.parse_checksum("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=")
    assert parsed is not None
    digest = parsed.new()
    digest.update(b"hello world")
    assert parsed.matches(digest.digest())
    assert code_of(lambda: tus.parse_checksum("md5 XUFAKrxLKna5cZ2REBfFkg==")) == (
        ErrorCode.UNSUPPORTED_CHECKSUM
    )
    assert code_of(lambda: tus.parse_checksum("sha1 notbase64!")) == ErrorCode.BAD_REQUEST
    assert code_of(lambda: tus.parse_checksum("sha256 Kq5sNclPz7QV2+lfQIuc6R7oRu0=")) == (
        ErrorCode.BAD_REQUEST  # a sha1-sized digest for sha256
    )


def test_http_date() -> None:
    assert tus.http_date(1403712000) == "Wed, 25 Jun 2014 16:00:00 GMT"


def test_max_size() -> None:
    tus.check_creation(100, 100)
    assert code_of(lambda: tus.check_creation(101, 100)) == ErrorCode.FILE_TOO_LARGE


STATE = UploadState(length=100, offset=30, expires_at=NOW + 60, status="uploading")
GOOD = {"content_type": "application/offset+octet-stream", "offset": "30", "content_length": 70}


def patch_code(state: UploadState = STATE, now: float = NOW, **changes: object) -> ErrorCode:
    args = {**GOOD, **changes}
    return code_of(lambda: tus.check_patch(state, now=now, **args))  # type: ignore[arg-type]


def test_patch_checks() -> None:
    assert tus.check_patch(STATE, now=NOW, **GOOD) == 30  # type: ignore[arg-type]
    assert patch_code(content_type="application/octet-stream") == ErrorCode.UNSUPPORTED_MEDIA_TYPE
    assert patch_code(content_type=None) == ErrorCode.UNSUPPORTED_MEDIA_TYPE
    assert patch_code(offset="29") == ErrorCode.OFFSET_MISMATCH
    assert patch_code(offset=None) == ErrorCode.BAD_REQUEST
    assert patch_code(content_length=71) == ErrorCode.UPLOAD_LENGTH_EXCEEDED
    assert patch_code(now=NOW + 60) == ErrorCode.UPLOAD_EXPIRED
    failed = UploadState(100, 30, NOW + 60, "failed")
    assert patch_code(state=failed) == ErrorCode.UPLOAD_FAILED


def test_patch_check_order() -> None:
    # Expiry before media type before offset: the most fundamental problem is reported.
    assert patch_code(now=NOW + 61, content_type="text/plain") == ErrorCode.UPLOAD_EXPIRED
    assert patch_code(content_type="text/plain", offset="0") == ErrorCode.UNSUPPORTED_MEDIA_TYPE


def test_content_type_parameters_are_ignored() -> None:
    tus.check_patch(
        STATE,
        now=NOW,
        **{**GOOD, "content_type": "Application/Offset+Octet-Stream; x=1"},  # type: ignore[arg-type]
    )


def test_response_headers() -> None:
    options = tus.options_headers(1024)
    assert options == {
        "Tus-Version": "1.0.0",
        "Tus-Extension": "creation,expiration,checksum,termination",
        "Tus-Max-Size": "1024",
        "Tus-Checksum-Algorithm": "sha1,sha256",
    }
    head = tus.head_headers(STATE, "name YQ==")
    assert head["Upload-Offset"] == "30"
    assert head["Upload-Length"] == "100"
    assert head["Cache-Control"] == "no-store"
    assert head["Upload-Metadata"] == "name YQ=="
    assert head["Upload-Expires"] == tus.http_date(NOW + 60)
    done = UploadState(100, 100, None, "complete")
    assert "Upload-Expires" not in tus.patch_headers(done)
    assert "Upload-Metadata" not in tus.head_headers(done, "")
