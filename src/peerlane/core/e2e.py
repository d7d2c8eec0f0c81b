"""End-to-end encryption, the scheme shared by the browser and the CLI (sans-I/O).

``docs/protocol.md`` ("End-to-end encryption") is the normative text; this module and
``web/e2e/*.js`` implement it, and ``tests/vectors/e2e.json`` (``scripts/e2e-vectors``)
pins both to the same bytes. Nothing here draws randomness: every nonce, key and
ephemeral key comes in from the caller (``os.urandom`` in a driver, fixed bytes in
tests), so every output is a pure function of the inputs.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import JsonValue

from peerlane.core import base64url

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
KID_SIZE = 8
PUBLIC_KEY_SIZE = 32
MAX_EPOCH = 2**32 - 1

ENVELOPE_VERSION = "e2e1"
WRAP_VERSION = "w1"
# Any scheme version, ours or a later one: "e2e<digits>" / "w<digits>".
_ENVELOPE_PREFIX = re.compile(r"^e2e[0-9]+$")
_WRAP_PREFIX = re.compile(r"^w[0-9]+$")

INFO_KEY_ID = "peerlane e2e v1 key id"
INFO_CHAT = "peerlane e2e v1 chat"
INFO_ROOM_NAME = "peerlane e2e v1 room name"
INFO_WRAP = "peerlane e2e v1 wrap"
SAFETY_LABEL = b"peerlane e2e v1 safety"
SAFETY_GROUPS = 6


class E2EError(Exception):
    """A value that cannot be sealed or opened; ``code`` says why (docs/protocol.md)."""

    code = "e2e_error"


class Malformed(E2EError):
    code = "malformed"


class UnsupportedVersion(E2EError):
    code = "unsupported_version"


class WrongKey(E2EError):
    code = "wrong_key"


class AuthFailed(E2EError):
    code = "auth_failed"


class BadKey(E2EError):
    code = "bad_key"


b64u_encode = base64url.encode


def b64u_decode(text: str) -> bytes:
    """Strict base64url without padding: the one spelling ``b64u_encode`` gives."""
    try:
        return base64url.decode(text)
    except ValueError as exc:
        raise Malformed(str(exc)) from None


def hkdf(ikm: bytes, info: str | bytes, length: int = KEY_SIZE) -> bytes:
    """HKDF-SHA256 with an empty salt (RFC 5869: a string of zeros)."""
    label = info.encode("ascii") if isinstance(info, str) else info
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(ikm)


def length_prefixed(text: str) -> bytes:
    data = text.encode("utf-8")
    return len(data).to_bytes(4, "big") + data


def _require_length(value: bytes, size: int, what: str) -> bytes:
    if len(value) != size:
        raise BadKey(f"{what} must be {size} bytes")
    return value


@dataclass(frozen=True)
class RoomKey:
    """One epoch's room key: 32 random bytes from the caller and the epoch number."""

    secret: bytes
    epoch: int = 0

    def __post_init__(self) -> None:
        _require_length(self.secret, KEY_SIZE, "a room key")
        if not 0 <= self.epoch <= MAX_EPOCH:
            raise BadKey("a key epoch is 0 to 2**32 - 1")

    @cached_property
    def kid(self) -> str:
        """The key id every envelope sealed with this key carries (11 characters)."""
        return b64u_encode(hkdf(self.secret, INFO_KEY_ID, KID_SIZE))

    @cached_property
    def chat_key(self) -> bytes:
        return hkdf(self.secret, INFO_CHAT)

    @cached_property
    def name_key(self) -> bytes:
        return hkdf(self.secret, INFO_ROOM_NAME)

    def encoded(self) -> str:
        """The key as it rides in an invite fragment (43 characters)."""
        return b64u_encode(self.secret)

    @classmethod
    def decode(cls, text: str, epoch: int = 0) -> RoomKey:
        try:
            return cls(b64u_decode(text), epoch)
        except Malformed as exc:
            raise BadKey("a room key is 43 base64url characters") from exc


# ------------------------------------------------------------------- envelopes ----


def chat_aad(room_id: str, sender: str, content_id: str) -> bytes:
    """What a chat body is bound to: the room, the sender's participant id and the id of
    the message whose content it is (an edit's: the edited message's id)."""
    return (
        INFO_CHAT.encode()
        + length_prefixed(room_id)
        + length_prefixed(sender)
        + length_prefixed(content_id)
    )


ROOM_NAME_AAD = INFO_ROOM_NAME.encode()


