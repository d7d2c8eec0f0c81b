"""Joining by short code with CPace (docs/protocol.md, "Short codes by PAKE"), against a
real server process: the joiner's pre-join socket ``/api/join/ws``, the member's client
answering on its room socket, one guess counted per attempt, a code retired after too
many failures, waiting for a member, and a database that cannot open the room.

Both sides run the real CPace of ``core/pake.py``; the code's words are the clients'
own (the server never gets them)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pake_join_client import (
    HANDOVER_AAD,
    WORDS,
    finish_joiner,
    join_as_joiner,
    member_admit,
    member_reply,
    open_join,
    pake_url,
    recv,
    recv_start,
    wrong_attempt,
)
from peerlane.core import pake
from peerlane.core.e2e import b64u_decode, b64u_encode
from services import create_database
from support import Member, Peer, ServerProcess, close_code, create_room, open_socket

StartServer = Callable[..., ServerProcess]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Iterator[dict[str, object]]:
    """Each test once on SQLite with the in-process bus, once on PostgreSQL with Redis
    (a fresh database; Redis emptied after, so no limit's bucket outlives its test)."""
    if request.param == "sqlite":
        yield {}
        return
    url: str = request.getfixturevalue("redis_url")
    pg = request.getfixturevalue("pg_server")
    yield {"database_url": create_database(pg), "redis_url": url}
    redis.Redis.from_url(url).flushall()


@pytest.fixture
def start_server(start_server: StartServer, backend: dict[str, object]) -> StartServer:
    def start(**settings: object) -> ServerProcess:
        return start_server(**backend, **settings)

    return start


@pytest.fixture
def server(start_server: StartServer) -> ServerProcess:
    return start_server()


def alice_answering(
    start_server: StartServer, client: Callable[[ServerProcess], httpx.Client], **limits: int
) -> tuple[ServerProcess, httpx.Client, Member, Peer]:
    """A server with these code limits, alice's room, and alice on its socket: the
    member who answers the joiners."""
    server = start_server(**limits)
    http = client(server)
    alice = create_room(http, "alice")
    return server, http, alice, Peer(server, alice)


def test_right_code_admits_and_hands_over_the_room_key(
    server: ServerProcess, http: httpx.Client
) -> None:
    alice = create_room(http, "alice")
    peer = Peer(server, alice)
    room_key = os.urandom(32)
    ws = open_join(server, alice, "bob")
    joiner, start = join_as_joiner(ws, "Quiet Harbor  lantern")  # typed loosely
    assert start["member"] == alice.participant_id
    answering = member_reply(peer, WORDS)
    handover_key = finish_joiner(ws, joiner, start["attempt"])
    assert handover_key is not None
    assert member_admit(peer, answering, room_key) == "pake.admit"
    admitted = recv(ws)
    assert admitted["type"] == "pake.admitted", admitted
    raw = b64u_decode(admitted["handover"])
    assert AESGCM(handover_key).decrypt(raw[:12], raw[12:], HANDOVER_AAD) == room_key
    assert close_code(ws) == 1000

    # The credentials work: bob is a participant, on the room's socket too.
    bob = Member(alice.room_id, admitted["participant_id"], admitted["token"], {})
    r = http.get(f"/api/rooms/{alice.room_id}", headers=bob.auth)
    assert r.status_code == 200, r.text
    assert r.json()["participant"]["name"] == "bob"
    Peer(server, bob).close()
    peer.close()

    # The server's database, files and log alone cannot open the room: the words, the
    # room key and the hand-over key appear nowhere in what it holds.
    secrets_held = [
        WORDS,
        WORDS.replace("-", " "),
        b64u_encode(room_key),
        room_key.hex(),
        b64u_encode(handover_key),
        handover_key.hex(),
    ]
    for path in Path(server.data_dir).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets_held:
                assert secret.encode() not in data, (path, secret)
            assert room_key not in data, path
            assert handover_key not in data, path


def test_wrong_code_fails_on_both_sides_and_is_counted(
    start_server: StartServer, client: Callable[[ServerProcess], httpx.Client]
) -> None:
    server, http, alice, peer = alice_answering(
        start_server, client, code_max_failures=2, code_max_total_failures=50
    )
    wrong_attempt(server, alice, peer)
    wrong_attempt(server, alice, peer)
    # Two guesses counted from this address: the third is refused before any relay.
    ws = open_join(server, alice)
    error = recv(ws)
    assert (error["type"], error["error"]["code"]) == ("error", "too_many_attempts"), error
    assert close_code(ws) == 1000
    peer.assert_silent()
    r = http.get(f"/api/rooms/{alice.room_id}/participants", headers=alice.auth)
    assert [p["name"] for p in r.json()["participants"]] == ["alice"]


def test_member_rejects_a_wrong_confirmation(server: ServerProcess, http: httpx.Client) -> None:
    """A joiner that confirms although the words differ (a bad client) is rejected by
    the member, and told the code is not right."""
    alice = create_room(http, "alice")
    peer = Peer(server, alice)
    ws = open_join(server, alice)
    start = recv_start(ws)
    wrong = pake.JoinerPake.start(
        "other-words-here",
        invite_id=start["invite"],
        joiner_id=start["joiner"],
        member_id=start["member"],
        sid=b64u_decode(start["attempt"]),
    )
    ws.send(
        json.dumps(
            {"type": "pake.share", "attempt": start["attempt"], "share": b64u_encode(wrong.share)}
        )
    )
    share = peer.expect("pake.share")
    peer.send(
        {
            "type": "pake.reply",
            "attempt": share["attempt"],
            "share": b64u_encode(os.urandom(32)),
            "confirm": b64u_encode(os.urandom(64)),
        }
    )
    recv(ws)  # the member's reply (the joiner ignores that it does not check out)
    ws.send(
        json.dumps(
            {
                "type": "pake.confirm",
                "attempt": start["attempt"],
                "confirm": b64u_encode(os.urandom(64)),
            }
        )
    )
    peer.expect("pake.confirm")
    peer.send({"type": "pake.reject", "attempt": share["attempt"]})
    failed = recv(ws)
    assert failed["type"] == "pake.failed"
    assert failed["error"]["code"] == "code_mismatch"
    assert close_code(ws) == 1000


def test_code_retires_after_too_many_failures(
    start_server: StartServer, client: Callable[[ServerProcess], httpx.Client]
) -> None:
    server, http, alice, peer = alice_answering(
        start_server, client, code_max_failures=10, code_max_total_failures=2
    )
    wrong_attempt(server, alice, peer)
    wrong_attempt(server, alice, peer)
    ws = open_join(server, alice)
    assert recv(ws)["error"]["code"] == "invite_not_found"
    assert close_code(ws) == 1000
    r = http.get(f"/api/rooms/{alice.room_id}/invites", headers=alice.auth)
    (invite,) = r.json()["invites"]
    assert invite["code"] is None  # retired: the link still works


def test_no_member_online_waits_until_one_connects(
    server: ServerProcess, http: httpx.Client
) -> None:
    alice = create_room(http, "alice")
    ws = open_join(server, alice, "bob")
    waiting = recv(ws)
    assert waiting["type"] == "pake.waiting"
    # A share before a member is there is refused; the attempt keeps waiting.
    ws.send(
        json.dumps(
            {
                "type": "pake.share",
                "attempt": waiting["attempt"],
                "share": b64u_encode(os.urandom(32)),
            }
        )
    )
    assert recv(ws)["error"]["code"] == "invalid_message"
    peer = Peer(server, alice)
    room_key = os.urandom(32)
    joiner, start = join_as_joiner(ws, WORDS)
    assert start["attempt"] == waiting["attempt"]
    answering = member_reply(peer, WORDS)
    assert finish_joiner(ws, joiner, start["attempt"]) is not None
    assert member_admit(peer, answering, room_key) == "pake.admit"
    assert recv(ws)["type"] == "pake.admitted"
    peer.close()


def test_bad_open_gets_one_error_shape(server: ServerProcess, http: httpx.Client) -> None:
    ws = open_socket(pake_url(server))
    ws.send(json.dumps({"type": "pake.open", "nameplate": "seven"}))
    error = recv(ws)
    assert error["type"] == "error"
    assert set(error["error"]) == {"code", "message"}
    assert error["error"]["code"] == "invalid_message"
    assert close_code(ws) == 1000


def test_a_right_code_is_refunded_and_does_not_retire_the_code(
    start_server: StartServer, client: Callable[[ServerProcess], httpx.Client]
) -> None:
    """With one failure already counted and a limit of two, a right code counts a
    second guess while in flight; its admission takes it back, so the code stays."""
    server, http, alice, peer = alice_answering(
        start_server, client, code_max_failures=10, code_max_total_failures=2
    )
    wrong_attempt(server, alice, peer)
    ws = open_join(server, alice)
    joiner, start = join_as_joiner(ws, WORDS)
    answering = member_reply(peer, WORDS)
    assert finish_joiner(ws, joiner, start["attempt"]) is not None
    assert member_admit(peer, answering, os.urandom(32)) == "pake.admit"
    assert recv(ws)["type"] == "pake.admitted"
    assert close_code(ws) == 1000
    r = http.get(f"/api/rooms/{alice.room_id}/invites", headers=alice.auth)
    (invite,) = r.json()["invites"]
    assert invite["code"] is not None
    # The next failure is the second: now the code retires.
    wrong_attempt(server, alice, peer)
    r = http.get(f"/api/rooms/{alice.room_id}/invites", headers=alice.auth)
    assert r.json()["invites"][0]["code"] is None


def test_bad_frames_are_refused_then_the_joiner_is_closed(
    server: ServerProcess, http: httpx.Client
) -> None:
    alice = create_room(http, "alice")
    ws = open_join(server, alice)
    assert recv(ws)["type"] == "pake.waiting"
    ws.send(b"\x00\x01binary")
    assert recv(ws)["error"]["code"] == "invalid_message"
    for _ in range(20):
        ws.send("not json")
    assert close_code(ws) == 1000


def test_either_side_leaving_ends_the_attempt_for_the_other(
    server: ServerProcess, http: httpx.Client
) -> None:
    alice = create_room(http, "alice")
    peer = Peer(server, alice)
    # The joiner goes away after its share: the member is told to stop.
    ws = open_join(server, alice)
    _, start = join_as_joiner(ws, WORDS)
    peer.expect("pake.share", attempt=start["attempt"])
    ws.close()
    peer.expect("pake.abort", attempt=start["attempt"])
    # The member goes away mid-attempt: the joiner is told, and may try again.
    ws = open_join(server, alice)
    _, start = join_as_joiner(ws, WORDS)
    peer.expect("pake.share", attempt=start["attempt"])
    peer.close()
    error = recv(ws)
    assert (error["type"], error["error"]["code"]) == ("error", "unavailable"), error
    assert close_code(ws) == 1000
    # No member online any more: a new attempt waits.
    ws = open_join(server, alice)
    assert recv(ws)["type"] == "pake.waiting"
    ws.close()


def test_a_members_pake_frames_spend_its_message_budget(
    start_server: StartServer, client: Callable[[ServerProcess], httpx.Client]
) -> None:
    server = start_server(messages_per_second=0.01, message_burst=3)  # the hello spends one
    http = client(server)
    alice = create_room(http, "alice")
    peer = Peer(server, alice)
    stray = {"type": "pake.reject", "attempt": "not-an-attempt"}
    codes = []
    for _ in range(3):
        peer.send(stray)
        codes.append(peer.expect("error")["error"]["code"])
    assert codes == ["invalid_message", "invalid_message", "rate_limited"]
