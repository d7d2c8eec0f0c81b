"""The tus 1.0.0 resumable upload protocol, sans-I/O: header parsing and the checks a
request must pass, with no HTTP framework, clock or file in sight.

Supported: the core protocol (HEAD, PATCH, OPTIONS, ``X-HTTP-Method-Override``) and the
``creation``, ``expiration``, ``checksum`` (sha1, sha256) and ``termination``
extensions. Not supported: ``creation-with-upload``, ``creation-defer-length``,
``concatenation``, ``checksum-trailer`` (clients detect this from ``Tus-Extension``).

Every check raises a :class:`~peerlane.errors.PeerlaneError` whose code maps to the
status the protocol asks for (412, 415, 409, 410, 413, 460, 400); the driver adds the
``Tus-Resumable`` header to every response, errors included.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Literal

from peerlane.errors import ErrorCode, GoneError, LimitError, ProtocolError

TUS_VERSION = "1.0.0"
EXTENSIONS = ("creation", "expiration", "checksum", "termination")
CHECKSUM_ALGORITHMS = ("sha1", "sha256")
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# Upload-Metadata is echoed back on HEAD, so it is bounded like any header.
MAX_METADATA_CHARS = 8192
_MAX_INT = 2**63 - 1
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_KEY = re.compile(r"^[!-~]+$")  # visible ASCII; commas and spaces are excluded below
_OVERRIDABLE = {"PATCH", "DELETE", "HEAD", "GET", "POST", "OPTIONS"}

UploadStatus = Literal["uploading", "complete", "failed"]


@dataclass(frozen=True, slots=True)
class UploadState:
    """What the protocol needs to know about an upload to judge a request."""

    length: int
    offset: int
    expires_at: float | None  # None once complete: finished uploads do not expire
    status: UploadStatus

    @property
    def remaining(self) -> int:
        return self.length - self.offset


@dataclass(frozen=True, slots=True)
class Checksum:
    """A parsed ``Upload-Checksum``: the algorithm and the digest the body must have."""

    algorithm: str
    digest: bytes

    def new(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)

    def matches(self, computed: bytes) -> bool:
        return computed == self.digest


def check_resumable(method: str, value: str | None) -> None:
    """Every request but OPTIONS must say ``Tus-Resumable: 1.0.0`` (else 412, and the
    request must not be processed)."""
    if method == "OPTIONS":
        return
    if value is None or value.strip() != TUS_VERSION:
        raise ProtocolError(ErrorCode.UNSUPPORTED_TUS_VERSION)


def effective_method(method: str, override: str | None) -> str:
    """The method to act on: ``X-HTTP-Method-Override`` wins when present (for clients
    that cannot send PATCH or DELETE)."""
    if override is None:
        return method
    wanted = override.strip().upper()
    if wanted not in _OVERRIDABLE:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "X-HTTP-Method-Override names no method.")
    return wanted


def parse_int(value: str | None, header: str) -> int:
    """A non-negative decimal integer header (no sign, no spaces inside); 400 otherwise."""
    text = (value or "").strip()
    if not _DIGITS.fullmatch(text) or int(text) > _MAX_INT:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"{header} must be a non-negative integer.")
    return int(text)


def parse_metadata(value: str | None) -> dict[str, bytes]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (the value and its
    space may be left out). Keys are unique, non-empty visible ASCII; values are bytes
    (empty when left out). Anything else is 400 ``invalid_metadata``."""
    if value is None or not value.strip():
        return {}
    if len(value) > MAX_METADATA_CHARS:
        raise ProtocolError(ErrorCode.INVALID_METADATA, "Upload-Metadata is too long.")
    pairs: dict[str, bytes] = {}
    for item in value.split(","):
        parts = item.strip().split(" ")
        if len(parts) > 2 or not _KEY.fullmatch(parts[0]):
            raise ProtocolError(ErrorCode.INVALID_METADATA, "Upload-Metadata is malformed.")
        key = parts[0]
        if key in pairs:
            raise ProtocolError(ErrorCode.INVALID_METADATA, f"Metadata key {key!r} is repeated.")
        try:
            pairs[key] = base64.b64decode(parts[1], validate=True) if len(parts) == 2 else b""
        except (binascii.Error, ValueError):
            raise ProtocolError(
                ErrorCode.INVALID_METADATA, f"Metadata {key!r} is not valid base64."
            ) from None
    return pairs


