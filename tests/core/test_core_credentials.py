"""Signed session tokens: issue, verify, and every way verification fails."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peerlane.core import credentials
from peerlane.core.credentials import Claims, issue, new_secret, verify
from peerlane.errors import AuthError, ErrorCode

SECRET = b"s" * 32
CLAIMS = Claims(room_id="room-1", participant_id="part-1", expires_at=1_000, session_id="sess-1")


def rejected(token: str, secret: bytes = SECRET, now: float = 0.0) -> AuthError:
    with pytest.raises(AuthError) as info:
        verify(secret, token, now=now)
    return info.value


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_round_trip() -> None:
    token = issue(SECRET, CLAIMS)
    assert verify(SECRET, token, now=0.0) == CLAIMS
    assert verify(SECRET, token, now=999.9) == CLAIMS


def test_token_shape() -> None:
    token = issue(SECRET, CLAIMS)
    prefix, payload, signature = token.split(".")
    assert prefix == "v1"
    assert "=" not in token
    assert json.loads(base64.urlsafe_b64decode(payload + "==")) == {
        "r": "room-1",
        "p": "part-1",
        "s": "sess-1",
        "e": 1000,
    }
    assert len(signature) == 43  # 32 bytes of HMAC-SHA256, unpadded


def test_a_token_from_before_sessions_names_no_session() -> None:
    """Tokens issued before server-side sessions carry no "s"; they verify (the
    signature is good) with an empty session id, which authenticate refuses."""
    payload = b64(json.dumps({"r": "room-1", "p": "part-1", "e": 1000}).encode())
    signature = b64(hmac.new(SECRET, f"v1.{payload}".encode(), hashlib.sha256).digest())
    assert verify(SECRET, f"v1.{payload}.{signature}", now=0.0).session_id == ""


@pytest.mark.parametrize("now", [1_000, 1_000.5, 10**9])
def test_expired(now: float) -> None:
    err = rejected(issue(SECRET, CLAIMS), now=now)
    assert err.code is ErrorCode.TOKEN_EXPIRED
    assert err.http_status == 401


def test_other_secret() -> None:
    assert rejected(issue(SECRET, CLAIMS), secret=b"t" * 32).code is ErrorCode.UNAUTHORIZED


def test_tampered_payload() -> None:
    _, _, signature = issue(SECRET, CLAIMS).split(".")
    forged = b64(json.dumps({"r": "room-1", "p": "owner", "e": 1000}).encode())
    assert rejected(f"v1.{forged}.{signature}").code is ErrorCode.UNAUTHORIZED


def test_tampered_expiry_is_unauthorized_not_just_expired() -> None:
    _, _, signature = issue(SECRET, CLAIMS).split(".")
    forged = b64(json.dumps({"r": "room-1", "p": "part-1", "e": 10**12}).encode())
    assert rejected(f"v1.{forged}.{signature}", now=10**6).code is ErrorCode.UNAUTHORIZED


@pytest.mark.parametrize("position", [0, 20, 42])
def test_tampered_signature(position: int) -> None:
    head, _, signature = issue(SECRET, CLAIMS).rpartition(".")
    flipped = "A" if signature[position] != "A" else "B"
    signature = signature[:position] + flipped + signature[position + 1 :]
    assert rejected(f"{head}.{signature}").code is ErrorCode.UNAUTHORIZED


@pytest.mark.parametrize(
    "token",
    ["", "v1", "v1..", "v2.a.b", "v1.a.b.c", "garbage", "v1.é.x", "v1.a.\ud800", "x" * 2000],
)
def test_malformed(token: str) -> None:
    assert rejected(token).code is ErrorCode.UNAUTHORIZED


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1, 2]",
        b'"text"',
        b'{"r": "a", "p": "b"}',
        b'{"r": "a", "p": "b", "e": "x"}',
        b"\xff",
    ],
)
def test_signed_but_malformed_claims(payload: bytes) -> None:
    # Only the server can sign; still, a bad claim set must fail cleanly.
    encoded = b64(payload)
    token = f"v1.{encoded}.{credentials._sign(SECRET, encoded)}"
    assert rejected(token).code is ErrorCode.UNAUTHORIZED


def test_new_secret() -> None:
    one, two = new_secret(), new_secret()
    assert one != two
    assert len(base64.urlsafe_b64decode(one + "=")) == 32


any_char = st.characters() | st.characters(categories=["Cs"])


@settings(deadline=None)
@given(st.text(any_char) | st.text(alphabet="v1.abcXYZ_-=", max_size=80))
def test_garbage_raises_only_auth_error(token: str) -> None:
    with pytest.raises(AuthError):
        verify(SECRET, token, now=0.0)


@settings(deadline=None)
@given(st.text(any_char, max_size=60), st.text(any_char, max_size=60))
def test_garbage_with_the_right_shape_raises_only_auth_error(payload: str, signature: str) -> None:
    with pytest.raises(AuthError) as info:
        verify(SECRET, f"v1.{payload}.{signature}", now=0.0)
    assert info.value.code is ErrorCode.UNAUTHORIZED


@settings(deadline=None)
@given(
    st.text(min_size=1, max_size=40),
    st.text(min_size=1, max_size=40),
    st.integers(1, 2**40),
    st.binary(min_size=1, max_size=64),
)
def test_round_trip_property(room: str, participant: str, expires: int, secret: bytes) -> None:
    claims = Claims(room_id=room, participant_id=participant, expires_at=expires)
    assert verify(secret, issue(secret, claims), now=expires - 1) == claims
