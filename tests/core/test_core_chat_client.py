"""The terminal chat client's state (core.chat_client): exactly once, in order, across
reconnects; resends by id; presence across a reconnect."""

from __future__ import annotations

import json
from typing import Any

from peerlane.core import chat_client as cc
from peerlane.core.join_input import parse_join_input

ME = "me0000000001"


def peer(peer_id: str, name: str = "ann") -> dict[str, Any]:
    return {"peer_id": peer_id, "participant_id": "p" + peer_id, "name": name, "role": "member"}


def welcome(latest: int = 0, peers: list[dict[str, Any]] | None = None) -> str:
    return json.dumps(
        {
            "type": "welcome",
            "v": 1,
            "peer_id": "mypeer01",
            "participant_id": ME,
            "name": "bob",
            "role": "member",
            "room_id": "room",
            "room_name": "",
            "peers": peers or [],
            "latest_seq": latest,
            "ice_servers": [],
            "resume": "mypeer01.abcdefghijklmnopqrstuv",
        }
    )


def message(seq: int, sender: str = "other", client_id: str | None = None) -> str:
    return json.dumps(
        {
            "type": "message",
            "seq": seq,
            "id": client_id or f"m{seq}",
            "sender": sender,
            "sender_name": "x",
            "ts": 1.0,
            "body": f"body {seq}",
        }
    )


def connect(client: cc.ChatClient, latest: int = 0, **kw: Any) -> list[cc.Event]:
    events = client.received(welcome(latest, **kw))
    return events + client.received(json.dumps({"type": "synced", "latest_seq": latest}))


def shown(events: list[cc.Event]) -> list[int]:
    return [e.message.seq for e in events if isinstance(e, cc.Shown)]


def sent(events: list[cc.Event]) -> list[str]:
    return [e.frame.id for e in events if isinstance(e, cc.Out) and hasattr(e.frame, "id")]


def test_first_hello_starts_at_the_present_then_says_last_seq_and_resume() -> None:
    client = cc.ChatClient()
    assert client.hello().last_seq is None
    connect(client, latest=7)
    client.received(message(8))
    assert client.disconnected(1001)
    hello = client.hello()
    assert (hello.last_seq, hello.resume) == (8, "mypeer01.abcdefghijklmnopqrstuv")


def test_a_replay_overlapping_live_messages_shows_each_seq_once() -> None:
    client = cc.ChatClient()
    connect(client)
    events = [e for seq in (1, 2, 3) for e in client.received(message(seq))]
    client.disconnected(None)
    connect(client, latest=4)
    events += [e for seq in (2, 3, 4) for e in client.received(message(seq))]
    assert shown(events) == [1, 2, 3, 4]


def test_unacked_lines_wait_for_synced_and_are_resent_under_the_same_id() -> None:
    client = cc.ChatClient()
    assert sent(client.compose("early", "typed before the welcome")) == []
    assert sent(connect(client)) == ["early"]
    assert sent(client.compose("second", "x")) == ["second"]
    client.disconnected(1006)
    assert sent(client.compose("offline", "x")) == []
    events = connect(client)
    assert sent(events) == ["early", "second", "offline"]  # oldest first
    acked = client.received(json.dumps({"type": "ack", "id": "early", "seq": 1, "ts": 1.0}))
    assert acked == [cc.Acked("early", 1)]
    assert client.received(json.dumps({"type": "ack", "id": "early", "seq": 1, "ts": 1.0})) == []
    client.received(message(2, sender=ME, client_id="second"))  # stored: its message is enough
    assert list(client.pending) == ["offline"]


def test_rate_limited_is_retried_other_refusals_are_dropped() -> None:
    client = cc.ChatClient()
    connect(client)
    client.compose("a", "x")
    client.compose("b", "x")

    def error(code: str, ref: str) -> list[cc.Event]:
        frame = {"type": "error", "error": {"code": code, "message": "no"}, "ref": ref}
        return client.received(json.dumps(frame))

    [limited] = error("rate_limited", "a")
    assert isinstance(limited, cc.Refused)
    assert limited.retry
    assert sent(client.retry("a")) == ["a"]
    [refused] = error("body_too_large", "b")
    assert isinstance(refused, cc.Refused)
    assert not refused.retry
    assert list(client.pending) == ["a"]
    assert client.retry("b") == []


