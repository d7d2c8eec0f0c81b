"""Resuming a peer id (core.peer_ids) on a real server process: after a restart a tab
keeps its peer id, a second tab gets its own, and nobody takes another's."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx

from support import (
    Member,
    Peer,
    ServerProcess,
    close_code,
    create_room,
    join,
    link_token,
    open_socket,
)


def pair(server: ServerProcess) -> tuple[Member, Member]:
    with httpx.Client(base_url=server.base, timeout=10) as http:
        alice = create_room(http)
        bob = join(http, "bob", token=link_token(alice))
    return alice, bob


def listed(peer: Peer) -> list[str]:
    return [p["peer_id"] for p in peer.welcome["peers"]]


def test_peer_ids_survive_a_server_restart(server: ServerProcess) -> None:
    alice, bob = pair(server)
    pa, pb = Peer(server, alice), Peer(server, bob, hello_in_url=True)
    a_id, b_id = pa.peer_id, pb.peer_id
    tokens = pa.welcome["resume"], pb.welcome["resume"]
    assert tokens[0].startswith(a_id + ".")
    assert tokens[1].startswith(b_id + ".")

    server.restart()  # SIGTERM: every socket is closed with 1001
    assert close_code(pa.ws) == 1001
    assert close_code(pb.ws) == 1001

    pa = Peer(server, alice, resume=tokens[0])
    assert pa.peer_id == a_id
    pb = Peer(server, bob, resume=tokens[1], hello_in_url=True)  # the browser's way
    assert pb.peer_id == b_id
    assert listed(pb) == [a_id]
    joined = pa.expect("presence", event="joined")
    assert joined["peer"]["peer_id"] == b_id
    pa.close()
    pb.close()


def test_a_second_tab_gets_its_own_id_and_the_first_keeps_its(server: ServerProcess) -> None:
    alice, _ = pair(server)
    first = Peer(server, alice)
    second = Peer(server, alice)
    assert second.peer_id != first.peer_id
    assert listed(second) == [first.peer_id]
    first.chat("still-here")  # the first tab's connection is untouched
    first.close()
    second.close()


def test_nobody_takes_another_participants_peer_id(server: ServerProcess) -> None:
    alice, bob = pair(server)
    pa = Peer(server, alice)
    alices = pa.welcome["resume"]
    mallory = Peer(server, bob, resume=alices)  # bob read it... somehow: still his own id
    assert mallory.peer_id != pa.peer_id
    pa.chat("not-closed")  # alice's connection is not replaced
    seen = pa.expect("presence", event="joined")
    assert seen["peer"] == {
        "peer_id": mallory.peer_id,
        "participant_id": bob.participant_id,
        "name": "bob",
        "role": "member",
    }
    # After alice is gone, bob's resume of her token still gets nothing.
    pa.close()
    pb = Peer(server, bob, resume=alices)
    assert pb.peer_id != pa.peer_id
    mallory.close()
    pb.close()


def test_a_live_connection_of_the_same_tab_is_replaced_quietly(server: ServerProcess) -> None:
    """The server has not noticed the old socket is dead when the tab reconnects: the
    new connection takes the id, the old one is closed with 4409, the others see no
    "left", and presence lists the id once."""
    alice, bob = pair(server)
    pb = Peer(server, bob)
    old = Peer(server, alice)
    pb.expect("presence", event="joined")
    new = Peer(server, alice, resume=old.welcome["resume"])
    assert new.peer_id == old.peer_id
    assert close_code(old.ws) == 4409
    joined = pb.expect("presence", event="joined")
    assert joined["peer"]["peer_id"] == new.peer_id
    pb.assert_silent(0.5)  # no "left" for alice
    late = Peer(server, bob)
    assert sorted(listed(late)) == sorted([new.peer_id, pb.peer_id])
    new.close()
    pb.expect("presence", event="left")
    for peer in (pb, late):
        peer.close()


def test_a_malformed_resume_is_refused_like_any_bad_hello(server: ServerProcess) -> None:
    alice, _ = pair(server)
    for bad in ["x" * 300, "no dots allowed", "peer.short"]:
        url = f"{server.ws_url(alice.room_id)}?v=1&resume={quote(bad)}"
        ws = open_socket(url, additional_headers=alice.auth)
        error = json.loads(ws.recv(timeout=5))
        assert error["type"] == "error", error
        assert error["error"]["code"] == "invalid_message", error
        assert "Traceback" not in error["error"]["message"]
        ws.close()
