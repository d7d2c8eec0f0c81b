"""The HTTP side of joining an encrypted room by code (docs/protocol.md, "Short codes by
PAKE"), against a real server process: ``POST /api/join`` sends an encrypted room's code to
the PAKE (``pake_required``) without spending a guess, and ``POST
/api/rooms/{id}/session`` turns the bearer token a PAKE admission gives into the browser's
cookie session."""

from __future__ import annotations

import os

import httpx

from peerlane.core.e2e import RoomKey, seal_room_name
from support import Member, ServerProcess, create_room, join, link_token


def encrypted_room(http: httpx.Client) -> Member:
    """A room as the browser makes it encrypted: its name sealed under a key of its own."""
    name = seal_room_name(RoomKey(os.urandom(32)), os.urandom(12), "Harbour")
    r = http.post("/api/rooms", json={"display_name": "alice", "name": name, "session": "bearer"})
    assert r.status_code == 201, r.text
    body = r.json()
    return Member(body["room"]["id"], body["participant"]["id"], body["token"], body)


def test_an_encrypted_rooms_code_goes_to_the_pake(
    server: ServerProcess, http: httpx.Client
) -> None:
    alice = encrypted_room(http)
    # The server has only the nameplate; the words are the inviting browser's (any here).
    code = f"{alice.body['invite']['nameplate']}-amber-falcon"
    for _ in range(3):  # more than code_max_failures' default: no guess is spent
        r = http.post("/api/join", json={"display_name": "bob", "code": code})
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "pake_required"
    r = http.post("/api/join", json={"display_name": "bob", "code": "99999-no-such"})
    assert r.json()["error"]["code"] == "invite_not_found"
    # The link still joins as it did (its fragment carries the key).
    bob = join(http, "bob", token=link_token(alice), session="bearer")
    assert bob.room_id == alice.room_id
    # A member coming back with the code returns as itself: it is in the room already.
    again = {"display_name": "bob", "code": code, "session": "bearer"}
    r = http.post("/api/join", json=again, headers=bob.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["participant"]["id"], r.json()["returned"]) == (bob.participant_id, True)
    r = http.post("/api/join", json={**again, "display_name": "not bob"}, headers=bob.auth)
    assert r.json()["error"]["code"] == "pake_required"
    # A room without encryption joins by code as before.
    carol = create_room(http, "carol", session="bearer")
    dave = join(http, "dave", code=carol.body["invite"]["code"], session="bearer")
    assert dave.room_id == carol.room_id


def test_a_bearer_session_becomes_the_cookie_session(
    server: ServerProcess, http: httpx.Client
) -> None:
    alice = create_room(http, "alice", session="bearer")
    path = f"/api/rooms/{alice.room_id}/session"
    r = http.post(path, headers={"Authorization": f"Bearer {alice.token}"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["participant"]["id"], out["token"]) == (alice.participant_id, None)
    assert http.cookies.get("peerlane_session", path=f"/api/rooms/{alice.room_id}") == alice.token
    # The cookie alone now opens the room (the same session, no new one) ...
    r = http.get(f"/api/rooms/{alice.room_id}")
    assert r.status_code == 200, r.text
    assert r.json()["participant"]["id"] == alice.participant_id
    # ... and a cookie cannot be exchanged for itself, nor can nothing.
    origin = {"Origin": server.base}
    assert http.post(path, headers=origin).json()["error"]["code"] == "bad_request"
    http.cookies.clear()
    assert http.post(path).status_code == 401
