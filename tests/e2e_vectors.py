"""The end-to-end encryption test vectors (tests/vectors/e2e.json), made by peerlane.core.e2e.

Regenerate after a deliberate change of the scheme (and say so in docs/protocol.md):

    PYTHONPATH=src .venv/bin/python tests/e2e_vectors.py

tests/core checks that the file is what this builds; tests/web (node's WebCrypto) and
tests/e2e/test_e2e_vectors.py (Chromium's) check the JS implementation against it, in
both directions. Every input is derived from a label, so the file is reproducible.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from peerlane.core import e2e, e2e_file, integrity

VECTORS_PATH = Path(__file__).resolve().parent / "vectors" / "e2e.json"


def fixed(label: str, size: int = 32) -> bytes:
    """Reproducible bytes for a vector's input."""
    return hashlib.sha256(f"peerlane e2e vector {label}".encode()).digest()[:size]


def _tamper(envelope: str) -> str:
    """The envelope with the first byte of its ciphertext flipped."""
    head, _, sealed = envelope.rpartition(".")
    data = bytearray(e2e.b64u_decode(sealed))
    data[0] ^= 0x01
    return f"{head}.{e2e.b64u_encode(bytes(data))}"


def _keys() -> list[dict[str, Any]]:
    out = []
    for label, epoch in (("room key a", 0), ("room key b", 7)):
        key = e2e.RoomKey(fixed(label), epoch)
        out.append(
            {
                "secret": key.encoded(),
                "epoch": epoch,
                "kid": key.kid,
                "chat_key": key.chat_key.hex(),
                "name_key": key.name_key.hex(),
            }
        )
    return out


CHAT_CASES: list[tuple[str, Any, str]] = [
    ("text", 'Hello, Welt! ünïcödé 😀 \u2028 "quotes" and \\ backslash', "m1"),
    ("reaction", {"emoji": "👍"}, "m2"),
    ("file offer", {"name": "report.pdf", "size": 1048577, "type": "application/pdf"}, "m3"),
    ("edit of seq 3", {"text": "edited", "quote": None, "list": [1, True, False]}, "#3"),
    ("empty string", "", "m4"),
]


def _chat(key: e2e.RoomKey) -> list[dict[str, Any]]:
    out = []
    for index, (label, body, content_id) in enumerate(CHAT_CASES):
        nonce = fixed(f"chat nonce {index}", e2e.NONCE_SIZE)
        context = {
            "room_id": "r_Room-1",
            "sender": f"p_sender{index % 2}",
            "content_id": content_id,
        }
        out.append(
            {
                "label": label,
                "key": key.encoded(),
                "nonce": e2e.b64u_encode(nonce),
                **context,
                "body": body,
                "plaintext": e2e.body_plaintext(body).decode(),
                "aad": e2e.chat_aad(**context).hex(),
                "envelope": e2e.seal_chat_body(key, nonce, body, **context),
            }
        )
    return out


def _names(key: e2e.RoomKey) -> list[dict[str, Any]]:
    out = []
    for index, name in enumerate(("Planning", "", "Équipe 🚀 " + "x" * 60)):
        nonce = fixed(f"name nonce {index}", e2e.NONCE_SIZE)
        out.append(
            {
                "key": key.encoded(),
                "nonce": e2e.b64u_encode(nonce),
                "name": name,
                "envelope": e2e.seal_room_name(key, nonce, name),
            }
        )
    return out


def _party(label: str) -> tuple[e2e.X25519PrivateKey, dict[str, str]]:
    secret = fixed(label)
    private = e2e.x25519_private(secret)
    public = e2e.x25519_public_bytes(private)
    return private, {"private": e2e.b64u_encode(secret), "public": e2e.b64u_encode(public)}


def _wraps(key: e2e.RoomKey) -> list[dict[str, Any]]:
    sender, sender_json = _party("identity alice")
    recipient, recipient_json = _party("identity bob")
    ephemeral, ephemeral_json = _party("ephemeral 1")
    nonce = fixed("wrap nonce", e2e.NONCE_SIZE)
    wrapped = e2e.wrap_room_key(
        key,
        room_id="r_Room-1",
        sender=sender,
        recipient_public=e2e.x25519_public_bytes(recipient),
        ephemeral=ephemeral,
        nonce=nonce,
    )
    return [
        {
            "room_id": "r_Room-1",
            "key": key.encoded(),
            "epoch": key.epoch,
            "sender": sender_json,
            "recipient": recipient_json,
            "ephemeral": ephemeral_json,
            "nonce": e2e.b64u_encode(nonce),
            "wrapped": wrapped,
        }
    ]


def _safety() -> list[dict[str, str]]:
    _, alice = _party("identity alice")
    _, bob = _party("identity bob")
    _, carol = _party("identity carol")
    out = []
    for a, b in ((alice, bob), (bob, alice), (alice, carol)):
        code = e2e.safety_code(e2e.b64u_decode(a["public"]), e2e.b64u_decode(b["public"]))
        out.append({"a": a["public"], "b": b["public"], "code": code})
    return out


