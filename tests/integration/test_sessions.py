"""Sessions that can be ended, and secrets kept out of logs and insecure transports
(issue #9, findings 7 and 8), against real server processes."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import httpx

from support import (
    TIMEOUT,
    Peer,
    ServerProcess,
    assert_error,
    close_code,
    create_room,
    join,
    link_token,
    open_socket,
)

StartServer = Callable[..., ServerProcess]


def cookie_attributes(response: httpx.Response) -> dict[str, str]:
    """The attributes of the room's session cookie (not its copy for the join route)."""
    (header,) = (
        h for h in response.headers.get_list("set-cookie") if h.startswith("peerlane_session=")
    )
    _, *rest = (part.strip() for part in header.split(";"))
    return {key.lower(): value for key, _, value in (p.partition("=") for p in rest)}


# -- behind a TLS proxy -------------------------------------------------------------------


def test_https_public_url_makes_the_cookie_secure_and_sends_hsts(start_server: StartServer, client):
    """A TLS proxy that is not trusted (no --trust-proxy) forwards plain HTTP; with an
    https public URL the cookie must still be Secure and HSTS on."""
    http = client(start_server(public_url="https://chat.example.org"))
    r = http.post("/api/rooms", json={"display_name": "alice", "session": "cookie"})
    assert r.status_code == 201, r.text
    assert "secure" in cookie_attributes(r)
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert http.get("/healthz").headers["strict-transport-security"].startswith("max-age=")
    room = r.json()["room"]["id"]
    # The client keeps a Secure cookie to itself over http: send it as the proxy would.
    cookie = r.headers.get_list("set-cookie")[0].split(";", 1)[0]
    headers = {"origin": "https://chat.example.org", "cookie": cookie}
    r = http.delete(f"/api/rooms/{room}/session", headers=headers)
    assert r.status_code == 204, r.text
    assert "secure" in cookie_attributes(r)  # the clearing cookie matches the one set


def test_plain_http_public_url_sends_no_hsts(start_server: StartServer, client):
    http = client(start_server(public_url="http://chat.example.org"))
    r = http.post("/api/rooms", json={"display_name": "alice", "session": "cookie"})
    assert "secure" not in cookie_attributes(r)
    assert "strict-transport-security" not in r.headers


# -- sessions that can be ended --------------------------------------------------------


def closed_with(peer: Peer) -> tuple[dict[str, Any], int | None]:
    """The error a peer got just before its socket was closed, and the close code."""
    error = peer.expect("error")
    return error, close_code(peer.ws)


def test_sign_out_ends_the_session_on_the_server(server: ServerProcess, http: httpx.Client):
    alice = create_room(http, "alice")
    bob_phone = join(http, "bob", token=link_token(alice))
    # Bob again, from a second device: another session of another participant.
    bob_laptop = join(http, "bob", token=link_token(alice))
    phone = Peer(server, bob_phone)
    laptop = Peer(server, bob_laptop)
    alice_peer = Peer(server, alice)

    r = http.delete(f"/api/rooms/{alice.room_id}/session", headers=bob_phone.auth)
    assert r.status_code == 204, r.text
    # The token stops working: signing out is not only forgetting a cookie.
    assert_error(
        http.get(f"/api/rooms/{alice.room_id}", headers=bob_phone.auth), 401, "unauthorized"
    )
    error, code = closed_with(phone)
    assert (error["error"]["code"], code) == ("unauthorized", 4401)
    with open_socket(server.ws_url(alice.room_id), additional_headers=bob_phone.auth) as ws:
        assert json.loads(ws.recv(timeout=TIMEOUT))["error"]["code"] == "unauthorized"
        assert close_code(ws) == 4401
    # Everyone else stays.
    assert http.get(f"/api/rooms/{alice.room_id}", headers=bob_laptop.auth).status_code == 200
    laptop.chat("still-here")
    alice_peer.expect("message", id="still-here")
    for peer in (laptop, alice_peer):
        peer.close()


def test_the_owner_removes_a_participant(server: ServerProcess, http: httpx.Client):
    alice = create_room(http, "alice")
    bob = join(http, "bob", token=link_token(alice))
    carol = join(http, "carol", token=link_token(alice))
    base = f"/api/rooms/{alice.room_id}"
    bob_peer = Peer(server, bob)
    bob_chat = bob_peer.chat("before")
    alice_peer = Peer(server, alice)

    # Only the owner, never herself, and only someone in the room.
    assert_error(
        http.delete(f"{base}/participants/{bob.participant_id}", headers=carol.auth),
        403,
        "not_owner",
    )
    assert_error(
        http.delete(f"{base}/participants/{alice.participant_id}", headers=alice.auth),
        400,
        "bad_request",
    )
    assert_error(http.delete(f"{base}/participants/nobody", headers=alice.auth), 404, "not_found")

    r = http.delete(f"{base}/participants/{bob.participant_id}", headers=alice.auth)
    assert r.status_code == 204, r.text
    error, code = closed_with(bob_peer)
    assert error["error"] == {
        "code": "participant_removed",
        "message": "The room's owner removed you from this room.",
    }
    assert code == 4403
    alice_peer.expect("presence", event="left")
    assert_error(http.get(base, headers=bob.auth), 401, "unauthorized")
    names = [
        p["name"]
        for p in http.get(f"{base}/participants", headers=alice.auth).json()["participants"]
    ]
    assert names == ["alice", "carol"]
    # What Bob wrote stays in the history.
    history = http.get(f"{base}/messages", headers=alice.auth).json()["messages"]
    assert [m["seq"] for m in history] == [bob_chat["seq"]]
    assert_error(
        http.delete(f"{base}/participants/{bob.participant_id}", headers=alice.auth),
        404,
        "not_found",
    )
    alice_peer.close()


