"""The WebSocket protocol end to end: presence, signaling, chat, replay, limits and bad
input, against a real server process."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed

from support import (
    TIMEOUT,
    Member,
    Peer,
    ServerProcess,
    close_code,
    create_room,
    join,
    link_token,
    open_socket,
    wait_until,
)

StartServer = Callable[..., ServerProcess]

# Opaque bodies: whatever JSON a client sends comes back as the same JSON.
BODIES: list[Any] = [
    "plain text",
    'ünïcødé — 🚀 中文 עברית \u200f \u211d \t\n " \\ </script> \u0000',
    {"nested": {"list": [1, 2.5, -3, None, True, False, {"deep": [[[]]]}], "empty": {}}},
    "SGVsbG8sIGJpbmFyeSB3b3JsZCEAAQID/+7dzLuqmYh3ZlVEMyIRAA==",  # base64 ciphertext
    {"z": 1, "a": 2, "m": [3.0, 1e-7, 12345678901234567]},  # key order and number forms
    [],
    None,
    0,
    {"iv": "AAECAwQFBgcICQoL", "ct": "q83vEjRWeJA=", "alg": "A256GCM"},
]


def canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def messages_in(peer: Peer) -> list[dict[str, Any]]:
    """The ``message``s waiting in ``peer``'s inbox (others are left there)."""
    found = [m for m in peer.inbox if m["type"] == "message"]
    peer.inbox[:] = [m for m in peer.inbox if m["type"] != "message"]
    return found


def history(http: httpx.Client, member: Member, **params: Any) -> list[dict[str, Any]]:
    r = http.get(f"/api/rooms/{member.room_id}/messages", params=params, headers=member.auth)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["messages"]
    return found


def error_code(peer: Peer, timeout: float = TIMEOUT) -> str:
    return str(peer.expect("error", timeout)["error"]["code"])


def ping_works(peer: Peer, nonce: str = "still-open") -> None:
    peer.send({"type": "ping", "nonce": nonce})
    assert peer.expect("pong", nonce=nonce)


# -- presence and signaling --------------------------------------------------------------


def test_presence_welcome_joined_and_left(server: ServerProcess, http: httpx.Client):
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    carol = join(http, "carol", token=link_token(alice))

    pa = Peer(server, alice)
    assert pa.welcome["peers"] == []
    assert pa.welcome["room_id"] == alice.room_id
    assert pa.welcome["role"] == "owner"
    assert pa.welcome["mesh_connect_timeout"] == 15.0  # the setting's default
    pb = Peer(server, bob)
    assert pb.welcome["peers"] == [
        {"peer_id": pa.peer_id, "participant_id": alice.participant_id, "name": "alice",
         "role": "owner"}
    ]  # fmt: skip
    joined = pa.expect("presence", event="joined")
    assert joined["peer"] == {
        "peer_id": pb.peer_id,
        "participant_id": bob.participant_id,
        "name": "bob",
        "role": "member",
    }
    pc = Peer(server, carol)
    assert {p["peer_id"] for p in pc.welcome["peers"]} == {pa.peer_id, pb.peer_id}
    for peer in (pa, pb):
        assert peer.expect("presence", event="joined")["peer"]["peer_id"] == pc.peer_id

    r = http.get(f"/api/rooms/{alice.room_id}/participants", headers=alice.auth)
    assert {p["name"]: p["online"] for p in r.json()["participants"]} == {
        "alice": True,
        "bob": True,
        "carol": True,
    }

    pb.close()
    for peer in (pa, pc):
        left = peer.expect("presence", event="left")
        assert left["peer"]["peer_id"] == pb.peer_id
    r = http.get(f"/api/rooms/{alice.room_id}/participants", headers=alice.auth)
    assert {p["name"]: p["online"] for p in r.json()["participants"]}["bob"] is False
    pa.close()
    pc.close()