def _errors(
    key: e2e.RoomKey, other: e2e.RoomKey, chat: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    first = chat[0]
    context = {k: first[k] for k in ("room_id", "sender", "content_id")}
    envelope: str = first["envelope"]
    _, kid, nonce, sealed = envelope.split(".")
    open_chat = {"op": "open_chat", "key": key.encoded(), **context}
    cases: list[dict[str, Any]] = [
        {
            **open_chat,
            "label": "another room's key",
            "key": other.encoded(),
            "envelope": envelope,
            "code": "wrong_key",
        },
        {
            **open_chat,
            "label": "tampered ciphertext",
            "envelope": _tamper(envelope),
            "code": "auth_failed",
        },
        {
            **open_chat,
            "label": "tampered nonce",
            "envelope": f"e2e1.{kid}.{'A' * 16}.{sealed}",
            "code": "auth_failed",
        },
        {
            **open_chat,
            "label": "moved to another room",
            "room_id": "r_Other",
            "envelope": envelope,
            "code": "auth_failed",
        },
        {
            **open_chat,
            "label": "another sender",
            "sender": "p_mallory",
            "envelope": envelope,
            "code": "auth_failed",
        },
        {
            **open_chat,
            "label": "another message",
            "content_id": "m9",
            "envelope": envelope,
            "code": "auth_failed",
        },
        {
            **open_chat,
            "label": "a later version",
            "envelope": "e2e2." + envelope[5:],
            "code": "unsupported_version",
        },
        {
            **open_chat,
            "label": "three parts",
            "envelope": f"e2e1.{kid}.{nonce}",
            "code": "malformed",
        },
        {**open_chat, "label": "not sealed", "envelope": "hello", "code": "malformed"},
        {**open_chat, "label": "not a string", "envelope": {"text": "hi"}, "code": "malformed"},
        {
            **open_chat,
            "label": "bad base64url",
            "envelope": f"e2e1.{kid}.{nonce}.{sealed}+",
            "code": "malformed",
        },
        {
            **open_chat,
            "label": "short nonce",
            "envelope": f"e2e1.{kid}.AAAA.{sealed}",
            "code": "malformed",
        },
        {
            **open_chat,
            "label": "no tag",
            "envelope": f"e2e1.{kid}.{nonce}.AAAA",
            "code": "malformed",
        },
        {
            "op": "open_name",
            "label": "a chat body is not a name",
            "key": key.encoded(),
            "envelope": envelope,
            "code": "auth_failed",
        },
        {"op": "parse_fragment", "label": "short key", "fragment": "#tok.AAAA", "code": "bad_key"},
    ]
    wrap = _wraps(key)[0]
    _, carol = _party("identity carol")
    unwrap = {
        "op": "unwrap",
        "room_id": wrap["room_id"],
        "wrapped": wrap["wrapped"],
        "recipient_private": wrap["recipient"]["private"],
        "recipient_public": wrap["recipient"]["public"],
        "sender_public": wrap["sender"]["public"],
    }
    cases += [
        {
            **unwrap,
            "label": "another sender",
            "sender_public": carol["public"],
            "code": "auth_failed",
        },
        {
            **unwrap,
            "label": "another recipient",
            "recipient_private": carol["private"],
            "recipient_public": carol["public"],
            "code": "auth_failed",
        },
        {**unwrap, "label": "another room", "room_id": "r_Other", "code": "auth_failed"},
        {
            **unwrap,
            "label": "another epoch",
            "wrapped": "w1.1." + wrap["wrapped"][5:],
            "code": "auth_failed",
        },
        {
            **unwrap,
            "label": "a later version",
            "wrapped": "w2" + wrap["wrapped"][2:],
            "code": "unsupported_version",
        },
        {
            **unwrap,
            "label": "low-order sender key",
            "sender_public": e2e.b64u_encode(bytes(32)),
            "code": "bad_key",
        },
        {
            **unwrap,
            "label": "four parts",
            "wrapped": wrap["wrapped"].rpartition(".")[0],
            "code": "malformed",
        },
    ]
    return cases


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
            "envelope": _tamper(metadata),
            "code": "auth_failed",
        },
        {"op": "decode_key", "label": "short file key", "key": "AAAA", "code": "bad_key"},
        {"op": "decode_key", "label": "not base64url", "key": "a+b", "code": "bad_key"},
    ]


def _files() -> dict[str, Any]:
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


def build() -> dict[str, Any]:
    key = e2e.RoomKey(fixed("room key a"))
    other = e2e.RoomKey(fixed("room key b"), 7)
    chat = _chat(key)
    return {
        "about": "peerlane end-to-end encryption test vectors (docs/protocol.md), "
        "made by tests/e2e_vectors.py",
        "scheme": e2e.ENVELOPE_VERSION,
        "hkdf": [
            {
                "ikm": fixed("hkdf ikm").hex(),
                "info": info,
                "length": n,
                "okm": e2e.hkdf(fixed("hkdf ikm"), info, n).hex(),
            }
            for info, n in (
                (e2e.INFO_CHAT, 32),
                (e2e.INFO_KEY_ID, 8),
                ("peerlane e2e v1 other purpose", 42),
            )
        ],
        "keys": _keys(),
        "chat": chat,
        "room_name": _names(key),
        "fragment": [
            {"fragment": "#tok_EN-1", "token": "tok_EN-1", "key": None},
            {"fragment": f"#tok_EN-1.{key.encoded()}", "token": "tok_EN-1", "key": key.encoded()},
        ],
        "wrap": _wraps(other),
        "safety": _safety(),
        "errors": _errors(key, other, chat),
        "files": _files(),
    }


def dumps(vectors: dict[str, Any]) -> str:
    return json.dumps(vectors, ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    VECTORS_PATH.parent.mkdir(exist_ok=True)
    VECTORS_PATH.write_text(dumps(build()), encoding="utf-8")
    sys.stdout.write(f"wrote {VECTORS_PATH}\n")
