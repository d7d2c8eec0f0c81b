"""The file half of the end-to-end test vectors (tests/vectors/e2e.json's "files"): a file
key's subkeys, every sealed block of files of a few sizes, sealed metadata, and the
cases each implementation must refuse. tests/e2e_vectors.py puts them in the file."""

from __future__ import annotations

import hashlib
from typing import Any

from e2e_vector_inputs import fixed, tamper
from peerlane.core import e2e, e2e_file, integrity

FILE_SIZES = (0, 1, 5, e2e_file.BLOCK_SIZE, e2e_file.BLOCK_SIZE + 1, integrity.TEST_VECTOR_SIZE)


def _file_keys() -> list[dict[str, str]]:
    key = e2e_file.FileKey(fixed("file key a"))
    return [
        {
            "secret": key.encoded(),
            "kid": key.kid,
            "block_key": key.block_key.hex(),
            "metadata_key": key.metadata_key.hex(),
        }
    ]


def _file_blocks() -> list[dict[str, Any]]:
    """Every block of files of a few sizes whose bytes are integrity.pattern(size): the
    whole sealed block when short, else its SHA-256 and its tag (1 MiB does not belong
    in a JSON file)."""
    key = e2e_file.FileKey(fixed("file key a"))
    out = []
    for size in FILE_SIZES:
        data = integrity.pattern(size)
        count = e2e_file.block_count(size)
        for index in range(count):
            offset, length = e2e_file.sealed_block_span(index, size)
            plain = data[index * e2e_file.BLOCK_SIZE : (index + 1) * e2e_file.BLOCK_SIZE]
            sealed = e2e_file.seal_block(key, index, count, plain)
            case: dict[str, Any] = {
                "key": key.encoded(),
                "size": size,
                "index": index,
                "count": count,
                "offset": offset,
                "length": length,
                "nonce": e2e_file.block_nonce(index).hex(),
                "aad": e2e_file.block_aad(index, count).hex(),
                "sealed_sha256": hashlib.sha256(sealed).hexdigest(),
                "tag": sealed[-e2e.TAG_SIZE :].hex(),
            }
            if len(sealed) <= 64:
                case["sealed"] = sealed.hex()
            out.append(case)
    return out


def _file_metadata() -> list[dict[str, Any]]:
    key = e2e_file.FileKey(fixed("file key a"))
    out = []
    metadata_cases: list[Any] = [
        {"name": "report 😀.pdf", "type": "application/pdf", "size": 5, "root": "ab" * 32},
        {},
    ]
    for index, metadata in enumerate(metadata_cases):
        nonce = fixed(f"file metadata nonce {index}", e2e.NONCE_SIZE)
        out.append(
            {
                "key": key.encoded(),
                "nonce": e2e.b64u_encode(nonce),
                "metadata": metadata,
                "envelope": e2e_file.seal_file_metadata(key, nonce, metadata),
            }
        )
    return out


def _file_errors() -> list[dict[str, Any]]:
    key = e2e_file.FileKey(fixed("file key a"))
    other = e2e_file.FileKey(fixed("file key b"))
    plain = integrity.pattern(5)
    sealed = e2e_file.seal_block(key, 0, 1, plain)
    second = e2e_file.seal_block(key, 1, 2, plain)
    block = {"op": "open_block", "key": key.encoded(), "index": 0, "count": 1}
    tampered = bytearray(sealed)
    tampered[0] ^= 1
    metadata = _file_metadata()[0]["envelope"]
    return [
        {
            **block,
            "label": "another file's key",
            "key": other.encoded(),
            "sealed": sealed.hex(),
            "code": "auth_failed",
        },
        {
            **block,
            "label": "tampered block",
            "sealed": bytes(tampered).hex(),
            "code": "auth_failed",
        },
        {
            **block,
            "label": "moved to another index",
            "sealed": second.hex(),
            "code": "auth_failed",
        },
        {
            **block,
            "label": "a short block that is not the last",
            "sealed": second.hex(),
            "index": 1,
            "count": 3,
            "code": "malformed",
        },
        {
            **block,
            "label": "a short block as a middle one",
            "sealed": sealed.hex(),
            "count": 2,
            "code": "malformed",
        },
        {
            **block,
            "label": "index past the end",
            "sealed": sealed.hex(),
            "index": 1,
            "code": "malformed",
        },
        {**block, "label": "only a tag", "sealed": sealed[-16:].hex(), "code": "malformed"},
        {
            "op": "open_metadata",
            "label": "another file's key",
            "key": other.encoded(),
            "envelope": metadata,
            "code": "wrong_key",
        },
        {
            "op": "open_metadata",
            "label": "tampered metadata",
            "key": key.encoded(),
            "envelope": tamper(metadata),
            "code": "auth_failed",
        },
        {"op": "decode_key", "label": "short file key", "key": "AAAA", "code": "bad_key"},
        {"op": "decode_key", "label": "not base64url", "key": "a+b", "code": "bad_key"},
    ]


def files() -> dict[str, Any]:
    return {
        "sizes": [
            {
                "size": size,
                "blocks": e2e_file.block_count(size),
                "sealed": e2e_file.sealed_size(size),
            }
            for size in FILE_SIZES
        ],
        "keys": _file_keys(),
        "blocks": _file_blocks(),
        "metadata": _file_metadata(),
        "errors": _file_errors(),
    }
