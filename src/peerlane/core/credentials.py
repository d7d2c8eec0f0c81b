"""Signed, expiring session tokens (HMAC-SHA256 over a small JSON claim set).

A token is ``v1.<claims>.<signature>``, both parts base64url without padding. The claims
name the room, the participant and the server-side session; identity always comes from a
verified token, never from an id the client supplies. The token's own expiry is the
session's longest life (``session_max_age``); the session row decides whether it is
still live (idle expiry, sign-out, removal). Tokens issued before sessions existed name
no session and are refused: their holders join again. Time is passed in, so this module
reads no clock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from peerlane.core import base64url
from peerlane.errors import AuthError, ErrorCode

_PREFIX = "v1"


@dataclass(frozen=True, slots=True)
class Claims:
    room_id: str
    participant_id: str
    expires_at: int  # seconds since the epoch
    session_id: str = ""  # the sessions row; "" in a token from before sessions


def new_secret() -> str:
    """A fresh server secret: 32 random bytes, base64url."""
    return base64url.encode(secrets.token_bytes(32))


def _sign(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, f"{_PREFIX}.{payload}".encode(), hashlib.sha256).digest()
    return base64url.encode(digest)


def issue(secret: bytes, claims: Claims) -> str:
    payload = base64url.encode(
        json.dumps(
            {
                "r": claims.room_id,
                "p": claims.participant_id,
                "s": claims.session_id,
                "e": claims.expires_at,
            },
            separators=(",", ":"),
        ).encode()
    )
    return f"{_PREFIX}.{payload}.{_sign(secret, payload)}"


def verify(secret: bytes, token: str, *, now: float) -> Claims:
    """Return the token's claims, or raise :class:`AuthError` (never anything else)."""
    parts = token.split(".")
    # Non-ASCII text would make compare_digest raise TypeError instead of failing.
    if len(parts) != 3 or parts[0] != _PREFIX or len(token) > 1024 or not token.isascii():
        raise AuthError(ErrorCode.UNAUTHORIZED)
    _, payload, signature = parts
    if not hmac.compare_digest(_sign(secret, payload), signature):
        raise AuthError(ErrorCode.UNAUTHORIZED)
    try:
        raw = json.loads(base64url.decode(payload))
        claims = Claims(
            room_id=str(raw["r"]),
            participant_id=str(raw["p"]),
            expires_at=int(raw["e"]),
            session_id=str(raw.get("s", "")),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthError(ErrorCode.UNAUTHORIZED) from exc
    if claims.expires_at <= now:
        raise AuthError(ErrorCode.TOKEN_EXPIRED)
    return claims