def seal(subkey: bytes, kid: str, nonce: bytes, plaintext: bytes, aad: bytes) -> str:
    """The envelope ``e2e1.<kid>.<nonce>.<ciphertext>`` (docs/protocol.md)."""
    _require_length(nonce, NONCE_SIZE, "a nonce")
    sealed = AESGCM(subkey).encrypt(nonce, plaintext, aad)
    return ".".join((ENVELOPE_VERSION, kid, b64u_encode(nonce), b64u_encode(sealed)))


@dataclass(frozen=True)
class Envelope:
    kid: str
    nonce: bytes
    sealed: bytes  # ciphertext with the tag appended

    @classmethod
    def parse(cls, value: object) -> Envelope:
        if not isinstance(value, str):
            raise Malformed("an envelope is a string")
        parts = value.split(".")
        if not _ENVELOPE_PREFIX.fullmatch(parts[0]):
            raise Malformed("not an end-to-end envelope")
        if parts[0] != ENVELOPE_VERSION:
            raise UnsupportedVersion(f"envelope version {parts[0]!r} is not {ENVELOPE_VERSION!r}")
        if len(parts) != 4:
            raise Malformed("an envelope has four parts")
        kid = b64u_decode(parts[1])
        nonce = b64u_decode(parts[2])
        sealed = b64u_decode(parts[3])
        if len(kid) != KID_SIZE or len(nonce) != NONCE_SIZE or len(sealed) < TAG_SIZE:
            raise Malformed("an envelope part has the wrong length")
        return cls(parts[1], nonce, sealed)

    def open(self, key: RoomKey, subkey: bytes, aad: bytes) -> bytes:
        if self.kid != key.kid:
            raise WrongKey("sealed with another key than the one given")
        try:
            return AESGCM(subkey).decrypt(self.nonce, self.sealed, aad)
        except InvalidTag as exc:
            raise AuthFailed("tampered, or not for this room, sender or message") from exc


# What the server takes as an encrypted room's name: a whole envelope, longer than the 80
# characters of a clear name (80 characters of 4-byte UTF-8 sealed are 482).
MAX_SEALED_NAME = 600
_SEALED_NAME = re.compile(r"^e2e1\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,}$")


def is_sealed_name(text: str) -> bool:
    """True for a room name that is an envelope (the server cannot open it)."""
    return len(text) <= MAX_SEALED_NAME and _SEALED_NAME.fullmatch(text) is not None


def is_envelope(value: object) -> bool:
    """True for a value that claims to be sealed (any version): never show it as text."""
    return isinstance(value, str) and _ENVELOPE_PREFIX.fullmatch(value.split(".")[0]) is not None


def envelope_kid(value: object) -> str:
    """The key id of an envelope, to pick the epoch's key from a device's keys."""
    return Envelope.parse(value).kid


def body_plaintext(body: JsonValue) -> bytes:
    """The bytes a chat body seals: its compact JSON, UTF-8 (as ``JSON.stringify``)."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (JSON allows "\ud800") has no UTF-8: escape it as JSON does,
        # which opens to the same value (JSON.stringify escapes only those, too).
        return json.dumps(body, separators=(",", ":")).encode("ascii")


def seal_chat_body(
    key: RoomKey, nonce: bytes, body: JsonValue, *, room_id: str, sender: str, content_id: str
) -> str:
    aad = chat_aad(room_id, sender, content_id)
    return seal(key.chat_key, key.kid, nonce, body_plaintext(body), aad)


def open_chat_body(
    key: RoomKey, envelope: object, *, room_id: str, sender: str, content_id: str
) -> JsonValue:
    plaintext = Envelope.parse(envelope).open(
        key, key.chat_key, chat_aad(room_id, sender, content_id)
    )
    try:
        body: JsonValue = json.loads(plaintext.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise Malformed("the sealed body is not UTF-8 JSON") from exc
    return body


def seal_room_name(key: RoomKey, nonce: bytes, name: str) -> str:
    return seal(key.name_key, key.kid, nonce, name.encode("utf-8"), ROOM_NAME_AAD)


def open_room_name(key: RoomKey, envelope: object) -> str:
    plaintext = Envelope.parse(envelope).open(key, key.name_key, ROOM_NAME_AAD)
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed("the sealed name is not UTF-8") from exc


# ------------------------------------------------------------- invite fragment ----


def invite_fragment(token: str, key: RoomKey | None) -> str:
    """What follows ``#`` in an invite link: the token, and the room key if encrypted."""
    return token if key is None else f"{token}.{key.encoded()}"


