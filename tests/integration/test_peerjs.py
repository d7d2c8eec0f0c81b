"""The PeerJS-compatible endpoint over a real server process: the socket's frames,
queueing and EXPIRE, ID-TAKEN, reconnect, the limits, the auth hook, the HTTP routes.

What each test expects is what peerjs-server 1.0 does (its source, and the same client
run against it in tests/e2e/test_peerjs_browser.py); where peerlane differs on purpose,
the test says so.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from websockets.sync.client import connect

from peerjs_client import PeerjsClient
from support import ServerProcess, assert_error

FAST_EXPIRY = {"peerjs_expire_timeout": 0.5, "peerjs_cleanup_out_msgs": 0.1}


def ws_base(server: ServerProcess) -> str:
    return f"ws://127.0.0.1:{server.port}"


@pytest.fixture
def peerjs(server: ServerProcess):
    made: list[PeerjsClient] = []

    def make(peer_id: str, token: str = "tok", key: str = "peerjs") -> PeerjsClient:
        client = PeerjsClient(ws_base(server), peer_id, token, key)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_every_relayed_type_reaches_the_peer_with_src_set_by_the_server(peerjs) -> None:
    a, b = peerjs("alice"), peerjs("bob")
    a.expect("OPEN")
    b.expect("OPEN")
    sdp = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
    for kind in ("OFFER", "ANSWER", "CANDIDATE", "EXPIRE"):
        a.signal(kind, "bob", connectionId="dc_1", sdp=sdp, unicode="é✓")
        got = b.expect(kind)
        assert got["src"] == "alice"
        assert got["dst"] == "bob"
        assert got["payload"] == {"connectionId": "dc_1", "sdp": sdp, "unicode": "é✓"}
    a.signal("LEAVE", "bob")
    assert b.expect("LEAVE")["src"] == "alice"


def test_a_client_cannot_speak_for_another_peer(peerjs) -> None:
    a, b = peerjs("alice"), peerjs("bob")
    a.expect("OPEN")
    b.expect("OPEN")
    a.send({"src": "mallory", "type": "OFFER", "dst": "bob", "payload": {"x": 1}})
    a.send('{"type":"CANDIDATE","dst":"bob","payload":{},"src":"mallory"}')
    for kind in ("OFFER", "CANDIDATE"):
        raw = b.ws.recv(timeout=10)
        assert raw.count('"src"') == 1, raw  # one member, so every parser reads the same
        assert json.loads(raw)["src"] == "alice"
        assert json.loads(raw)["type"] == kind


def test_heartbeats_unknown_types_and_bad_frames_are_ignored(peerjs) -> None:
    a, b = peerjs("alice"), peerjs("bob")
    a.expect("OPEN")
    b.expect("OPEN")
    for frame in (
        '{"type":"HEARTBEAT"}',
        '{"type":"NOPE","dst":"bob"}',
        "not json",
        "[1,2]",
        '{"type":"OFFER","dst":7}',
        '{"type":"OFFER"}',
    ):
        a.send(frame)
    a.signal("CANDIDATE", "bob", n=1)  # the marker: the first frame bob gets
    assert b.expect("CANDIDATE")["payload"] == {"n": 1}
    a.signal("CANDIDATE", "alice", n=2)  # and alice got no reply to any of them
    assert a.expect("CANDIDATE")["payload"] == {"n": 2}


def test_frames_for_a_peer_not_yet_connected_wait_for_it_in_order(peerjs) -> None:
    a = peerjs("alice")
    a.expect("OPEN")
    a.signal("OFFER", "late", n=1)
    a.signal("LEAVE", "late")  # LEAVE and EXPIRE are never queued
    a.signal("CANDIDATE", "late", n=2)
    late = peerjs("late")
    late.expect("OPEN")
    assert late.expect("OFFER")["payload"] == {"n": 1}
    assert late.expect("CANDIDATE")["payload"] == {"n": 2}
    a.signal("ANSWER", "late", n=3)
    assert late.expect("ANSWER")["payload"] == {"n": 3}


def test_a_sender_gets_one_expire_per_peer_that_never_came(start_server) -> None:
    server = start_server(**FAST_EXPIRY)
    a = PeerjsClient(ws_base(server), "alice")
    a.expect("OPEN")
    a.signal("OFFER", "ghost", n=1)
    a.signal("CANDIDATE", "ghost", n=2)
    expired = a.expect("EXPIRE")
    assert (expired["src"], expired["dst"]) == ("ghost", "alice")
    # The queue is gone: the ghost connecting now gets nothing of it.
    ghost = PeerjsClient(ws_base(server), "ghost")
    ghost.expect("OPEN")
    a.signal("CANDIDATE", "ghost", n=3)
    assert ghost.expect("CANDIDATE")["payload"] == {"n": 3}
    a.signal("CANDIDATE", "alice", n=4)  # no second EXPIRE came before this
    assert a.expect("CANDIDATE")["payload"] == {"n": 4}
    metrics = httpx.get(f"{server.base}/metrics").text
    assert "peerlane_peerjs_expired_total 1.0" in metrics
    a.close()
    ghost.close()


def test_an_id_held_with_another_token_is_taken(peerjs) -> None:
    a = peerjs("alice", token="one")
    a.expect("OPEN")
    thief = peerjs("alice", token="two")
    assert thief.expect("ID-TAKEN")["payload"] == {"msg": "ID is taken"}
    assert thief.closed() == 1000
    b = peerjs("bob")
    b.expect("OPEN")
    b.signal("OFFER", "alice", n=1)  # alice keeps her id
    assert a.expect("OFFER")["payload"] == {"n": 1}


def test_reconnecting_with_the_same_token_takes_the_id_over(peerjs) -> None:
    first = peerjs("alice", token="one")
    first.expect("OPEN")
    second = peerjs("alice", token="one")
    # peerjs-server sends nothing here; peerlane says OPEN so the client's "open" fires.
    second.expect("OPEN")
    assert first.closed() == 1000
    b = peerjs("bob")
    b.expect("OPEN")
    b.signal("OFFER", "alice", n=1)
    assert second.expect("OFFER")["src"] == "bob"


def test_after_a_peer_leaves_its_id_is_free_and_frames_wait_again(peerjs) -> None:
    a = peerjs("alice", token="one")
    a.expect("OPEN")
    a.close()
    b = peerjs("bob")
    b.expect("OPEN")
    b.signal("OFFER", "alice", n=1)  # queued (alice is gone)
    again = peerjs("alice", token="another")  # free: any token may have it now
    again.expect("OPEN")
    assert again.expect("OFFER")["payload"] == {"n": 1}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("key=peerjs&id=a", "No id, token, or key supplied to websocket server"),
        ("key=wrong&id=a&token=t", "Invalid key provided"),
        ("key=peerjs&id=" + "x" * 300 + "&token=t", "Invalid id provided"),
    ],
)
def test_bad_socket_parameters_get_error_and_close(server, query: str, message: str) -> None:
    with connect(f"{ws_base(server)}/peerjs/peerjs?{query}") as ws:
        frame = json.loads(ws.recv(timeout=10))
        assert frame == {"type": "ERROR", "payload": {"msg": message}}


def test_the_concurrent_limit(start_server) -> None:
    server = start_server(peerjs_concurrent_limit=2)
    a, b = PeerjsClient(ws_base(server), "a"), PeerjsClient(ws_base(server), "b")
    a.expect("OPEN")
    b.expect("OPEN")
    c = PeerjsClient(ws_base(server), "c")
    assert c.expect("ERROR")["payload"]["msg"] == "Server has reached its concurrent user limit"
    assert c.closed() == 1013
    a.close()
    d = PeerjsClient(ws_base(server), "d")  # a left: room for one more
    d.expect("OPEN")
    for client in (b, d):
        client.close()


def test_a_flooding_peer_is_cut_off(start_server) -> None:
    server = start_server(peerjs_messages_per_second=1, peerjs_message_burst=5)
    a = PeerjsClient(ws_base(server), "a")
    a.expect("OPEN")
    for n in range(6):
        a.signal("CANDIDATE", "nobody", n=n)
    assert a.expect("ERROR")["payload"]["msg"].startswith("Too many messages")
    assert a.closed() == 1013
    metrics = httpx.get(f"{server.base}/metrics").text
    assert 'peerlane_peerjs_refused_total{reason="rate_limited"} 1.0' in metrics


def test_too_many_sockets_from_one_address(start_server) -> None:
    server = start_server(peerjs_ip_connects_per_minute=2)
    for n in range(2):
        PeerjsClient(ws_base(server), f"p{n}").expect("OPEN")
    refused = PeerjsClient(ws_base(server), "p3")
    assert refused.expect("ERROR")["payload"]["msg"].startswith("Too many")
    with httpx.Client(base_url=server.base) as http:
        assert_error(http.get("/peerjs/peerjs/id"), 429, "rate_limited")


def test_a_frame_over_the_size_limit_closes_1009(start_server) -> None:
    server = start_server(peerjs_max_message_bytes=1024)
    a = PeerjsClient(ws_base(server), "a")
    a.expect("OPEN")
    a.signal("OFFER", "b", sdp="x" * 2000)
    assert a.closed() == 1009


def test_a_silent_socket_is_closed_after_the_alive_timeout(start_server) -> None:
    server = start_server(peerjs_alive_timeout=0.5, peerjs_cleanup_out_msgs=0.1)
    a = PeerjsClient(ws_base(server), "a")
    a.expect("OPEN")
    assert a.closed() == 1001


def test_http_routes(server) -> None:
    with httpx.Client(base_url=server.base) as http:
        info = http.get("/peerjs/")
        assert info.json()["name"] == "PeerJS Server"
        assert info.headers["access-control-allow-origin"] == "*"
        first, second = http.get("/peerjs/peerjs/id"), http.get("/peerjs/peerjs/id")
        assert first.status_code == 200
        assert uuid.UUID(first.text) != uuid.UUID(second.text)
        assert first.headers["access-control-allow-origin"] == "*"
        assert_error(http.get("/peerjs/peerjs/peers"), 401, "unauthorized")
        assert_error(http.get("/peerjs/other/id"), 401, "unauthorized")
        assert http.get("/peerjs/peerjs/ice").json() == {"iceServers": []}


def test_discovery_lists_the_connected_ids_of_a_key(start_server) -> None:
    server = start_server(peerjs_allow_discovery=True, peerjs_keys="peerjs,app2")
    a = PeerjsClient(ws_base(server), "a")
    a.expect("OPEN")
    other = PeerjsClient(ws_base(server), "z", key="app2")
    other.expect("OPEN")
    with httpx.Client(base_url=server.base) as http:
        assert http.get("/peerjs/peerjs/peers").json() == ["a"]
        assert http.get("/peerjs/app2/peers").json() == ["z"]
    # Keys are namespaces: the same id under another key is another peer.
    a2 = PeerjsClient(ws_base(server), "a", token="other", key="app2")
    a2.expect("OPEN")
    for client in (a, other, a2):
        client.close()


def test_ice_servers_with_turn_credentials(start_server) -> None:
    server = start_server(
        turn_urls="turn:turn.example.org:3478",
        turn_secret="s3cret",
        ice_servers='[{"urls": ["stun:s"]}]',
    )
    body = httpx.get(f"{server.base}/peerjs/peerjs/ice?id=alice").json()
    stun, turn = body["iceServers"]
    assert stun == {"urls": ["stun:s"]}
    assert turn["urls"] == ["turn:turn.example.org:3478"]
    assert turn["username"].endswith(":alice")
    assert turn["credential"]


def test_signed_tokens(start_server) -> None:
    server = start_server(peerjs_token_secret="app-secret")
    with httpx.Client(base_url=server.base) as http:
        assert_error(http.post("/peerjs/peerjs/token", json={"id": "alice"}), 401, "unauthorized")
        auth = {"authorization": "Bearer app-secret"}
        issued = http.post("/peerjs/peerjs/token", json={"id": "alice"}, headers=auth).json()
        assert_error(http.get("/peerjs/peerjs/ice"), 401, "unauthorized")
        ice = http.get("/peerjs/peerjs/ice", params={"id": "alice", "token": issued["token"]})
        assert ice.status_code == 200
    forged = PeerjsClient(ws_base(server), "alice", token="made-up")
    assert forged.expect("ERROR")["payload"]["msg"] == "Invalid token provided"
    other_id = PeerjsClient(ws_base(server), "bob", token=issued["token"])
    assert other_id.expect("ERROR")["payload"]["msg"] == "Invalid token provided"
    good = PeerjsClient(ws_base(server), "alice", token=issued["token"])
    good.expect("OPEN")
    good.close()


def test_the_endpoint_can_be_moved_or_turned_off(start_server) -> None:
    moved = start_server(peerjs_path="/signal/")
    url = f"ws://127.0.0.1:{moved.port}/signal/peerjs?key=peerjs&id=a&token=t"
    with connect(url) as ws:
        assert json.loads(ws.recv(timeout=10)) == {"type": "OPEN"}
    assert httpx.get(f"{moved.base}/signal/").json()["name"] == "PeerJS Server"
    off = start_server(peerjs_path="")
    assert httpx.get(f"{off.base}/peerjs/peerjs/id").status_code == 404


def test_shutdown_tells_peerjs_sockets_to_go_away(start_server) -> None:
    server = start_server()
    a = PeerjsClient(ws_base(server), "a")
    a.expect("OPEN")
    server.stop()
    assert a.closed() == 1001
