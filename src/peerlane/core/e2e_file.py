"""End-to-end encrypted files: a per-file key, sealed blocks and sealed metadata (sans-I/O).

docs/protocol.md ("End-to-end encryption" → "Files") is the normative text;
``web/e2e/file-crypto.js`` is the same scheme in the browser and ``tests/vectors/e2e.json``
pins both. A file key ``F`` (32 random bytes from the caller) gives two subkeys: one seals
the file's 1 MiB blocks, each on its own (a block can be re-sent, re-fetched by a Range
request and checked alone), the other seals the file's clear metadata when it travels
without a chat body to carry it (a share link). The block nonce comes from the index: each
file key seals each index once, and a re-sent block is the same plaintext, so the same
ciphertext.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import JsonValue

from peerlane.core import integrity
from peerlane.core.e2e import (
    INFO_KEY_ID,
    KEY_SIZE,
    KID_SIZE,
    NONCE_SIZE,
    TAG_SIZE,
    AuthFailed,
    BadKey,
    Envelope,
    Malformed,
    WrongKey,
    b64u_decode,
    b64u_encode,
    body_plaintext,
    hkdf,
    seal,
)

INFO_FILE_BLOCK = "peerlane e2e v1 file block"
INFO_FILE_METADATA = "peerlane e2e v1 file metadata"
FILE_METADATA_AAD = INFO_FILE_METADATA.encode()
BLOCK_SIZE = integrity.BLOCK_SIZE
SEALED_BLOCK_SIZE = BLOCK_SIZE + TAG_SIZE
MAX_BLOCKS = 2**64 - 1


@dataclass(frozen=True)
class FileKey:
    """One file's key ``F``: 32 random bytes from the caller."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_SIZE:
            raise BadKey(f"a file key must be {KEY_SIZE} bytes")

    @cached_property
    def kid(self) -> str:
        """The key id the file's sealed metadata carries (as a room key's envelopes do)."""
        return b64u_encode(hkdf(self.secret, INFO_KEY_ID, KID_SIZE))

    @cached_property
    def block_key(self) -> bytes:
        return hkdf(self.secret, INFO_FILE_BLOCK)

    @cached_property
    def metadata_key(self) -> bytes:
        return hkdf(self.secret, INFO_FILE_METADATA)

    def encoded(self) -> str:
        """The key as it rides in a sealed file body or a share link's fragment."""
        return b64u_encode(self.secret)

    @classmethod
    def decode(cls, text: str) -> FileKey:
        try:
            return cls(b64u_decode(text))
        except Malformed as exc:
            raise BadKey("a file key is 43 base64url characters") from exc


def block_count(size: int) -> int:
    """Blocks of a file of ``size`` plaintext bytes (an empty file has none)."""
    if size < 0:
        raise Malformed("a file size is not negative")
    return -(-size // BLOCK_SIZE)


def sealed_size(size: int) -> int:
    """The ciphertext size of a file of ``size`` plaintext bytes: a tag per block."""
    return size + TAG_SIZE * block_count(size)


def plain_size(sealed: int) -> int:
    """The plaintext size of ``sealed`` ciphertext bytes (what ``sealed_size`` inverts)."""
    whole, rest = divmod(sealed, SEALED_BLOCK_SIZE)
    if sealed < 0 or 0 < rest <= TAG_SIZE:
        raise Malformed("not the size of a sealed file")
    return whole * BLOCK_SIZE + (rest - TAG_SIZE if rest else 0)


def sealed_block_span(index: int, size: int) -> tuple[int, int]:
    """``(offset, length)`` of sealed block ``index`` in the ciphertext of a file of
    ``size`` plaintext bytes: a Range request fetches one block on its own."""
    count = block_count(size)
    _check_index(index, count)
    length = min(BLOCK_SIZE, size - index * BLOCK_SIZE) + TAG_SIZE
    return index * SEALED_BLOCK_SIZE, length


def block_nonce(index: int) -> bytes:
    """``u32(0) || u64(index)``: unique per block for one file key."""
    return bytes(4) + index.to_bytes(8, "big")


def block_aad(index: int, count: int) -> bytes:
    """The label, the index and the block count: a block moved, or a file cut short or
    grown, fails to open."""
    return INFO_FILE_BLOCK.encode() + index.to_bytes(8, "big") + count.to_bytes(8, "big")


def _check_index(index: int, count: int) -> None:
    if not 0 <= count <= MAX_BLOCKS or not 0 <= index < count:
        raise Malformed("a block index is 0 to the block count - 1")


def _check_length(index: int, count: int, length: int) -> None:
    # Every block but the last is whole; the last holds 1 to BLOCK_SIZE bytes.
    if not (length == BLOCK_SIZE or (index == count - 1 and 0 < length < BLOCK_SIZE)):
        raise Malformed("a block is 1 MiB, the last one 1 byte to 1 MiB")


def seal_block(key: FileKey, index: int, count: int, plaintext: bytes) -> bytes:
    """Block ``index`` of ``count`` sealed: its ciphertext with the 16-byte tag appended."""
    _check_index(index, count)
    _check_length(index, count, len(plaintext))
    return AESGCM(key.block_key).encrypt(block_nonce(index), plaintext, block_aad(index, count))


def open_block(key: FileKey, index: int, count: int, sealed: bytes) -> bytes:
    """The plaintext of sealed block ``index`` of ``count``, checked on its own."""
    _check_index(index, count)
    _check_length(index, count, len(sealed) - TAG_SIZE)
    try:
        return AESGCM(key.block_key).decrypt(block_nonce(index), sealed, block_aad(index, count))
    except InvalidTag as exc:
        raise AuthFailed("tampered, moved, or not a block of this file") from exc


def seal_file_metadata(key: FileKey, nonce: bytes, metadata: JsonValue) -> str:
    """The file's clear metadata (name, type, size, root) as an envelope only ``F`` opens:
    what a share link's server copy carries instead of a name."""
    return seal(key.metadata_key, key.kid, nonce, body_plaintext(metadata), FILE_METADATA_AAD)


def open_file_metadata(key: FileKey, envelope: object) -> JsonValue:
    parsed = Envelope.parse(envelope)
    if parsed.kid != key.kid:
        raise WrongKey("sealed with another file key than the one given")
    try:
        plaintext = AESGCM(key.metadata_key).decrypt(parsed.nonce, parsed.sealed, FILE_METADATA_AAD)
    except InvalidTag as exc:
        raise AuthFailed("tampered, or not this file's metadata") from exc
    try:
        metadata: JsonValue = json.loads(plaintext.decode("utf-8"))
    except ValueError as exc:
        raise Malformed("the sealed metadata is not UTF-8 JSON") from exc
    return metadata


__all__ = [
    "BLOCK_SIZE",
    "FILE_METADATA_AAD",
    "INFO_FILE_BLOCK",
    "INFO_FILE_METADATA",
    "NONCE_SIZE",
    "SEALED_BLOCK_SIZE",
    "FileKey",
    "block_aad",
    "block_count",
    "block_nonce",
    "open_block",
    "open_file_metadata",
    "plain_size",
    "seal_block",
    "seal_file_metadata",
    "sealed_block_span",
    "sealed_size",
]