def test_signaling_reaches_only_the_named_peer(server: ServerProcess, http: httpx.Client):
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    carol = join(http, "carol", token=link_token(alice))
    dave = create_room(http, "dave")
    pa, pb, pc, pd = (Peer(server, m) for m in (alice, bob, carol, dave))
    pa.expect("presence", event="joined")
    pa.expect("presence", event="joined")
    pb.expect("presence", event="joined")

    exchange = [
        (pa, pb, "offer", {"type": "offer", "sdp": "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\n"}),
        (pb, pa, "answer", {"type": "answer", "sdp": "v=0\r\n"}),
        (pa, pb, "candidate", {"candidate": "candidate:1 1 udp 2122 10.0.0.2 50000 typ host",
                               "sdpMid": "0", "sdpMLineIndex": 0}),
        (pb, pa, "candidate", None),
        (pa, pb, "bye", None),
    ]  # fmt: skip
    for sender, receiver, kind, data in exchange:
        sender.send({"type": "signal", "to": receiver.peer_id, "kind": kind, "data": data})
        got = receiver.expect("signal")
        assert got == {"type": "signal", "sender": sender.peer_id, "kind": kind, "data": data}
    pc.assert_silent()
    pd.assert_silent()

    # A peer of another room (or oneself) cannot be addressed.
    pa.send({"type": "signal", "to": pd.peer_id, "kind": "offer", "data": {"sdp": "x"}})
    assert error_code(pa) == "peer_not_found"
    pa.send({"type": "signal", "to": pa.peer_id, "kind": "offer", "data": {"sdp": "x"}})
    assert error_code(pa) == "peer_not_found"
    pd.send({"type": "signal", "to": pa.peer_id, "kind": "offer", "data": {"sdp": "x"}})
    assert error_code(pd) == "peer_not_found"
    for peer in (pa, pb, pc):
        peer.assert_silent()
    for peer in (pa, pb, pc, pd):
        peer.close()


# -- chat ------------------------------------------------------------------------------


def test_chat_is_acked_relayed_and_bodies_are_opaque(server: ServerProcess, http: httpx.Client):
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    pa, pb = Peer(server, alice), Peer(server, bob)
    pa.expect("presence", event="joined")

    for n, body in enumerate(BODIES, start=1):
        ack = pa.chat(f"c-{n}", body)
        assert ack["seq"] == n
        assert isinstance(ack["ts"], float)
        got = pb.expect("message")
        assert (got["seq"], got["id"], got["sender"], got["sender_name"]) == (
            n,
            f"c-{n}",
            alice.participant_id,
            "alice",
        )
        assert canonical(got["body"]) == canonical(body)
        assert got["ts"] == ack["ts"]
        assert got["kind"] == "text"

    # A reaction refers to a message by seq; it is relayed like any other message.
    pb.send({"type": "chat", "id": "r-1", "kind": "reaction", "ref": 1, "body": "👍"})
    assert pb.expect("ack", id="r-1")["seq"] == len(BODIES) + 1
    reaction = pa.expect("message", id="r-1")
    assert (reaction["kind"], reaction["ref"], reaction["body"]) == ("reaction", 1, "👍")

    stored = history(http, bob, after=0, limit=len(BODIES))
    assert [canonical(m["body"]) for m in stored] == [canonical(b) for b in BODIES]
    pa.close()
    pb.close()


