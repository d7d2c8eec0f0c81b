"""CPace (draft-irtf-cfrg-cpace) over ristretto255 with SHA-512, for joining by short code.

The joiner (initiator, party A) and an online member (responder, party B) share only the
code's secret words. Each derives the same generator from the words, the invite id and
both party ids, sends one share, and gets the same intermediate session key (ISK) only if
the words match. Key confirmation (the draft's HMAC option) makes a wrong code fail on
both sides with a clear result instead of two silently different keys:

    joiner -> member   share Ya
    member -> joiner   share Yb, confirmation Tb   (member has the ISK)
    joiner -> member   confirmation Ta             (joiner checked Tb; member checks Ta)

Party ids and the invite id go into the channel identifier CI (not sent, confidential,
initiator first), as the draft recommends for initiator-responder roles; ADa and ADb stay
empty. The server-chosen attempt id is the session id ``sid``. Group operations are
libsodium's (through ``rbcl``, which bundles libsodium and wraps its ristretto255 calls:
PyNaCl and ``cryptography`` have no ristretto255 or element derivation).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

import rbcl
from cryptography.hazmat.primitives.hashes import SHA512
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from peerlane.core.codes import normal_words

DSI = b"CPaceRistretto255"
HASH_BLOCK_BYTES = 128  # SHA-512's input block size (s_in_bytes)
POINT_BYTES = 32
IDENTITY = bytes(POINT_BYTES)  # G.I, the encoding of the neutral element
CONFIRM_BYTES = 64  # an HMAC-SHA-512 tag
CHANNEL_LABEL = b"peerlane-join-v1"
HANDOVER_INFO = b"peerlane pake handover v1"


class PakeFailed(Exception):
    """The run cannot give a shared key: a bad share, or (after the confirmations) the
    other side used different words. The words themselves are never in the message."""


def prepend_len(data: bytes) -> bytes:
    """``data`` with its length in front, LEB128 (7 bits a byte, low bits first)."""
    length = len(data)
    encoded = bytearray()
    while True:
        low = length & 0x7F
        length >>= 7
        encoded.append(low | 0x80 if length else low)
        if not length:
            return bytes(encoded) + data


def lv_cat(*parts: bytes) -> bytes:
    return b"".join(prepend_len(part) for part in parts)


def generator_string(prs: bytes, ci: bytes, sid: bytes) -> bytes:
    # Zero padding fills SHA-512's first block after DSI and PRS, so that hashing time
    # does not depend on a short password's length.
    zero_pad = max(0, HASH_BLOCK_BYTES - 1 - len(prepend_len(prs)) - len(prepend_len(DSI)))
    return lv_cat(DSI, prs, bytes(zero_pad), ci, sid)


def calculate_generator(prs: bytes, ci: bytes, sid: bytes) -> bytes:
    """The generator ``g`` (its ristretto255 encoding) for these words and this channel."""
    uniform = hashlib.sha512(generator_string(prs, ci, sid)).digest()
    return bytes(rbcl.crypto_core_ristretto255_from_hash(uniform))


def sample_scalar() -> bytes:
    """32 random bytes with the bits above 252 cleared: always below the group order."""
    scalar = bytearray(secrets.token_bytes(32))
    scalar[31] &= 0x0F
    return bytes(scalar)


def scalar_mult(scalar: bytes, point: bytes) -> bytes:
    """``scalar * point``; ``G.I`` when the point does not decode or the product is the
    identity (the draft's scalar_mult_vfy: libsodium refuses both)."""
    try:
        return bytes(rbcl.crypto_scalarmult_ristretto255(scalar, point))
    except (RuntimeError, ValueError):
        return IDENTITY


def transcript_ir(ya: bytes, ada: bytes, yb: bytes, adb: bytes) -> bytes:
    return lv_cat(ya, ada) + lv_cat(yb, adb)


def intermediate_session_key(sid: bytes, k: bytes, transcript: bytes) -> bytes:
    return hashlib.sha512(lv_cat(DSI + b"_ISK", sid, k) + transcript).digest()


def channel_identifier(invite_id: str, joiner_id: str, member_id: str) -> bytes:
    """CI: the invite and both parties, the initiator (joiner) first."""
    return lv_cat(CHANNEL_LABEL, *(s.encode() for s in (invite_id, joiner_id, member_id)))


def password_bytes(words: str) -> bytes:
    """PRS: the code's secret words in one spelling (the forgiveness ``core.codes`` gives a
    typed code), UTF-8."""
    return normal_words(words).encode()


@dataclass(frozen=True, slots=True)
class PakeKeys:
    isk: bytes
    handover_key: bytes  # 32 bytes: the member wraps the room key for the joiner with it


def _derive_keys(sid: bytes, isk: bytes) -> tuple[bytes, PakeKeys]:
    # The draft's key confirmation key, and (as it recommends) an HKDF of the ISK for use.
    mac_key = hashlib.sha512(b"CPaceMac" + sid + isk).digest()
    handover = HKDF(algorithm=SHA512(), length=32, salt=sid, info=HANDOVER_INFO).derive(isk)
    return mac_key, PakeKeys(isk=isk, handover_key=handover)


def _tag(mac_key: bytes, share: bytes) -> bytes:
    # ADa and ADb are empty: lv_cat(Y, b"").
    return hmac.new(mac_key, lv_cat(share, b""), hashlib.sha512).digest()


@dataclass(slots=True)
class _Party:
    words: str
    invite_id: str
    joiner_id: str
    member_id: str
    sid: bytes
    scalar: bytes = field(default_factory=sample_scalar)

    def own_share(self) -> bytes:
        prs = password_bytes(self.words)
        ci = channel_identifier(self.invite_id, self.joiner_id, self.member_id)
        return scalar_mult(self.scalar, calculate_generator(prs, ci, self.sid))

    def shared_keys(self, theirs: bytes, ya: bytes, yb: bytes) -> tuple[bytes, PakeKeys]:
        k = scalar_mult(self.scalar, theirs)
        if k == IDENTITY:
            raise PakeFailed("the other side's share is not a valid group element")
        isk = intermediate_session_key(self.sid, k, transcript_ir(ya, b"", yb, b""))
        return _derive_keys(self.sid, isk)


class JoinerPake:
    """Party A: the person typing the code. ``share`` goes first; ``finish`` checks the
    member's confirmation and returns the keys and the confirmation to send back."""

    def __init__(self, party: _Party) -> None:
        self._party = party
        self.share = party.own_share()

    @classmethod
    def start(
        cls, words: str, *, invite_id: str, joiner_id: str, member_id: str, sid: bytes
    ) -> JoinerPake:
        return cls(_Party(words, invite_id, joiner_id, member_id, sid))

    def finish(self, member_share: bytes, member_confirm: bytes) -> tuple[bytes, PakeKeys]:
        mac_key, keys = self._party.shared_keys(member_share, self.share, member_share)
        if not hmac.compare_digest(member_confirm, _tag(mac_key, member_share)):
            raise PakeFailed("the code does not match")
        return _tag(mac_key, self.share), keys


class MemberPake:
    """Party B: a member's client answering a joiner. ``respond`` gives the share and
    confirmation to send; ``confirm`` checks the joiner's and returns the keys."""

    def __init__(self, party: _Party) -> None:
        self._party = party
        self.share = party.own_share()
        self._pending: tuple[bytes, bytes, PakeKeys] | None = None

    @classmethod
    def start(
        cls, words: str, *, invite_id: str, joiner_id: str, member_id: str, sid: bytes
    ) -> MemberPake:
        return cls(_Party(words, invite_id, joiner_id, member_id, sid))

    def respond(self, joiner_share: bytes) -> bytes:
        mac_key, keys = self._party.shared_keys(joiner_share, joiner_share, self.share)
        self._pending = (mac_key, joiner_share, keys)
        return _tag(mac_key, self.share)

    def confirm(self, joiner_confirm: bytes) -> PakeKeys:
        if self._pending is None:
            raise PakeFailed("no share from the joiner yet")
        mac_key, joiner_share, keys = self._pending
        if not hmac.compare_digest(joiner_confirm, _tag(mac_key, joiner_share)):
            raise PakeFailed("the code does not match")
        return keys
