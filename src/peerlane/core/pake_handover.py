"""The room key as a member hands it to a joiner admitted by short code (docs/protocol.md,
"Short codes by PAKE", "The hand-over"): AES-GCM under the PAKE's ``handover_key``, bound
to the room and the joiner, so the server relaying it cannot open it, give it to someone
else or move the joiner into another room with it. Byte for byte the browser's
``web/e2e/pake-handover.js`` (both are checked against one vector)."""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from peerlane.core.e2e import (
    KEY_SIZE,
    NONCE_SIZE,
    AuthFailed,
    Malformed,
    RoomKey,
    UnsupportedVersion,
    _require_length,
    b64u_decode,
    b64u_encode,
    length_prefixed,
)

HANDOVER_VERSION = "h1"
HANDOVER_INFO = b"peerlane pake handover v1"


def handover_aad(room_id: str, joiner_id: str) -> bytes:
    return HANDOVER_INFO + length_prefixed(room_id) + length_prefixed(joiner_id)


def seal_handover(
    handover_key: bytes, key: RoomKey, nonce: bytes, *, room_id: str, joiner_id: str
) -> str:
    """``h1.<nonce>.<AES-GCM(handover_key, nonce, K, aad)>``, base64url parts."""
    _require_length(handover_key, KEY_SIZE, "a hand-over key")
    _require_length(nonce, NONCE_SIZE, "a nonce")
    sealed = AESGCM(handover_key).encrypt(nonce, key.secret, handover_aad(room_id, joiner_id))
    return ".".join((HANDOVER_VERSION, b64u_encode(nonce), b64u_encode(sealed)))


def open_handover(
    handover_key: bytes, handover: object, *, room_id: str, joiner_id: str
) -> RoomKey:
    """The room key (epoch 0) a hand-over carries, or an ``E2EError``."""
    _require_length(handover_key, KEY_SIZE, "a hand-over key")
    parts = handover.split(".") if isinstance(handover, str) else []
    if len(parts) != 3:
        raise Malformed("not a hand-over")
    if parts[0] != HANDOVER_VERSION:
        raise UnsupportedVersion(f"hand-over version {parts[0]!r} is not {HANDOVER_VERSION!r}")
    nonce, sealed = b64u_decode(parts[1]), b64u_decode(parts[2])
    if len(nonce) != NONCE_SIZE:
        raise Malformed("a hand-over's nonce is 12 bytes")
    try:
        secret = AESGCM(handover_key).decrypt(nonce, sealed, handover_aad(room_id, joiner_id))
    except InvalidTag as exc:
        raise AuthFailed("not sealed for this joiner in this room under this key") from exc
    return RoomKey(secret)