def test_resending_an_id_is_idempotent(server: ServerProcess, http: httpx.Client):
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    pa, pb = Peer(server, alice), Peer(server, bob)
    pa.expect("presence", event="joined")

    first = pa.chat("same-id", "first")
    assert pb.expect("message", id="same-id")["body"] == "first"
    again = pa.chat("same-id", "first")
    changed = pa.chat("same-id", "a different body")  # the first one stays
    assert first["seq"] == again["seq"] == changed["seq"] == 1
    assert first["ts"] == again["ts"]

    # Also after a reconnect (the ack was lost with the connection).
    pa.close()
    pa = Peer(server, alice, last_seq=1)
    assert pa.chat("same-id", "first")["seq"] == 1
    # Ids are per sender: bob's "same-id" is a new message.
    assert pb.chat("same-id", "bob's")["seq"] == 2
    marker = pa.chat("marker", "end")
    assert marker["seq"] == 3
    pb.expect("message", id="marker")
    assert [m["seq"] for m in messages_in(pb)] == [2]  # bob's own; no second seq 1
    assert [(m["seq"], m["body"]) for m in history(http, alice)] == [
        (1, "first"),
        (2, "bob's"),
        (3, "end"),
    ]
    pa.close()
    pb.close()


def test_stored_tells_which_of_my_ids_the_room_has(server: ServerProcess, http: httpx.Client):
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    pa, pb = Peer(server, alice), Peer(server, bob)
    first = pa.chat("mine-1", "one")
    pb.chat("bobs-1", "bob's")
    second = pa.chat("mine-2", "two")
    pa.close()

    # A new connection whose client lost the acks of its unconfirmed messages.
    pa = Peer(server, alice)
    pa.send({"type": "stored", "ids": ["mine-3", "mine-2", "bobs-1", "mine-1", "mine-2"]})
    answer = pa.expect("stored")

    assert answer["acks"] == [
        {"type": "ack", "id": "mine-2", "seq": second["seq"], "ts": second["ts"]},
        {"type": "ack", "id": "mine-1", "seq": first["seq"], "ts": first["ts"]},
    ]
    assert answer["missing"] == ["mine-3", "bobs-1"]  # bob's id is not alice's
    # Bounded: more ids than one question may hold is bad input; the socket stays open.
    pa.send({"type": "stored", "ids": [f"id-{i}" for i in range(101)]})
    assert error_code(pa) == "invalid_message"
    ping_works(pa)
    pa.close()
    pb.close()


# -- reconnect and replay ----------------------------------------------------------------


def test_reconnect_replays_exactly_the_missed_messages(server: ServerProcess, http: httpx.Client):
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    carol = join(http, "carol", token=link_token(alice))
    pa, pb, pc = (Peer(server, m) for m in (alice, bob, carol))
    pa.chat("before-1")
    pa.chat("before-2")
    assert [m["seq"] for m in pb.messages(2)] == [1, 2]
    pb.close()

    sent = []
    for i in range(7):
        sender = pa if i % 2 else pc
        sent.append((sender.chat(f"missed-{i}", {"i": i})["seq"], f"missed-{i}"))
    assert [s for s, _ in sent] == list(range(3, 10))

    pb = Peer(server, bob, last_seq=2)
    replayed = [(m["seq"], m["id"]) for m in messages_in(pb)]
    assert replayed == sent
    assert pb.synced["latest_seq"] == 9
    assert pb.welcome["latest_seq"] == 9
    # Live messages continue right after the replay, once each.
    pa.chat("live")
    assert pb.expect("message")["seq"] == 10
    pb.assert_silent(0.2)

    # From the start, and from a future seq (a stale client: the room wins).
    fresh = Peer(server, bob, last_seq=0)
    assert [m["seq"] for m in messages_in(fresh)] == list(range(1, 11))
    stale = Peer(server, bob, last_seq=999)
    assert messages_in(stale) == []
    assert stale.synced["latest_seq"] == 10
    for peer in (pa, pb, pc, fresh, stale):
        peer.close()


