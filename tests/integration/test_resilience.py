"""Crashes, restarts, shutdown, retention and room deletion, on a real server process."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from typing import Any

import httpx

from support import (
    TIMEOUT,
    Member,
    Peer,
    ServerProcess,
    assert_error,
    close_code,
    create_room,
    join,
    link_token,
    open_socket,
    wait_until,
)

StartServer = Callable[..., ServerProcess]


def seqs(http: httpx.Client, member: Member, **params: Any) -> list[int]:
    r = http.get(f"/api/rooms/{member.room_id}/messages", params=params, headers=member.auth)
    assert r.status_code == 200, r.text
    return [m["seq"] for m in r.json()["messages"]]


def messages_in(peer: Peer) -> list[dict[str, Any]]:
    found = [m for m in peer.inbox if m["type"] == "message"]
    peer.inbox[:] = [m for m in peer.inbox if m["type"] != "message"]
    return found


def test_everything_survives_sigkill_and_restart(server: ServerProcess):
    with httpx.Client(base_url=server.base, timeout=10) as http:
        alice = create_room(http)
        bob = join(http, "bob", token=link_token(alice))
        r = http.post(
            f"/api/rooms/{alice.room_id}/invites", json={"max_uses": 5}, headers=alice.auth
        )
        second_invite = r.json()
        pa, pb = Peer(server, alice), Peer(server, bob)
        for i in range(5):
            pa.chat(f"old-{i}", {"i": i})
        assert [m["seq"] for m in pb.messages(5)] == [1, 2, 3, 4, 5]
        pb.close()
        for i in range(5, 8):
            pa.chat(f"old-{i}", {"i": i})  # bob misses 6..8

    server.kill()
    assert close_code(pa.ws) in (None, 1006)  # no goodbye from a killed process
    server.start()  # same data directory, same port

    with httpx.Client(base_url=server.base, timeout=10) as http:
        r = http.get(f"/api/rooms/{alice.room_id}", headers=alice.auth)  # the old token
        assert r.status_code == 200, r.text
        assert r.json()["room"]["latest_seq"] == 8
        r = http.get(f"/api/rooms/{alice.room_id}/participants", headers=bob.auth)
        assert {p["name"] for p in r.json()["participants"]} == {"alice", "bob"}
        r = http.get(f"/api/rooms/{alice.room_id}/invites", headers=alice.auth)
        invites = {inv["id"]: inv for inv in r.json()["invites"]}
        assert invites[alice.body["invite"]["id"]]["uses"] == 1
        assert invites[second_invite["id"]]["max_uses"] == 5
        assert seqs(http, alice) == list(range(1, 9))
        carol = join(http, "carol", code=alice.body["invite"]["code"])
        dave = join(http, "dave", token=second_invite["link"].split("#", 1)[1])
        assert carol.room_id == dave.room_id == alice.room_id

        pb = Peer(server, bob, last_seq=5)
        assert [(m["seq"], m["id"]) for m in messages_in(pb)] == [
            (6, "old-5"),
            (7, "old-6"),
            (8, "old-7"),
        ]
        assert pb.synced["latest_seq"] == 8
        pa = Peer(server, alice, last_seq=8)
        assert messages_in(pa) == []
        assert pa.chat("old-7")["seq"] == 8  # a resend across the crash is still idempotent
        assert pa.chat("new-0")["seq"] == 9
        assert pb.expect("message")["seq"] == 9
        assert pb.expect("presence", event="joined")["peer"]["peer_id"] == pa.peer_id
        pb.assert_silent(0.2)
        assert seqs(http, alice) == list(range(1, 10))
        pa.close()
        pb.close()


def test_sigterm_closes_websockets_with_going_away(server: ServerProcess, http: httpx.Client):
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    pa, pb = Peer(server, alice), Peer(server, bob)
    pa.chat("before-shutdown")
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    assert close_code(pa.ws) == 1001
    assert close_code(pb.ws) == 1001
    # uvicorn re-raises the signal after its graceful shutdown: 0 or "terminated".
    assert server.proc.wait(timeout=3 * TIMEOUT) in (0, -signal.SIGTERM)
    server.proc = None
    assert "Traceback" not in server.logs()


def test_retention_keeps_only_the_newest_messages(start_server: StartServer, client):
    server = start_server(cleanup_interval=0.2)
    http = client(server)
    alice = create_room(http)
    peer = Peer(server, alice)
    for i in range(12):
        peer.chat(f"m{i}")
    r = http.patch(
        f"/api/rooms/{alice.room_id}",
        json={"retention": {"max_messages": 5}},
        headers=alice.auth,
    )
    assert r.status_code == 200, r.text
    retention = r.json()["retention"]
    assert retention["max_messages"] == 5
    # Only the given field changes; the server's defaults for the others stay.
    assert retention["max_age"] == 90 * 86400
    assert retention["idle_expiry"] == 30 * 86400

    wait_until(lambda: len(seqs(http, alice)) <= 5, what="cleanup applied max_messages")
    assert seqs(http, alice) == [8, 9, 10, 11, 12]
    assert seqs(http, alice, after=0) == [8, 9, 10, 11, 12]
    # Numbering goes on where it was.
    assert peer.chat("after-cleanup")["seq"] == 13
    peer.close()


def test_owner_renames_the_room_and_lifts_a_limit_with_null(
    server: ServerProcess, http: httpx.Client
):
    alice = create_room(http, name="Old name")
    r = http.patch(
        f"/api/rooms/{alice.room_id}",
        json={"name": "Planning", "retention": {"max_age": None}},
        headers=alice.auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Planning"
    assert r.json()["retention"]["max_age"] is None
    assert r.json()["retention"]["max_messages"] == 100_000
    room = http.get(f"/api/rooms/{alice.room_id}", headers=alice.auth).json()["room"]
    assert room["name"] == "Planning"


def test_deleting_a_room_closes_its_sockets_and_its_invites(
    server: ServerProcess, http: httpx.Client
):
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    other = create_room(http, "olga")
    pa, pb, po = Peer(server, alice), Peer(server, bob), Peer(server, other)
    pa.chat("soon-gone")

    r = http.delete(f"/api/rooms/{alice.room_id}", headers=alice.auth)
    assert r.status_code == 204
    for peer in (pa, pb):
        assert peer.expect("error")["error"]["code"] == "room_not_found"
        assert close_code(peer.ws) == 4404

    for member in (alice, bob):
        r = http.get(f"/api/rooms/{alice.room_id}/messages", headers=member.auth)
        assert r.status_code in (401, 404), r.text
        assert r.json()["error"]["code"] in ("room_not_found", "unauthorized")
    assert_error(
        http.post("/api/join", json={"display_name": "x", "token": link_token(alice)}),
        404,
        "invite_not_found",
    )
    r = http.post("/api/join", json={"display_name": "x", "code": alice.body["invite"]["code"]})
    assert_error(r, 404, "invite_not_found")
    with open_socket(server.ws_url(alice.room_id), additional_headers=bob.auth) as ws:
        error = json.loads(ws.recv(timeout=TIMEOUT))
        assert error["error"]["code"] == "room_not_found"
        assert close_code(ws) == 4404

    # Other rooms are untouched.
    assert po.chat("still-here")["seq"] == 1
    r = http.get(f"/api/rooms/{other.room_id}", headers=other.auth)
    assert r.status_code == 200
    po.close()


def test_idle_rooms_expire_unless_someone_is_connected(start_server: StartServer, client):
    server = start_server(cleanup_interval=0.2, room_idle_expiry=1.0)
    http = client(server)
    busy = create_room(http, "busy")
    quiet = create_room(http, "quiet")  # created after busy: it cannot expire first
    # Connected but silent: chat that goes peer to peer never reaches the server.
    connected = Peer(server, busy)

    def gone(member: Member) -> bool:
        return http.get(f"/api/rooms/{member.room_id}", headers=member.auth).status_code != 200

    wait_until(lambda: gone(quiet), what="cleanup deleted the idle room")
    assert not gone(busy)
    assert connected.chat("m1", "still here")["seq"] == 1
    connected.close()
    wait_until(lambda: gone(busy), what="the room expires once nobody is connected")
