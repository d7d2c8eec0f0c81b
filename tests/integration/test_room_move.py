"""Moving a room to an end-to-end encrypted one, the server's part: the owner marks the
old room moved, and from then it is read-only (its history stays readable). Where it
moved is never told to the server, only its key id (docs/security.md, "Moving a room")."""

from __future__ import annotations

import httpx

from support import Peer, ServerProcess, create_room, join, link_token

KEY_ID = "Ab-_0123456"  # an 11-character key id, as the e2e scheme derives it


def test_the_owner_moves_a_room_and_it_becomes_read_only(
    server: ServerProcess, http: httpx.Client
) -> None:
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    pa, pb = Peer(server, alice), Peer(server, bob)
    pa.expect("presence", event="joined")
    assert pa.chat("a-1", "we are moving")["seq"] == 1
    pa.expect("message", id="a-1")
    pb.messages(1)
    room_url = f"/api/rooms/{alice.room_id}"
    assert http.get(room_url, headers=alice.auth).json()["room"]["moved_at"] is None

    # Only the owner moves the room, naming the new room's key id (not its key).
    refused = http.post(f"{room_url}/move", headers=bob.auth, json={"key_id": KEY_ID})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "not_owner"
    for bad in ({}, {"key_id": "short"}, {"key_id": "a" * 43}, {"key_id": KEY_ID, "link": "x"}):
        r = http.post(f"{room_url}/move", headers=alice.auth, json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["code"] == "invalid_message"
    assert http.get(room_url, headers=bob.auth).json()["room"]["moved_at"] is None
    moved = http.post(f"{room_url}/move", headers=alice.auth, json={"key_id": KEY_ID})
    assert moved.status_code == 200, moved.text
    moved_at = moved.json()["moved_at"]
    assert isinstance(moved_at, float)
    assert moved.json()["moved_key_id"] == KEY_ID
    again = http.post(f"{room_url}/move", headers=alice.auth, json={"key_id": "B" * 11})
    assert (again.json()["moved_at"], again.json()["moved_key_id"]) == (moved_at, KEY_ID)
    seen = http.get(room_url, headers=bob.auth).json()["room"]
    assert (seen["moved_at"], seen["moved_key_id"]) == (moved_at, KEY_ID)

    # Nothing more is stored: chat, edits and deletions are refused with one error.
    pb.send({"type": "chat", "id": "b-1", "kind": "text", "body": "still here?"})
    error = pb.expect("error")
    assert (error["ref"], error["error"]["code"]) == ("b-1", "room_moved")
    pa.send({"type": "chat", "id": "a-2", "kind": "edit", "ref": 1, "body": "x"})
    assert pa.expect("error")["error"]["code"] == "room_moved"
    pa.assert_silent()
    pb.assert_silent()
    # The history stays readable for its members.
    page = http.get(f"{room_url}/messages", headers=bob.auth).json()
    assert [m["body"] for m in page["messages"]] == ["we are moving"]


def test_moving_needs_a_session(http: httpx.Client) -> None:
    alice = create_room(http)
    r = http.post(f"/api/rooms/{alice.room_id}/move", json={"key_id": KEY_ID})
    assert r.status_code == 401, r.text
    assert set(r.json()) == {"error"}
    assert set(r.json()["error"]) >= {"code", "message"}
