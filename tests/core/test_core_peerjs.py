"""The PeerJS protocol rules without I/O: the envelope, claims, queues and EXPIRE,
liveness, and the signed token."""

from __future__ import annotations

import json

import pytest

from peerlane.core import peerjs as pj

SRC = json.dumps("alice")


def test_a_relayed_frame_keeps_its_text_and_gets_src_last() -> None:
    text = '{"type":"OFFER","dst":"bob","payload":{"sdp":"v=0\\r\\n","n":1}}  \n'
    frame = pj.read_frame(text, SRC)
    assert frame.kind is pj.Kind.RELAY
    assert (frame.type, frame.dst) == ("OFFER", "bob")
    assert (
        frame.text
        == '{"type":"OFFER","dst":"bob","payload":{"sdp":"v=0\\r\\n","n":1},"src":"alice"}'
    )
    assert json.loads(frame.text)["payload"] == {"sdp": "v=0\r\n", "n": 1}


def test_bytes_frames_are_read_as_text() -> None:
    frame = pj.read_frame(b'{"type":"CANDIDATE","dst":"bob"}', SRC)
    assert frame.text == '{"type":"CANDIDATE","dst":"bob","src":"alice"}'


def test_a_frame_with_its_own_src_is_rebuilt_with_one_src() -> None:
    frame = pj.read_frame('{"src":"mallory","type":"ANSWER","dst":"bob","payload":1}', SRC)
    assert frame.text.count('"src"') == 1
    assert json.loads(frame.text) == {"src": "alice", "type": "ANSWER", "dst": "bob", "payload": 1}


@pytest.mark.parametrize(
    "text",
    ["nope", "[1]", '"s"', '{"type":"WHAT","dst":"b"}', '{"dst":"b"}', '{"type":"OFFER"}',
     '{"type":"OFFER","dst":5}', '{"type":"OFFER","dst":""}', '{"type":"LEAVE","dst":3}'],
)  # fmt: skip
def test_frames_that_route_nowhere_are_ignored(text: str) -> None:
    assert pj.read_frame(text, SRC).kind is pj.Kind.IGNORE


def test_heartbeat_and_leaving_the_server() -> None:
    assert pj.read_frame('{"type":"HEARTBEAT"}', SRC).kind is pj.Kind.HEARTBEAT
    assert pj.read_frame('{"type":"LEAVE"}', SRC).kind is pj.Kind.LEAVE_SERVER
    assert pj.read_frame('{"type":"LEAVE","dst":"b"}', SRC).kind is pj.Kind.RELAY


def test_server_frames_are_peerjs_servers() -> None:
    assert json.loads(pj.OPEN_FRAME) == {"type": "OPEN"}
    assert json.loads(pj.ID_TAKEN_FRAME) == {"type": "ID-TAKEN", "payload": {"msg": "ID is taken"}}
    assert json.loads(pj.error_frame("x")) == {"type": "ERROR", "payload": {"msg": "x"}}
    assert json.loads(pj.expire_frame("b", "a")) == {"type": "EXPIRE", "src": "b", "dst": "a"}


@pytest.mark.parametrize(
    ("key", "peer_id", "token", "problem"),
    [
        ("peerjs", "a", "t", None),
        ("", "a", "t", pj.INVALID_WS_PARAMETERS),
        ("peerjs", "", "t", pj.INVALID_WS_PARAMETERS),
        ("peerjs", "a", "", pj.INVALID_WS_PARAMETERS),
        ("peerjs", "a" * 257, "t", pj.INVALID_ID),
        ("peerjs", "a\nb", "t", pj.INVALID_ID),
        ("peerjs", "a", "t" * 257, pj.INVALID_ID),
    ],
)
def test_socket_parameters(key: str, peer_id: str, token: str, problem: str | None) -> None:
    assert pj.check_params(key, peer_id, token) == problem


def test_claims() -> None:
    assert pj.claim(None, "t", connected=0, limit=1) is pj.Claim.NEW
    assert pj.claim(None, "t", connected=1, limit=1) is pj.Claim.FULL
    assert pj.claim("t", "t", connected=1, limit=1) is pj.Claim.AGAIN  # a reconnect: no count
    assert pj.claim("t", "u", connected=0, limit=1) is pj.Claim.TAKEN


def test_alive() -> None:
    assert pj.is_alive(100.0, 189.9, 90.0)
    assert not pj.is_alive(100.0, 190.0, 90.0)


def test_queues_hand_over_in_order_and_expire_once_per_sender() -> None:
    queues = pj.Queues(limit=3)
    assert queues.add("bob", "alice", "f1", now=10.0)
    assert queues.add("bob", "carol", "f2", now=11.0)
    assert queues.add("bob", "alice", "f3", now=12.0)
    assert not queues.add("bob", "alice", "f4", now=12.0)  # full: dropped
    assert queues.add("dave", "alice", "g1", now=13.0)
    assert len(queues) == 2
    assert queues.take("dave") == ["g1"]
    assert queues.take("dave") == []
    assert queues.expire(now=14.9, expire_timeout=5.0) == []  # bob's queue began at 10
    notices = queues.expire(now=15.0, expire_timeout=5.0)
    assert notices == [("alice", pj.expire_frame("bob", "alice")),
                       ("carol", pj.expire_frame("bob", "carol"))]  # fmt: skip
    assert len(queues) == 0
    assert queues.take("bob") == []


def test_signed_tokens() -> None:
    secret = b"k" * 32
    token = pj.issue_token(secret, "peerjs", "alice", expires=2000)
    assert pj.check_token(secret, "peerjs", "alice", token, now=1999.0)
    assert not pj.check_token(secret, "peerjs", "alice", token, now=2000.0)  # expired
    assert not pj.check_token(secret, "peerjs", "bob", token, now=1000.0)  # another id
    assert not pj.check_token(secret, "app2", "alice", token, now=1000.0)  # another key
    assert not pj.check_token(b"other", "peerjs", "alice", token, now=1000.0)
    for forged in ("", "x.y", "1e9.abc", "9" * 13 + ".abc", token + "x"):
        assert not pj.check_token(secret, "peerjs", "alice", forged, now=1000.0)


def test_a_frame_nested_past_the_parsers_depth_is_ignored() -> None:
    """json.loads raises RecursionError, not ValueError, on a deep enough nesting."""
    deep = '{"type":"OFFER","dst":"bob","payload":' + "[" * 200_000 + "]" * 200_000 + "}"
    assert pj.read_frame(deep, SRC).kind is pj.Kind.IGNORE


def test_a_frame_too_deep_to_write_back_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    def too_deep(value: object) -> str:
        raise RecursionError("maximum recursion depth exceeded while encoding a JSON object")

    monkeypatch.setattr(pj.json, "dumps", too_deep)
    frame = pj.read_frame('{"src":"mallory","type":"ANSWER","dst":"bob"}', SRC)
    assert frame.kind is pj.Kind.IGNORE