def encode_metadata(pairs: Mapping[str, bytes | str]) -> str:
    """The ``Upload-Metadata`` header for ``pairs`` (the inverse of :func:`parse_metadata`)."""
    items = []
    for key, raw in pairs.items():
        data = raw.encode() if isinstance(raw, str) else raw
        items.append(f"{key} {base64.b64encode(data).decode('ascii')}" if data else key)
    return ",".join(items)


def metadata_text(pairs: Mapping[str, bytes], key: str, *, max_chars: int) -> str | None:
    """A metadata value as text: UTF-8, at most ``max_chars`` characters; absent → None."""
    raw = pairs.get(key)
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(ErrorCode.INVALID_METADATA, f"Metadata {key!r} is not UTF-8.") from None
    if len(text) > max_chars:
        raise ProtocolError(
            ErrorCode.INVALID_METADATA, f"Metadata {key!r} is longer than {max_chars} characters."
        )
    return text


def parse_checksum(value: str | None) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; an unknown algorithm is 400
    ``unsupported_checksum`` (checked before any byte of the body is read)."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise ProtocolError(ErrorCode.UNSUPPORTED_CHECKSUM)
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "Upload-Checksum is not a valid digest.")
    return Checksum(algorithm, digest)


def http_date(timestamp: float) -> str:
    """An RFC 9110 IMF-fixdate, e.g. ``Wed, 25 Jun 2014 16:00:00 GMT``."""
    return formatdate(timestamp, usegmt=True)


def check_creation(length: int, max_size: int) -> None:
    """An upload longer than ``Tus-Max-Size`` is refused at creation (413)."""
    if length > max_size:
        raise LimitError(
            ErrorCode.FILE_TOO_LARGE,
            f"The file is larger than the server accepts ({max_size} bytes).",
        )


def check_live(state: UploadState, now: float) -> None:
    """An upload that failed or expired cannot be used any more (410)."""
    if state.status == "failed":
        raise GoneError(ErrorCode.UPLOAD_FAILED)
    if state.status == "uploading" and state.expires_at is not None and state.expires_at <= now:
        raise GoneError(ErrorCode.UPLOAD_EXPIRED)


def check_patch(
    state: UploadState,
    *,
    content_type: str | None,
    offset: str | None,
    content_length: int | None,
    now: float,
) -> int:
    """Judge a PATCH before its body is read; return the offset it writes at.

    In order: failed or expired (410), ``Content-Type`` (415), ``Upload-Offset`` not a
    number (400) or not the upload's offset (409), a declared body longer than what is
    left of the upload (413).
    """
    check_live(state, now)
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != OFFSET_CONTENT_TYPE:
        raise ProtocolError(ErrorCode.UNSUPPORTED_MEDIA_TYPE)
    at = parse_int(offset, "Upload-Offset")
    if at != state.offset:
        raise ProtocolError(
            ErrorCode.OFFSET_MISMATCH,
            f"The upload is at offset {state.offset}, not {at}; continue from there.",
        )
    if content_length is not None and content_length > state.remaining:
        raise LimitError(ErrorCode.UPLOAD_LENGTH_EXCEEDED)
    return at


def options_headers(max_size: int) -> dict[str, str]:
    """The capabilities an OPTIONS request reports."""
    return {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": ",".join(EXTENSIONS),
        "Tus-Max-Size": str(max_size),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    }


def expiry_headers(state: UploadState) -> dict[str, str]:
    """``Upload-Expires`` while the upload can still expire; nothing once complete."""
    if state.status == "uploading" and state.expires_at is not None:
        return {"Upload-Expires": http_date(state.expires_at)}
    return {}


def head_headers(state: UploadState, metadata: str | None) -> dict[str, str]:
    """The answer to HEAD: offset and length, never cached, metadata as it was given."""
    headers = {
        "Upload-Offset": str(state.offset),
        "Upload-Length": str(state.length),
        "Cache-Control": "no-store",
        **expiry_headers(state),
    }
    if metadata:
        headers["Upload-Metadata"] = metadata
    return headers


def patch_headers(state: UploadState) -> dict[str, str]:
    """The answer to a successful PATCH: the new offset (and the expiry, if any)."""
    return {"Upload-Offset": str(state.offset), **expiry_headers(state)}