def test_hello_in_the_url_is_a_hello(server: ServerProcess, http: httpx.Client):
    """``?v=1&last_seq=N`` on the socket's URL stands for the hello frame: the welcome comes
    without one, the replay starts after N, and bad values get the hello's errors."""
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    pa = Peer(server, alice, hello_in_url=True)
    assert pa.welcome["peers"] == []
    for i in range(3):
        pa.chat(f"m{i}")
    pb = Peer(server, bob, last_seq=1, hello_in_url=True)
    assert [m["seq"] for m in messages_in(pb)] == [2, 3]
    assert pb.synced["latest_seq"] == 3
    assert pa.expect("presence", event="joined")["peer"]["peer_id"] == pb.peer_id
    # A hello frame after the URL's is refused; the connection stays open.
    pb.send({"type": "hello", "v": 1})
    assert error_code(pb) == "invalid_message"
    ping_works(pb)

    url = server.ws_url(bob.room_id)
    for query in ("v=abc", "v=1&last_seq=-4", "v=1&last_seq=" + "9" * 40):
        ws = open_socket(f"{url}?{query}", additional_headers=bob.auth)
        reply = json.loads(ws.recv(timeout=TIMEOUT))
        assert reply["error"]["code"] == "invalid_message", (query, reply)
        # Still waiting for a hello: a good frame gets the welcome.
        ws.send(json.dumps({"type": "hello", "v": 1}))
        assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "welcome"
        ws.close()
    ws = open_socket(f"{url}?v=2", additional_headers=bob.auth)
    assert json.loads(ws.recv(timeout=TIMEOUT))["error"]["code"] == "unsupported_version"
    assert close_code(ws) == 4400
    for peer in (pa, pb):
        peer.close()


def test_welcome_carries_the_operators_mesh_connect_timeout(start_server: StartServer, client):
    server = start_server(mesh_connect_timeout=4.5)
    owner = create_room(client(server))
    peer = Peer(server, owner)
    assert peer.welcome["mesh_connect_timeout"] == 4.5
    peer.close()


def test_replay_larger_than_a_page(start_server: StartServer, client):
    server = start_server(
        messages_per_second=100_000,
        message_burst=100_000,
        participant_messages_per_second=100_000,
        participant_message_burst=100_000,
        ip_messages_per_second=100_000,
        ip_message_burst=100_000,
    )
    http = client(server)
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    total = 1200  # more than two pages of REPLAY_PAGE (500)
    senders = [Peer(server, alice), Peer(server, bob), Peer(server, alice)]
    ids = [f"bulk-{i}" for i in range(total)]
    for i, client_id in enumerate(ids):  # pipelined: every frame first, then the acks
        senders[i % 3].send({"type": "chat", "id": client_id, "body": i})
    acked = {}
    for i, client_id in enumerate(ids):
        acked[client_id] = senders[i % 3].expect("ack", id=client_id, timeout=3 * TIMEOUT)["seq"]
    assert sorted(acked.values()) == list(range(1, total + 1))
    for peer in senders:
        peer.close()

    from_start = Peer(server, bob, last_seq=0)
    got = messages_in(from_start)
    assert [m["seq"] for m in got] == list(range(1, total + 1))
    assert all(acked[m["id"]] == m["seq"] for m in got)
    assert from_start.synced["latest_seq"] == total
    from_middle = Peer(server, bob, last_seq=650)
    assert [m["seq"] for m in messages_in(from_middle)] == list(range(651, total + 1))
    from_start.close()
    from_middle.close()


# -- limits and bad input ----------------------------------------------------------------