def test_presence_while_away_is_reported_as_the_difference() -> None:
    client = cc.ChatClient()
    connect(client, peers=[peer("gone0001"), peer("stays001")])
    client.disconnected(1001)
    events = connect(client, peers=[peer("stays001"), peer("new00001", "cy")])
    changes = [(e.event, e.peer.peer_id) for e in events if isinstance(e, cc.PresenceChange)]
    assert changes == [("left", "gone0001"), ("joined", "new00001")]
    # A resumed peer id announced again is not a new join.
    again = json.dumps({"type": "presence", "event": "joined", "peer": peer("stays001")})
    assert client.received(again) == []


def test_close_codes_decide_reconnecting() -> None:
    client = cc.ChatClient()
    connect(client)
    for code in (None, 1001, 1006, 1011, 1013):
        assert client.disconnected(code)
    assert client.resume is not None
    assert client.disconnected(4409)
    assert client.resume is None
    for code in (1008, 4400, 4401, 4403, 4404):
        assert not client.disconnected(code)
        assert cc.close_reason(code).endswith(".")


def test_frames_it_does_not_understand_are_ignored() -> None:
    client = cc.ChatClient()
    for raw in ("not json", "[]", '{"type": "typing"}', '{"type": "message", "seq": "x"}'):
        assert client.received(raw) == []


def test_join_input_reads_links_and_codes() -> None:
    link = parse_join_input(" https://chat.example.org/join#Tok_en-1 ")
    assert link is not None
    assert (link.server, link.token, link.code) == ("https://chat.example.org", "Tok_en-1", None)
    assert link.join_body("bob") == {
        "display_name": "bob",
        "token": "Tok_en-1",
        "session": "bearer",
    }
    code = parse_join_input("7 Amber Falcon")
    assert code is not None
    assert (code.server, code.code) == (None, "7-amber-falcon")
    assert link.room_key is None
    sealed = parse_join_input(
        "https://chat.example.org/join#Tok_en-1.S0nlAzdrcHHtC1925-hTvC7SUGmn6En4xiwdVgK_qeA"
    )
    assert sealed is not None
    assert (sealed.token, sealed.room_key) == (
        "Tok_en-1",
        "S0nlAzdrcHHtC1925-hTvC7SUGmn6En4xiwdVgK_qeA",
    )
    assert sealed.join_body("bob")["token"] == "Tok_en-1"  # the key never goes to the server
    for bad in ("", "hello", "https://chat.example.org/join", "ftp://x/join#t", "7"):
        assert parse_join_input(bad) is None


def test_live_presence_joins_and_leaves_once() -> None:
    client = cc.ChatClient()
    connect(client)

    def presence(event: str, peer_id: str) -> list[tuple[str, str]]:
        frame = json.dumps({"type": "presence", "event": event, "peer": peer(peer_id)})
        events = client.received(frame)
        return [(e.event, e.peer.peer_id) for e in events if isinstance(e, cc.PresenceChange)]

    assert presence("joined", "cy000001") == [("joined", "cy000001")]
    assert presence("left", "cy000001") == [("left", "cy000001")]
    assert presence("left", "cy000001") == []  # never known (or already gone)


def test_signals_are_handed_on_and_file_messages_are_composed_with_their_kind() -> None:
    client = cc.ChatClient()
    connect(client)
    relay = {"type": "signal", "sender": "peer2", "kind": "offer", "data": {"sdp": "v=0"}}
    assert client.received(json.dumps(relay)) == [cc.Signalled("peer2", "offer", {"sdp": "v=0"})]
    [out] = client.compose("f1", {"op": "accept", "transfer": "t1", "have": 0}, kind="file")
    assert isinstance(out, cc.Out)
    assert out.frame.kind == "file"
    assert out.frame.body == {"op": "accept", "transfer": "t1", "have": 0}
