"""An encrypted room's code words are drawn by the inviting browser, not the server
(docs/protocol.md, "Where the words come from"): the server stores the nameplate and the
words sealed under the room key, and nothing it holds, its secret included, derives them.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import httpx

from peerlane.core import codes, e2e, invite_secrets
from support import Member, ServerProcess, create_room

WORDS = "quiet-lantern"  # as the browser drew them (e2e/code-words.js)


def seal_words(key: e2e.RoomKey, room_id: str, invite_id: str, words: str) -> str:
    """What the browser's sealCodeWords makes (the spec, in Python)."""
    info = "peerlane e2e v1 code words"
    aad = info.encode() + e2e.length_prefixed(room_id) + e2e.length_prefixed(invite_id)
    return e2e.seal(e2e.hkdf(key.secret, info), key.kid, os.urandom(12), words.encode(), aad)


def encrypted_room(http: httpx.Client) -> tuple[Member, e2e.RoomKey]:
    key = e2e.RoomKey(os.urandom(32))
    name = e2e.seal_room_name(key, os.urandom(12), "Secret plans")
    r = http.post("/api/rooms", json={"display_name": "alice", "name": name})
    assert r.status_code == 201, r.text
    body = r.json()
    return Member(body["room"]["id"], body["participant"]["id"], body["token"], body), key


def test_the_server_cannot_derive_an_encrypted_rooms_words(
    server: ServerProcess, http: httpx.Client
) -> None:
    alice, key = encrypted_room(http)
    invite = alice.body["invite"]
    assert invite["code"] is None  # the server has no words to show
    assert invite["nameplate"] >= 1
    assert invite["sealed_code"] is None
    sealed = seal_words(key, alice.room_id, invite["id"], WORDS)
    url = f"/api/rooms/{alice.room_id}/invites/{invite['id']}"
    r = http.patch(url, json={"sealed_code": sealed}, headers=alice.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["sealed_code"], r.json()["code"]) == (sealed, None)
    # Set once: a member cannot swap the words of a code already shared.
    other = seal_words(key, alice.room_id, invite["id"], "bold-otter")
    r = http.patch(url, json={"sealed_code": other}, headers=alice.auth)
    assert r.status_code == 422, r.text
    listed = http.get(f"/api/rooms/{alice.room_id}/invites", headers=alice.auth).json()
    assert listed["invites"][0]["sealed_code"] == sealed

    # Everything the server holds: its database (with its secret) and every file.
    db = next(Path(server.data_dir).rglob("*.db"))
    with sqlite3.connect(db) as conn:
        (secret,) = conn.execute("SELECT value FROM meta WHERE key = 'token_secret'").fetchone()
        (words_hash,) = conn.execute(
            "SELECT words_hash FROM invites WHERE id = ?", (invite["id"],)
        ).fetchone()
    assert words_hash is None
    derived = {
        invite_secrets.code_words(secret.encode(), invite["id"], n)
        for n in range(codes.MIN_WORDS, codes.MAX_WORDS + 1)
    }
    assert WORDS not in derived
    assert invite_secrets.shown_words(secret.encode(), invite["id"], words_hash) is None
    for path in Path(server.data_dir).rglob("*"):
        if path.is_file():
            assert WORDS.encode() not in path.read_bytes(), path
    # A typed code is refused: the words are a member's client's to check.
    r = http.post(
        "/api/join", json={"display_name": "bob", "code": f"{invite['nameplate']}-{WORDS}"}
    )
    assert r.json()["error"]["code"] == "pake_required", r.text


def test_a_new_invite_of_an_encrypted_room_has_no_server_words(
    server: ServerProcess, http: httpx.Client
) -> None:
    alice, _ = encrypted_room(http)
    r = http.post(f"/api/rooms/{alice.room_id}/invites", json={}, headers=alice.auth)
    assert r.status_code == 201, r.text
    assert (r.json()["code"], r.json()["sealed_code"]) == (None, None)
    assert r.json()["nameplate"] >= 1


def test_unencrypted_rooms_keep_server_made_codes(
    server: ServerProcess, http: httpx.Client
) -> None:
    alice = create_room(http, "alice")
    invite = alice.body["invite"]
    assert codes.parse(invite["code"]) is not None
    url = f"/api/rooms/{alice.room_id}/invites/{invite['id']}"
    key = e2e.RoomKey(os.urandom(32))
    r = http.patch(
        url,
        json={"sealed_code": seal_words(key, alice.room_id, invite["id"], WORDS)},
        headers=alice.auth,
    )
    assert r.status_code == 422, r.text