def test_a_session_in_use_is_renewed_and_an_idle_one_ends(start_server: StartServer, client):
    """session_ttl is the idle lifetime: HTTP requests and WebSocket traffic renew it.
    (The lifetime is real time here, so the test lets time pass: twice the lifetime.)"""
    ttl = 2.0
    server = start_server(session_ttl=ttl)
    http = client(server)
    alice = create_room(http, "alice")
    bob = join(http, "bob", token=link_token(alice))
    carol = join(http, "carol", token=link_token(alice))
    room = f"/api/rooms/{alice.room_id}"
    peer = Peer(server, alice)
    # Alice only talks over her socket, Bob only over HTTP, Carol not at all.
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < 2 * ttl:
        n += 1
        peer.send({"type": "ping", "nonce": str(n)})
        peer.expect("pong", nonce=str(n))
        assert http.get(room, headers=bob.auth).status_code == 200
        with contextlib.suppress(TimeoutError):
            peer.ws.recv(timeout=ttl / 10)  # a pause between uses; nothing is expected
    peer.close()
    # The socket kept Alice's session alive: her token still opens the room.
    assert http.get(room, headers=alice.auth).status_code == 200
    assert http.get(room, headers=bob.auth).status_code == 200
    assert_error(http.get(room, headers=carol.auth), 401, "token_expired")


# -- short codes: guessing per address, retiring only under a distributed attack ----------


def join_from(http: httpx.Client, address: str, **how: Any) -> httpx.Response:
    """A join as if from ``address``, told by a trusted proxy."""
    return http.post(
        "/api/join",
        json={"display_name": "eve", **how},
        headers={"x-forwarded-for": address},
    )


def test_one_address_cannot_retire_a_code_but_many_can(start_server: StartServer, client):
    server = start_server(
        trust_proxy="true",
        code_max_failures=2,
        code_max_total_failures=6,
        failed_joins_per_hour=1000,
        joins_per_minute=1000,
    )
    http = client(server)
    alice = create_room(http)
    code = alice.body["invite"]["code"]
    wrong = code.split("-")[0] + "-wrong-guess"

    for _ in range(2):
        assert_error(join_from(http, "198.51.100.7", code=wrong), 404, "invite_not_found")
    # That address is out of guesses for this code, right or wrong ...
    assert_error(join_from(http, "198.51.100.7", code=code), 429, "too_many_attempts")
    # ... and so is its whole IPv6 /64, counted as one address.
    for _ in range(2):
        assert_error(join_from(http, "2001:db8:1:2::a", code=wrong), 404, "invite_not_found")
    assert_error(join_from(http, "2001:db8:1:2::b", code=code), 429, "too_many_attempts")
    # Everyone else still joins with the code: 4 wrong guesses retired nothing.
    r = join_from(http, "203.0.113.9", code=code)
    assert r.status_code == 200, r.text

    # Many addresses together reach the ceiling (6 in all): the code is retired.
    for _ in range(2):
        assert_error(join_from(http, "192.0.2.44", code=wrong), 404, "invite_not_found")
    assert_error(join_from(http, "203.0.113.10", code=code), 404, "invite_not_found")
    invite = http.get(f"/api/rooms/{alice.room_id}/invites", headers=alice.auth).json()
    assert invite["invites"][0]["code"] is None
    # The link keeps working.
    r = join_from(http, "203.0.113.11", token=link_token(alice))
    assert r.status_code == 200, r.text


def test_codes_can_have_more_words(start_server: StartServer, client):
    http = client(start_server(code_words=4))
    alice = create_room(http)
    number, *words = alice.body["invite"]["code"].split("-")
    assert len(words) == 4
    bob = join(http, "bob", code=f"{number} {' '.join(words)}")
    assert bob.room_id == alice.room_id


# -- secrets at rest -----------------------------------------------------------------------


def test_the_database_holds_no_invite_secret(server: ServerProcess, http: httpx.Client):
    """Only hashes of invite links and code words are stored; the room still sees both
    (derived again from the server secret), and both still work."""
    alice = create_room(http)
    invite = alice.body["invite"]
    token = link_token(alice)
    words = invite["code"].split("-", 1)[1]
    listed = http.get(f"/api/rooms/{alice.room_id}/invites", headers=alice.auth).json()
    assert listed["invites"][0]["link"] == invite["link"]
    assert listed["invites"][0]["code"] == invite["code"]

    with sqlite3.connect(server.data_dir / "peerlane.db") as db:
        rows = db.execute("SELECT * FROM invites").fetchall()
    stored = repr(rows)
    assert len(rows) == 1
    assert token not in stored
    assert words not in stored

    assert join(http, "bob", token=token).room_id == alice.room_id
    assert join(http, "carol", code=invite["code"]).room_id == alice.room_id