def test_flood_is_rate_limited_and_recovers(start_server: StartServer, client):
    server = start_server(messages_per_second=1, message_burst=3)
    http = client(server)
    alice = create_room(http)
    peer = Peer(server, alice)  # the hello took one token
    ids = [f"flood-{i}" for i in range(10)]
    for client_id in ids:
        peer.send({"type": "chat", "id": client_id, "body": client_id})
    outcome = {}
    while len(outcome) < len(ids):
        reply = peer.recv()  # acks and errors, in order; the room's messages are skipped
        if reply["type"] == "ack":
            outcome[reply["id"]] = "ack"
        elif reply["type"] == "error":
            outcome[reply["ref"]] = reply["error"]["code"]
    limited = [i for i in ids if outcome[i] == "rate_limited"]
    assert set(outcome) == set(ids)
    assert len(limited) >= 3
    assert set(outcome.values()) == {"ack", "rate_limited"}
    stored = {m["id"] for m in history(http, alice)}
    assert stored == {i for i in ids if outcome[i] == "ack"}

    # Once the bucket has refilled, messages go through again: resend a refused one.
    def resend() -> dict[str, Any] | None:
        peer.send({"type": "chat", "id": limited[0], "body": "resent"})
        while True:
            reply = peer.recv()
            if reply["type"] == "ack":
                return reply
            if reply["type"] == "error":
                assert (reply["error"]["code"], reply["ref"]) == ("rate_limited", limited[0])
                return None

    ack = wait_until(resend, interval=0.3, what="rate limit bucket refilled")
    assert ack["id"] == limited[0]
    assert ack["seq"] == len(stored) + 1
    peer.close()


def test_malformed_input_keeps_the_connection_and_a_garbage_flood_closes_it(
    server: ServerProcess, http: httpx.Client
):
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))

    # Before hello: only ping is answered; the rest asks for hello.
    with open_socket(server.ws_url(alice.room_id), additional_headers=alice.auth) as ws:
        ws.send(json.dumps({"type": "chat", "id": "early", "body": "x"}))
        early = json.loads(ws.recv(timeout=TIMEOUT))
        assert (early["type"], early["error"]["code"], early["ref"]) == (
            "error",
            "hello_required",
            "early",
        )
        ws.send(json.dumps({"type": "ping", "nonce": "n"}))
        assert json.loads(ws.recv(timeout=TIMEOUT)) == {"type": "pong", "nonce": "n"}
        # An unknown protocol version is refused with its own close code.
        ws.send(json.dumps({"type": "hello", "v": 2}))
        refused = json.loads(ws.recv(timeout=TIMEOUT))
        assert refused["error"]["code"] == "unsupported_version"
        assert close_code(ws) == 4400

    pa, pb = Peer(server, alice), Peer(server, bob)
    pa.expect("presence", event="joined")
    cases: list[tuple[str | bytes | dict[str, Any], str]] = [
        ("{not json", "invalid_json"),
        (b"\xff\xfe\x00garbage", "invalid_json"),
        ('{"type": "chat", "id": "nan", "body": NaN}', "invalid_json"),
        ('"just a string"', "invalid_message"),
        ("[1, 2, 3]", "invalid_message"),
        ({"type": "dance"}, "unknown_type"),
        ({"no": "type"}, "unknown_type"),
        ({"type": "chat", "id": 123, "body": "x"}, "invalid_message"),
        ({"type": "chat", "id": "has spaces", "body": "x"}, "invalid_message"),
        ({"type": "chat", "body": "no id"}, "invalid_message"),
        ({"type": "signal", "to": pb.peer_id, "kind": "shout"}, "invalid_message"),
        ({"type": "typing", "active": [1]}, "invalid_message"),
        ({"type": "receipt", "seq": -1}, "invalid_message"),
        ({"type": "ping", "surprise": 1}, "invalid_message"),
        ({"type": "hello", "v": 1}, "invalid_message"),  # a second hello
    ]
    for n, (frame, code) in enumerate(cases):
        pa.send(frame)
        error = pa.expect("error")
        assert error["error"]["code"] == code, (frame, error)
        assert "Traceback" not in error["error"]["message"]
        ping_works(pa, f"after-{n}")
    assert history(http, alice) == []
    pb.assert_silent()

    # An abusive flood of garbage closes the connection (policy violation).
    for _ in range(40):
        try:
            pa.send("garbage")
        except ConnectionClosed:
            break
    assert close_code(pa.ws) == 1008
    assert pb.expect("presence", event="left")["peer"]["peer_id"] == pa.peer_id
    ping_works(pb)
    pb.close()
