"""The terminal's identity key and key rotation against a real server (issue #15 items 4
and 5): ``peerlane chat`` publishes its identity key in the room, shows each member's
safety code (the same digits core.e2e computes on the other side) on ``/people``, warns
when a member's key changes (loudly once verified), follows a rotation (the owner, here a
WebSocket participant sealing as the browser does, wraps epoch 1 to the terminal's key:
the terminal opens both epochs and seals with the newest), and shows a placeholder,
never ciphertext, for a key nobody wrapped to it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from peerlane.core import e2e
from support import Member, Peer, ServerProcess
from terminal import Terminal

K0 = e2e.RoomKey(os.urandom(32))
K1 = e2e.RoomKey(os.urandom(32), 1)
K2 = e2e.RoomKey(os.urandom(32), 2)
ALICE = e2e.x25519_private(os.urandom(32))


def public(private: Any) -> str:
    return e2e.b64u_encode(e2e.x25519_public_bytes(private))


@pytest.fixture
def terminal() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for term in opened:
        term.close()


def events(term: Terminal, kind: str) -> list[dict[str, Any]]:
    # raw_decode: the terminal echoes typed lines, which can land right after an event's
    # JSON on the same screen line.
    decode = json.JSONDecoder().raw_decode
    out = [decode(line)[0] for line in term.output.splitlines() if line.startswith("{")]
    return [e for e in out if e["event"] == kind]


def sealed(alice: Member, key: e2e.RoomKey, body: str, content_id: str) -> str:
    return e2e.seal_chat_body(
        key,
        os.urandom(12),
        body,
        room_id=alice.room_id,
        sender=alice.participant_id,
        content_id=content_id,
    )


def alices_room(http: httpx.Client) -> tuple[Member, str]:
    """Alice's room "Keys", its name sealed under K0, her identity key (ALICE) published:
    alice, and the room's link with K0 in it."""
    r = http.post(
        "/api/rooms",
        json={"display_name": "alice", "name": e2e.seal_room_name(K0, os.urandom(12), "Keys")},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    alice = Member(body["room"]["id"], body["participant"]["id"], body["token"], body)
    put = http.put(
        f"/api/rooms/{alice.room_id}/identity", json={"key": public(ALICE)}, headers=alice.auth
    )
    assert put.status_code == 200, put.text
    return alice, f"{body['invite']['link']}.{K0.encoded()}"


def participants(http: httpx.Client, alice: Member) -> dict[str, dict[str, Any]]:
    r = http.get(f"/api/rooms/{alice.room_id}/participants", headers=alice.auth)
    assert r.status_code == 200, r.text
    return {p["name"]: p for p in r.json()["participants"]}


def test_chat_publishes_its_key_shows_safety_codes_and_follows_a_rotation(
    server: ServerProcess, http: httpx.Client, terminal: list[Terminal], tmp_path: Path
) -> None:
    alice, link = alices_room(http)
    path = f"/api/rooms/{alice.room_id}"
    ws = Peer(server, alice)

    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    term = Terminal(["chat", link, "--json", "--name", "bob"], env=env)
    terminal.append(term)
    term.wait_for('"event": "synced"')

    # Published: the server lists the terminal's key, the one in its config directory.
    saved = json.loads((tmp_path / "config/peerlane/identity.json").read_text())
    bob_key = public(e2e.x25519_private(e2e.b64u_decode(saved["x25519_private"])))
    bob = participants(http, alice)["bob"]
    assert bob["identity_key"] == bob_key
    code = e2e.safety_code(e2e.x25519_public_bytes(ALICE), e2e.b64u_decode(bob_key))

    term.type("/people\n")
    term.wait_for('"event": "people"')
    (people,) = events(term, "people")
    assert people["public_key"] == bob_key
    (member,) = people["members"]
    assert (member["name"], member["role"], member["online"]) == ("alice", "owner", True)
    assert (member["safety_code"], member["verified"]) == (code, False)

    # The owner rotates (as after removing someone): epoch 1, wrapped to bob's key.
    wrap = e2e.wrap_room_key(
        K1,
        room_id=alice.room_id,
        sender=ALICE,
        recipient_public=e2e.b64u_decode(bob_key),
        ephemeral=e2e.x25519_private(os.urandom(32)),
        nonce=os.urandom(12),
    )
    wraps = [{"to": bob["id"], "epoch": 1, "wrap": wrap}]
    posted = http.post(f"{path}/keys", json={"rotate_to": 1, "wraps": wraps}, headers=alice.auth)
    assert posted.status_code == 200, posted.text
    ws.chat("a1", sealed(alice, K1, "sealed with epoch 1", "a1"))
    term.wait_for('"body": "sealed with epoch 1"')
    ws.chat("a0", sealed(alice, K0, "still epoch 0", "a0"))  # sent late: opens too
    term.wait_for('"body": "still epoch 0"')

    term.type("reply after the rotation\n")
    got = ws.expect("message", sender_name="bob")
    assert e2e.envelope_kid(got["body"]) == K1.kid  # the newest key seals
    opened = e2e.open_chat_body(
        K1, got["body"], room_id=alice.room_id, sender=got["sender"], content_id=got["id"]
    )
    assert opened == "reply after the rotation"

    # A key nobody wrapped to the terminal (as for a removed member): the placeholder.
    ws.chat("a2", sealed(alice, K2, "never for bob", "a2"))
    term.wait_for('"e2e_error": "wrong_key"')
    assert "never for bob" not in term.output
    assert K2.kid not in term.output  # no ciphertext shown

    # Verified, then alice's key changes: a loud warning, the verification withdrawn.
    term.type("/verify alice\n")
    term.wait_for('"event": "verified"')
    new_key = public(e2e.x25519_private(os.urandom(32)))
    put = http.put(f"{path}/identity", json={"key": new_key}, headers=alice.auth)
    assert put.status_code == 200, put.text
    term.wait_for('"event": "key_changed"')
    (changed,) = events(term, "key_changed")
    assert changed["loud"] is True
    assert changed["member"]["identity_key"] == new_key
    assert changed["member"]["verified"] is False
    assert changed["member"]["key_note"].startswith("WARNING")
    # Remembered per room in the config directory (0600), as the browser keeps them.
    known_file = tmp_path / "config/peerlane/known-keys.json"
    assert known_file.stat().st_mode & 0o077 == 0
    known = json.loads(known_file.read_text())[alice.room_id][alice.participant_id]
    assert known == {"key": new_key, "verified": False, "changed": "verified-changed"}
    term.type("\x04")
    assert term.wait_exit() == 0


def test_chat_in_text_mode_warns_on_a_changed_key_and_lists_people(
    server: ServerProcess, http: httpx.Client, terminal: list[Terminal], tmp_path: Path
) -> None:
    alice, link = alices_room(http)
    path = f"/api/rooms/{alice.room_id}"
    term = Terminal(
        ["chat", link, "--name", "bob"], env={"XDG_CONFIG_HOME": str(tmp_path / "config")}
    )
    terminal.append(term)
    term.wait_for("end-to-end encrypted")
    assert participants(http, alice)["bob"]["identity_key"] is not None  # before the chat
    term.type("/people\n")
    at = term.wait_for("* alice (owner): safety code ")
    assert term.output[at : at + 35].count(" ") == 5  # six groups of five digits
    new_key = public(e2e.x25519_private(os.urandom(32)))
    http.put(f"{path}/identity", json={"key": new_key}, headers=alice.auth)
    term.wait_for("! The security key of alice changed")
    term.type("/verify nobody\n")
    term.wait_for("no member with a security key named 'nobody'")
    term.interrupt()
    assert term.wait_exit() == 130
    # The commands were answered here, never sent as messages.
    r = http.get(f"{path}/messages", headers=alice.auth)
    assert r.json()["messages"] == []


def test_a_link_older_than_the_rotation_gets_the_current_key_once_published(
    server: ServerProcess, http: httpx.Client, terminal: list[Terminal], tmp_path: Path
) -> None:
    alice, old_link = alices_room(http)  # the link: made before the rotation
    path = f"/api/rooms/{alice.room_id}"
    # Rotated (nobody else to wrap to), the name sealed with the new key.
    posted = http.post(f"{path}/keys", json={"rotate_to": 1, "wraps": []}, headers=alice.auth)
    assert posted.status_code == 200, posted.text
    name = e2e.seal_room_name(K1, os.urandom(12), "Keys")
    assert http.patch(path, json={"name": name}, headers=alice.auth).status_code == 200
    ws = Peer(server, alice)

    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    term = Terminal(["chat", old_link, "--json", "--name", "late"], env=env)
    terminal.append(term)
    term.wait_for("older than the room's current key")
    # The owner's client sees the new member's key published (a keys frame) and wraps
    # the current key to it, as the browser's does for the room's needs.
    relay = ws.expect("keys")
    late = relay["participant_id"]
    needs = http.get(f"{path}/keys", headers=alice.auth).json()["needs"]
    (need,) = [n for n in needs if n["participant_id"] == late]
    wrap = e2e.wrap_room_key(
        K1,
        room_id=alice.room_id,
        sender=ALICE,
        recipient_public=e2e.b64u_decode(need["identity_key"]),
        ephemeral=e2e.x25519_private(os.urandom(32)),
        nonce=os.urandom(12),
    )
    wraps = [{"to": late, "epoch": 1, "wrap": wrap}]
    assert http.post(f"{path}/keys", json={"wraps": wraps}, headers=alice.auth).status_code == 200
    term.wait_for('"event": "synced"')
    ws.chat("a1", sealed(alice, K1, "for the late joiner", "a1"))
    term.wait_for('"body": "for the late joiner"')
    term.type("late, but sealed with the current key\n")
    got = ws.expect("message", sender=late)
    assert e2e.envelope_kid(got["body"]) == K1.kid
    term.type("\x04")
    assert term.wait_exit() == 0
