"""The end-to-end encryption test vectors (tests/vectors/e2e.json), made by peerlane.core.e2e.

Regenerate after a deliberate change of the scheme (and say so in docs/protocol.md):

    PYTHONPATH=src .venv/bin/python tests/e2e_vectors.py

The room's vectors are built here, the files' in tests/e2e_file_vectors.py, from the
inputs of tests/e2e_vector_inputs.py. tests/core checks that the file is what this
builds; tests/web (node's WebCrypto) and tests/e2e/test_e2e_vectors.py (Chromium's)
check the JS implementation against it, in both directions. Every input is derived
from a label, so the file is reproducible.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from e2e_file_vectors import files
from e2e_vector_inputs import fixed, tamper
from peerlane.core import e2e

VECTORS_PATH = Path(__file__).resolve().parent / "vectors" / "e2e.json"


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
            "envelope": tamper(envelope),
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
        "files": files(),
    }


def dumps(vectors: dict[str, Any]) -> str:
    return json.dumps(vectors, ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    VECTORS_PATH.parent.mkdir(exist_ok=True)
    VECTORS_PATH.write_text(dumps(build()), encoding="utf-8")
    sys.stdout.write(f"wrote {VECTORS_PATH}\n")