def parse_invite_fragment(fragment: str) -> tuple[str, RoomKey | None]:
    """``(token, key)`` from a link's fragment (with or without the ``#``); ``key`` is
    None for a room without end-to-end encryption."""
    token, dot, encoded = fragment.removeprefix("#").partition(".")
    return token, (RoomKey.decode(encoded) if dot else None)


# ----------------------------------------------------------------- identities ----


def x25519_private(secret: bytes) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(_require_length(secret, KEY_SIZE, "a private key"))


def x25519_public_bytes(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes_raw()


def _x25519_public(raw: bytes) -> X25519PublicKey:
    return X25519PublicKey.from_public_bytes(_require_length(raw, PUBLIC_KEY_SIZE, "a public key"))


def _exchange(private: X25519PrivateKey, public: bytes) -> bytes:
    try:
        return private.exchange(_x25519_public(public))
    except ValueError as exc:  # an all-zero shared secret: a low-order public key
        raise BadKey("not a usable X25519 public key") from exc


def wrap_info(room_id: str, epoch: int, ephemeral: bytes, sender: bytes, recipient: bytes) -> bytes:
    return (
        INFO_WRAP.encode()
        + length_prefixed(room_id)
        + epoch.to_bytes(4, "big")
        + ephemeral
        + sender
        + recipient
    )


def wrap_room_key(
    key: RoomKey,
    *,
    room_id: str,
    sender: X25519PrivateKey,
    recipient_public: bytes,
    ephemeral: X25519PrivateKey,
    nonce: bytes,
) -> str:
    """``w1.<epoch>.<ephemeral public>.<nonce>.<sealed key>``: the room key for one member."""
    _require_length(nonce, NONCE_SIZE, "a nonce")
    ephemeral_public = x25519_public_bytes(ephemeral)
    ikm = _exchange(ephemeral, recipient_public) + _exchange(sender, recipient_public)
    info = wrap_info(
        room_id, key.epoch, ephemeral_public, x25519_public_bytes(sender), recipient_public
    )
    sealed = AESGCM(hkdf(ikm, info)).encrypt(nonce, key.secret, info)
    parts = (str(key.epoch), b64u_encode(ephemeral_public), b64u_encode(nonce), b64u_encode(sealed))
    return ".".join((WRAP_VERSION, *parts))


def unwrap_room_key(
    wrapped: str, *, room_id: str, recipient: X25519PrivateKey, sender_public: bytes
) -> RoomKey:
    parts = wrapped.split(".")
    if not _WRAP_PREFIX.fullmatch(parts[0]):
        raise Malformed("not a wrapped key")
    if parts[0] != WRAP_VERSION:
        raise UnsupportedVersion(f"wrap version {parts[0]!r} is not {WRAP_VERSION!r}")
    if len(parts) != 5 or not re.fullmatch(r"0|[1-9][0-9]{0,9}", parts[1]):
        raise Malformed("a wrapped key has five parts and a decimal epoch")
    epoch = int(parts[1])
    ephemeral_public, nonce, sealed = (b64u_decode(part) for part in parts[2:])
    if len(nonce) != NONCE_SIZE or len(sealed) != KEY_SIZE + TAG_SIZE or epoch > MAX_EPOCH:
        raise Malformed("a wrapped key part has the wrong length or range")
    ikm = _exchange(recipient, ephemeral_public) + _exchange(recipient, sender_public)
    info = wrap_info(
        room_id, epoch, ephemeral_public, sender_public, x25519_public_bytes(recipient)
    )
    try:
        secret = AESGCM(hkdf(ikm, info)).decrypt(nonce, sealed, info)
    except InvalidTag as exc:
        raise AuthFailed("not wrapped for this member, room or epoch by this sender") from exc
    return RoomKey(secret, epoch)


def safety_code(public_a: bytes, public_b: bytes) -> str:
    """Six groups of five digits, the same for (a, b) and (b, a)."""
    low, high = sorted(
        (
            _require_length(public_a, PUBLIC_KEY_SIZE, "a public key"),
            _require_length(public_b, PUBLIC_KEY_SIZE, "a public key"),
        )
    )
    digest = hashlib.sha512(SAFETY_LABEL + low + high).digest()
    groups = (
        int.from_bytes(digest[5 * i : 5 * i + 5], "big") % 100_000 for i in range(SAFETY_GROUPS)
    )
    return " ".join(f"{group:05d}" for group in groups)
