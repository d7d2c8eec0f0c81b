"""The per-connection session state machine, driven by hand: no event loop, no clock.

Time is the ``now`` each call is given. Outputs are asserted as values: their types, and
the parsed JSON of every :class:`Send`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peerlane.core import protocol as p
from peerlane.core.session import (
    CLOSE_POLICY,
    CLOSE_REMOVED,
    CLOSE_ROOM_GONE,
    CLOSE_UNAUTHORIZED,
    CLOSE_VERSION,
    Close,
    FindStored,
    Identity,
    Join,
    Output,
    PersistChat,
    Publish,
    Replay,
    RoomDeleted,
    RoomEvent,
    RoomSnapshot,
    Send,
    Session,
    SessionEnded,
    SessionLimits,
    State,
    StoredChat,
    StoreReceipt,
)
from peerlane.errors import ErrorCode

ROOM = "room-1"
ME = Identity(
    room_id=ROOM,
    participant_id="part-me",
    peer_id="peer-me",
    name="Me",
    role="member",
    session_id="sess-me",
)
ME_INFO = ME.peer_info()
ALICE = p.PeerInfo(peer_id="peer-alice", participant_id="part-alice", name="Alice", role="owner")
BOB = p.PeerInfo(peer_id="peer-bob", participant_id="part-bob", name="Bob", role="member")
ICE = [p.IceServer(urls=["stun:stun.example.org:3478"])]


# --- builders ----------------------------------------------------------------------------


def make_session(now: float = 0.0, **limits: Any) -> Session:
    return Session(identity=ME, limits=SessionLimits(**limits), now=now)


def frame(type: str, **fields: Any) -> str:
    return json.dumps({"type": type, **fields})


def hello(last_seq: int | None = None, v: int = p.PROTOCOL_VERSION) -> str:
    return frame("hello", v=v, last_seq=last_seq)


def chat(id: str = "m-1", body: Any = "hi", **fields: Any) -> str:
    return frame("chat", id=id, body=body, **fields)


def snapshot(latest_seq: int = 0, peers: tuple[p.PeerInfo, ...] = (ALICE,)) -> RoomSnapshot:
    return RoomSnapshot(
        room_name="Lane",
        latest_seq=latest_seq,
        peers=list(peers),
        ice_servers=ICE,
        read={"part-alice": latest_seq},
    )


def joining_session(last_seq: int | None = None, now: float = 0.0, **limits: Any) -> Session:
    session = make_session(now, **limits)
    assert session.receive(hello(last_seq), now) == [Join(last_seq)]
    return session


def open_session(
    latest_seq: int = 3,
    peers: tuple[p.PeerInfo, ...] = (ALICE,),
    now: float = 0.0,
    **limits: Any,
) -> Session:
    """Joined as a fresh client: caught up at ``latest_seq``."""
    session = joining_session(None, now, **limits)
    session.joined(snapshot(latest_seq, peers), None)
    assert session.state is State.OPEN
    return session


def replaying_session(latest_seq: int = 5, last_seq: int = 2, **limits: Any) -> Session:
    session = joining_session(last_seq, **limits)
    out = session.joined(snapshot(latest_seq), last_seq)
    assert out[-1] == Replay(last_seq)
    assert session.state is State.REPLAYING
    return session


def closed_session() -> Session:
    session = open_session()
    session.closed()
    return session


def message(seq: int, body: Any = None) -> p.Message:
    return p.Message(
        seq=seq,
        id=f"m-{seq}",
        sender="part-alice",
        sender_name="Alice",
        ts=1000.0 + seq,
        body=f"message {seq}" if body is None else body,
    )


def live(seq: int) -> RoomEvent:
    return RoomEvent(ROOM, message(seq))


def presence(event: str, peer: p.PeerInfo) -> RoomEvent:
    return RoomEvent(ROOM, p.Presence(event=event, peer=peer), exclude=peer.peer_id)


# --- reading outputs ---------------------------------------------------------------------


def sent(outputs: list[Output]) -> list[dict[str, Any]]:
    """The parsed JSON of every Send, in order."""
    return [json.loads(o.text) for o in outputs if isinstance(o, Send)]


def kinds(outputs: list[Output]) -> list[str]:
    """A compact view: "Send:welcome", "Send:error:hello_required", "Publish:presence", "Join"."""
    result = []
    for o in outputs:
        if isinstance(o, Send):
            data = json.loads(o.text)
            suffix = f":{data['error']['code']}" if data["type"] == "error" else ""
            result.append(f"Send:{data['type']}{suffix}")
        elif isinstance(o, Publish):
            result.append(f"Publish:{o.event.message.type}")
        else:
            result.append(type(o).__name__)
    return result


def error_codes(outputs: list[Output]) -> list[str]:
    return [m["error"]["code"] for m in sent(outputs) if m["type"] == "error"]


def state_of(session: Session) -> State:
    """The state, read afresh (a plain ``session.state`` would be narrowed by mypy)."""
    return session.state


def message_seqs(outputs: list[Output]) -> list[int]:
    return [m["seq"] for m in sent(outputs) if m["type"] == "message"]


# --- the transition table, as a table -------------------------------------------------------

STATES: dict[State, Callable[[], Session]] = {
    State.AWAITING_HELLO: make_session,
    State.JOINING: joining_session,
    State.REPLAYING: replaying_session,  # sent_seq 2, room at 5
    State.OPEN: open_session,  # sent_seq 3
    State.CLOSED: closed_session,
}

INPUTS: dict[str, Callable[[Session], list[Output]]] = {
    "hello": lambda s: s.receive(hello(), 0.0),
    "hello_v2": lambda s: s.receive(hello(v=2), 0.0),
    "chat": lambda s: s.receive(chat(), 0.0),
    "edit": lambda s: s.receive(chat(id="e-1", body="new", kind="edit", ref=1), 0.0),
    "delete": lambda s: s.receive(chat(id="d-1", body=None, kind="delete", ref=1), 0.0),
    "reply": lambda s: s.receive(chat(id="r-1", body="yes", kind="text", ref=1), 0.0),
    "edit_no_ref": lambda s: s.receive(chat(id="e-2", body="new", kind="edit"), 0.0),
    "delete_no_ref": lambda s: s.receive(chat(id="d-2", body=None, kind="delete"), 0.0),
    "delete_with_body": lambda s: s.receive(chat(id="d-3", body="x", kind="delete", ref=1), 0.0),
    "signal_alice": lambda s: s.receive(frame("signal", to=ALICE.peer_id, kind="offer"), 0.0),
    "signal_nobody": lambda s: s.receive(frame("signal", to="peer-nobody", kind="offer"), 0.0),
    "sync": lambda s: s.receive(frame("sync", after=1), 0.0),
    "typing": lambda s: s.receive(frame("typing", active=True), 0.0),
    "receipt": lambda s: s.receive(frame("receipt", seq=1), 0.0),
    "ping": lambda s: s.receive(frame("ping", nonce="n"), 0.0),
    "stored": lambda s: s.receive(frame("stored", ids=["m-1", "m-2"]), 0.0),
    "stored_found": lambda s: s.stored_found(("m-1", "m-2"), [p.Ack(id="m-1", seq=4, ts=1.0)]),
    "garbage": lambda s: s.receive("{", 0.0),
    "joined_fresh": lambda s: s.joined(snapshot(3), None),
    "joined_behind": lambda s: s.joined(snapshot(3), 1),
    "replayed_page": lambda s: s.replayed([message(3)], complete=False),
    "replayed_last": lambda s: s.replayed([message(3), message(4), message(5)], complete=True),
    "live_next": lambda s: s.room_event(live(4)),
    "live_old": lambda s: s.room_event(live(3)),
    "live_gap": lambda s: s.room_event(live(6)),
    "bob_joined": lambda s: s.room_event(presence("joined", BOB)),
    "room_deleted": lambda s: s.room_event(RoomEvent(ROOM, RoomDeleted())),
    "removed": lambda s: s.room_event(RoomEvent(ROOM, SessionEnded(participant_id="part-me"))),
    "signed_out": lambda s: s.room_event(
        RoomEvent(ROOM, SessionEnded(participant_id="part-me", session_id="sess-me"))
    ),
    "other_tab_signed_out": lambda s: s.room_event(
        RoomEvent(ROOM, SessionEnded(participant_id="part-me", session_id="sess-other"))
    ),
    "bob_removed": lambda s: s.room_event(RoomEvent(ROOM, SessionEnded(participant_id="part-bob"))),
    "chat_stored": lambda s: s.chat_stored(StoredChat(message(4), duplicate=False)),
    "closed": lambda s: s.closed(),
}

AW, JN, RP, OP, CL = (
    State.AWAITING_HELLO,
    State.JOINING,
    State.REPLAYING,
    State.OPEN,
    State.CLOSED,
)
ERR = "Send:error:"
TABLE: list[tuple[State, str, list[str], State]] = [
    # (state, input, the kinds of the outputs, next state)
    (AW, "hello", ["Join"], JN),
    (AW, "hello_v2", [ERR + "unsupported_version", "Close"], CL),
    (AW, "chat", [ERR + "hello_required"], AW),
    (AW, "signal_alice", [ERR + "hello_required"], AW),
    (AW, "sync", [ERR + "hello_required"], AW),
    (AW, "typing", [ERR + "hello_required"], AW),
    (AW, "receipt", [ERR + "hello_required"], AW),
    (AW, "ping", ["Send:pong"], AW),
    (AW, "stored", [ERR + "hello_required"], AW),
    (AW, "garbage", [ERR + "invalid_json"], AW),
    (AW, "live_next", [], AW),
    (AW, "room_deleted", [], AW),
    (AW, "closed", [], CL),
    # An ended session closes its sockets in every state, before hello too.
    (AW, "removed", [ERR + "participant_removed", "Close"], CL),
    (AW, "signed_out", [ERR + "unauthorized", "Close"], CL),
    (AW, "other_tab_signed_out", [], AW),
    (JN, "removed", [ERR + "participant_removed", "Close"], CL),
    (RP, "signed_out", [ERR + "unauthorized", "Close"], CL),
    (OP, "removed", [ERR + "participant_removed", "Close"], CL),
    (OP, "signed_out", [ERR + "unauthorized", "Close"], CL),
    (OP, "other_tab_signed_out", [], OP),
    (OP, "bob_removed", [], OP),
    (CL, "removed", [], CL),
    (JN, "hello", [ERR + "invalid_message"], JN),
    (JN, "ping", ["Send:pong"], JN),
    (JN, "live_next", [], JN),  # held until the client is caught up
    (JN, "room_deleted", [ERR + "room_not_found", "Close"], CL),
    (JN, "joined_fresh", ["Send:welcome", "Publish:presence", "Send:synced"], OP),
    (JN, "joined_behind", ["Send:welcome", "Publish:presence", "Replay"], RP),
    (JN, "closed", [], CL),
    (RP, "replayed_page", ["Send:message", "Replay"], RP),
    (RP, "replayed_last", ["Send:message"] * 3 + ["Send:synced"], OP),
    (RP, "live_next", [], RP),
    (RP, "bob_joined", [], RP),
    (RP, "sync", [], RP),
    (RP, "stored", ["FindStored"], RP),
    (RP, "chat", ["PersistChat"], RP),
    (RP, "signal_alice", ["Publish:signal"], RP),
    (RP, "room_deleted", [ERR + "room_not_found", "Close"], CL),
    (RP, "closed", ["Publish:presence"], CL),
    (OP, "hello", [ERR + "invalid_message"], OP),
    (OP, "chat", ["PersistChat"], OP),
    # Edits and deletes are chat messages that name their target; the storage call checks
    # that the target is the sender's own (tests/storage, tests/integration).
    (OP, "edit", ["PersistChat"], OP),
    (OP, "delete", ["PersistChat"], OP),
    (OP, "reply", ["PersistChat"], OP),
    (OP, "edit_no_ref", [ERR + "invalid_message"], OP),
    (OP, "delete_no_ref", [ERR + "invalid_message"], OP),
    (OP, "delete_with_body", [ERR + "invalid_message"], OP),
    (AW, "edit", [ERR + "hello_required"], AW),
    (RP, "delete", ["PersistChat"], RP),
    (CL, "edit", [], CL),
    (OP, "chat_stored", ["Send:ack", "Publish:message"], OP),
    (OP, "signal_alice", ["Publish:signal"], OP),
    (OP, "signal_nobody", [ERR + "peer_not_found"], OP),
    (OP, "sync", ["Replay"], RP),
    (OP, "typing", ["Publish:typing"], OP),
    (OP, "receipt", ["StoreReceipt", "Publish:receipt"], OP),
    (OP, "ping", ["Send:pong"], OP),
    (OP, "stored", ["FindStored"], OP),
    (OP, "stored_found", ["Send:stored"], OP),
    (OP, "garbage", [ERR + "invalid_json"], OP),
    (OP, "live_next", ["Send:message"], OP),
    (OP, "live_old", [], OP),
    (OP, "live_gap", ["Replay"], RP),
    (OP, "bob_joined", ["Send:presence"], OP),
    (OP, "room_deleted", [ERR + "room_not_found", "Close"], CL),
    (OP, "closed", ["Publish:presence"], CL),
    (CL, "hello", [], CL),
    (CL, "chat", [], CL),
    (CL, "ping", [], CL),
    (CL, "stored", [], CL),
    (CL, "stored_found", [], CL),
    (CL, "garbage", [], CL),
    (CL, "live_next", [], CL),
    (CL, "room_deleted", [], CL),
    (CL, "joined_fresh", [], CL),
    (CL, "replayed_last", [], CL),
    (CL, "closed", [], CL),
]


@pytest.mark.parametrize(
    ("state", "action", "expected", "next_state"),
    TABLE,
    ids=[f"{s.name}-{i}" for s, i, _, _ in TABLE],
)
def test_transition_table(
    state: State, action: str, expected: list[str], next_state: State
) -> None:
    session = STATES[state]()
    assert session.state is state
    assert kinds(INPUTS[action](session)) == expected
    assert session.state is next_state


# --- hello and join ------------------------------------------------------------------------


@pytest.mark.parametrize("last_seq", [None, 0, 17])
def test_hello_asks_the_driver_to_join(last_seq: int | None) -> None:
    session = make_session()
    assert session.receive(hello(last_seq), 0.0) == [Join(last_seq)]
    assert session.state is State.JOINING


def test_chat_before_hello_names_the_chat() -> None:
    out = make_session().receive(chat(id="early"), 0.0)
    [error] = sent(out)
    assert error == {
        "type": "error",
        "error": {"code": "hello_required", "message": "Send a hello message first."},
        "ref": "early",
    }


def test_wrong_version_closes_with_4400() -> None:
    session = make_session()
    out = session.receive(hello(v=2), 0.0)
    assert error_codes(out) == ["unsupported_version"]
    assert out[-1] == Close(CLOSE_VERSION, "unsupported protocol version")
    assert session.state is State.CLOSED
    assert session.receive(hello(), 1.0) == []


def test_joined_fresh_client() -> None:
    session = joining_session(None)
    out = session.joined(snapshot(7, peers=(ALICE, ME_INFO, BOB)), None)
    welcome, synced = sent(out)
    assert welcome["type"] == "welcome"
    assert welcome["peer_id"] == ME.peer_id
    assert welcome["participant_id"] == ME.participant_id
    assert welcome["room_id"] == ROOM
    assert welcome["room_name"] == "Lane"
    assert welcome["v"] == p.PROTOCOL_VERSION
    assert welcome["latest_seq"] == 7
    assert [peer["peer_id"] for peer in welcome["peers"]] == [ALICE.peer_id, BOB.peer_id]
    assert welcome["read"] == {"part-alice": 7}
    assert welcome["ice_servers"] == [
        {"urls": ["stun:stun.example.org:3478"], "username": None, "credential": None}
    ]
    assert welcome["limits"] == {"max_message_bytes": 64 * 1024, "max_body_bytes": 16 * 1024}
    assert synced == {"type": "synced", "latest_seq": 7}

    [publish] = [o for o in out if isinstance(o, Publish)]
    assert publish.event == RoomEvent(
        ROOM, p.Presence(event="joined", peer=ME_INFO), exclude=ME.peer_id
    )
    assert session.state is State.OPEN
    assert session.sent_seq == 7
    assert set(session.peers) == {ALICE.peer_id, BOB.peer_id}  # never itself


def test_joined_welcome_carries_the_mesh_connect_timeout() -> None:
    session = joining_session(None)
    taken = dataclasses.replace(snapshot(), mesh_connect_timeout=6.0)
    welcome, _ = sent(session.joined(taken, None))
    assert welcome["mesh_connect_timeout"] == 6.0
    welcome, _ = sent(joining_session(None).joined(snapshot(), None))
    assert welcome["mesh_connect_timeout"] is None  # not given: the client's own default


def test_joined_behind_replays_from_last_seq() -> None:
    session = joining_session(2)
    out = session.joined(snapshot(9), 2)
    assert kinds(out) == ["Send:welcome", "Publish:presence", "Replay"]
    assert out[-1] == Replay(2)
    assert session.sent_seq == 2


def test_joined_already_caught_up() -> None:
    session = joining_session(9)
    out = session.joined(snapshot(9), 9)
    assert sent(out)[-1] == {"type": "synced", "latest_seq": 9}
    assert session.state is State.OPEN


def test_joined_with_last_seq_beyond_the_room_trusts_the_room() -> None:
    # A stale client claims seq 50; the room is at 9. Message 10 must still reach it.
    session = joining_session(50)
    out = session.joined(snapshot(9), 50)
    assert sent(out)[-1] == {"type": "synced", "latest_seq": 9}
    assert message_seqs(session.room_event(live(10))) == [10]


def test_events_that_arrive_while_joining_are_released_after_synced() -> None:
    session = joining_session(None)
    assert session.room_event(presence("joined", BOB)) == []
    assert session.room_event(live(4)) == []
    assert session.room_event(live(3)) == []  # already in the snapshot
    out = session.joined(snapshot(3), None)
    assert kinds(out) == [
        "Send:welcome",
        "Publish:presence",
        "Send:synced",
        "Send:presence",
        "Send:message",
    ]
    assert message_seqs(out) == [4]
    assert BOB.peer_id in session.peers


# --- replay -----------------------------------------------------------------------------


def test_replay_in_pages() -> None:
    session = replaying_session(latest_seq=10, last_seq=2)
    out = session.replayed([message(3), message(4)], complete=False)
    assert message_seqs(out) == [3, 4]
    assert out[-1] == Replay(4)
    assert session.state is State.REPLAYING
    out = session.replayed([message(s) for s in range(5, 11)], complete=True)
    assert message_seqs(out) == [5, 6, 7, 8, 9, 10]
    assert sent(out)[-1] == {"type": "synced", "latest_seq": 10}
    assert state_of(session) is State.OPEN


def test_replayed_page_is_sorted_and_deduplicated() -> None:
    session = replaying_session(latest_seq=6, last_seq=2)
    out = session.replayed([message(5), message(3), message(2), message(4), message(3)], True)
    assert message_seqs(out) == [3, 4, 5]
    assert [m["body"] for m in sent(out) if m["type"] == "message"] == [
        "message 3",
        "message 4",
        "message 5",
    ]


def test_live_messages_during_replay_are_held_then_released_in_order_once() -> None:
    session = replaying_session(latest_seq=5, last_seq=2)
    for seq in (4, 6, 7):  # 4 will also come from the replay
        assert session.room_event(live(seq)) == []
    out = session.replayed([message(3), message(4), message(5)], complete=True)
    assert kinds(out) == ["Send:message"] * 3 + ["Send:synced"] + ["Send:message"] * 2
    assert message_seqs(out) == [3, 4, 5, 6, 7]
    assert session.sent_seq == 7


def test_held_events_out_of_order_trigger_another_replay() -> None:
    session = replaying_session(latest_seq=5, last_seq=2)
    session.room_event(live(7))
    session.room_event(live(6))
    out = session.replayed([message(3), message(4), message(5)], complete=True)
    assert message_seqs(out) == [3, 4, 5]
    assert out[-1] == Replay(5)  # 7 came before 6: a gap, so fetch from storage
    assert session.state is State.REPLAYING
    out = session.replayed([message(6), message(7)], complete=True)
    assert message_seqs(out) == [6, 7]  # and the held 6 is dropped as a duplicate
    assert state_of(session) is State.OPEN


def test_live_message_already_sent_is_dropped() -> None:
    session = open_session(latest_seq=3)
    assert session.room_event(live(2)) == []
    assert session.room_event(live(3)) == []
    out = session.room_event(live(4))
    assert out == [Send(live(4).text)]
    assert session.room_event(live(4)) == []


def test_gap_triggers_replay_from_last_sent() -> None:
    session = open_session(latest_seq=3)
    assert session.room_event(live(6)) == [Replay(3)]
    assert session.state is State.REPLAYING
    out = session.replayed([message(4), message(5), message(6)], complete=True)
    assert message_seqs(out) == [4, 5, 6]


def test_sync_replays_from_after() -> None:
    session = open_session(latest_seq=9)
    assert session.receive(frame("sync", after=4), 0.0) == [Replay(4)]
    out = session.replayed([message(s) for s in range(5, 10)], complete=True)
    assert message_seqs(out) == [5, 6, 7, 8, 9]


# --- chat ----------------------------------------------------------------------------------


def test_chat_asks_the_driver_to_persist_it() -> None:
    session = open_session()
    out = session.receive(chat(id="m-9", body={"text": "hello"}, kind="text"), 0.0)
    assert out == [PersistChat(p.Chat(id="m-9", body={"text": "hello"}))]


def test_body_at_the_limit_is_accepted_and_one_byte_more_is_not() -> None:
    session = open_session(max_body_bytes=10)
    assert kinds(session.receive(chat(body="x" * 8), 0.0)) == ["PersistChat"]  # "xxxxxxxx"
    [error] = sent(session.receive(chat(id="big", body="x" * 9), 0.0))
    assert error["error"]["code"] == "body_too_large"
    assert "10 bytes" in error["error"]["message"]
    assert error["ref"] == "big"


def test_body_limit_counts_utf8_bytes() -> None:
    session = open_session(max_body_bytes=10)
    assert error_codes(session.receive(chat(body="ééééé"), 0.0)) == ["body_too_large"]


def test_chat_stored_acks_and_publishes() -> None:
    session = open_session()
    stored = message(4)
    out = session.chat_stored(StoredChat(stored, duplicate=False))
    ack, publish = out
    assert isinstance(ack, Send)
    assert json.loads(ack.text) == {"type": "ack", "id": "m-4", "seq": 4, "ts": 1004.0}
    assert publish == Publish(RoomEvent(ROOM, stored))


def test_duplicate_chat_is_acked_only() -> None:
    out = open_session().chat_stored(StoredChat(message(4), duplicate=True))
    assert kinds(out) == ["Send:ack"]
    assert sent(out)[0]["seq"] == 4


def test_edit_and_delete_name_their_target() -> None:
    session = open_session()
    [edit] = session.receive(chat(id="e-1", body={"text": "fixed"}, kind="edit", ref=2), 0.0)
    assert edit == PersistChat(p.Chat(id="e-1", body={"text": "fixed"}, kind="edit", ref=2))
    [error] = sent(session.receive(chat(id="d-1", body="x", kind="delete", ref=2), 0.0))
    assert error["error"] == {
        "code": "invalid_message",
        "message": "A deletion has no body; send null.",
    }
    assert error["ref"] == "d-1"
    [error] = sent(session.receive(chat(id="e-2", body="x", kind="edit"), 0.0))
    assert "ref" in error["error"]["message"]
    assert error["ref"] == "e-2"


def test_chat_failed_carries_the_storage_refusal() -> None:
    out = open_session().chat_failed(
        "e-7", ErrorCode.NOT_YOUR_MESSAGE, "You can only edit or delete your own messages."
    )
    [error] = sent(out)
    assert error["error"]["code"] == "not_your_message"
    assert error["ref"] == "e-7"


def test_chat_failed_names_the_chat() -> None:
    out = open_session().chat_failed("m-7", ErrorCode.UNAVAILABLE)
    [error] = sent(out)
    assert error["error"]["code"] == "unavailable"
    assert error["ref"] == "m-7"


def test_own_message_arrives_through_the_bus_like_everyone_elses() -> None:
    session = open_session(latest_seq=3)
    _ack, publish = session.chat_stored(StoredChat(message(4), duplicate=False))
    assert isinstance(publish, Publish)
    assert message_seqs(session.room_event(publish.event)) == [4]


# --- signaling and presence -------------------------------------------------------------------


def signal(to: str, kind: str = "offer", data: Any = None) -> str:
    return frame("signal", to=to, kind=kind, data=data)


def test_signal_to_a_present_peer_is_published_to_that_peer_only() -> None:
    session = open_session()
    out = session.receive(signal(ALICE.peer_id, "answer", {"sdp": "v=0"}), 0.0)
    assert out == [
        Publish(
            RoomEvent(
                ROOM,
                p.SignalRelay(sender=ME.peer_id, kind="answer", data={"sdp": "v=0"}),
                to=ALICE.peer_id,
            )
        )
    ]


@pytest.mark.parametrize("to", ["peer-nobody", ME.peer_id])
def test_signal_to_unknown_peer_or_self(to: str) -> None:
    assert error_codes(open_session().receive(signal(to), 0.0)) == ["peer_not_found"]


def test_presence_updates_who_can_be_signaled() -> None:
    session = open_session(peers=(ALICE,))
    assert error_codes(session.receive(signal(BOB.peer_id), 0.0)) == ["peer_not_found"]

    out = session.room_event(presence("joined", BOB))
    assert sent(out) == [{"type": "presence", "event": "joined", "peer": BOB.model_dump()}]
    assert kinds(session.receive(signal(BOB.peer_id), 0.0)) == ["Publish:signal"]

    session.room_event(presence("left", ALICE))
    assert ALICE.peer_id not in session.peers
    assert error_codes(session.receive(signal(ALICE.peer_id), 0.0)) == ["peer_not_found"]


def test_presence_left_for_an_unknown_peer_is_harmless() -> None:
    session = open_session(peers=())
    assert kinds(session.room_event(presence("left", BOB))) == ["Send:presence"]
    assert session.peers == {}


@pytest.mark.parametrize(
    ("to", "exclude", "delivered"),
    [
        (None, None, True),
        (ME.peer_id, None, True),
        (None, ALICE.peer_id, True),
        (ALICE.peer_id, None, False),
        (None, ME.peer_id, False),
        (ME.peer_id, ME.peer_id, False),
    ],
)
def test_addressing_of_room_events(to: str | None, exclude: str | None, delivered: bool) -> None:
    relay = p.SignalRelay(sender=ALICE.peer_id, kind="offer", data={"sdp": "x"})
    event = RoomEvent(ROOM, relay, to=to, exclude=exclude)
    out = open_session().room_event(event)
    assert out == ([Send(event.text)] if delivered else [])


def test_presence_addressed_elsewhere_does_not_update_peers() -> None:
    session = open_session(peers=())
    assert (
        session.room_event(
            RoomEvent(ROOM, p.Presence(event="joined", peer=BOB), exclude=ME.peer_id)
        )
        == []
    )
    assert session.peers == {}


def test_relayed_events_are_sent_verbatim() -> None:
    session = open_session()
    event = RoomEvent(
        ROOM,
        p.TypingRelay(peer_id=ALICE.peer_id, name="Alice", active=False),
        exclude=ALICE.peer_id,
    )
    assert sent(session.room_event(event)) == [
        {"type": "typing", "peer_id": ALICE.peer_id, "name": "Alice", "active": False}
    ]


def test_removal_closes_with_4403_and_a_plain_message() -> None:
    session = open_session()
    out = session.room_event(RoomEvent(ROOM, SessionEnded(participant_id="part-me")))
    assert sent(out)[0]["error"] == {
        "code": "participant_removed",
        "message": "The room's owner removed you from this room.",
    }
    assert out[-1] == Close(CLOSE_REMOVED, "removed from the room")
    # The room hears that this peer left.
    assert kinds(session.closed()) == ["Publish:presence"]


def test_sign_out_closes_that_sessions_sockets_with_4401() -> None:
    session = open_session()
    out = session.room_event(
        RoomEvent(ROOM, SessionEnded(participant_id="part-me", session_id="sess-me"))
    )
    assert sent(out)[0]["error"]["message"] == "You signed out of this room."
    assert out[-1] == Close(CLOSE_UNAUTHORIZED, "signed out")


def test_room_deleted_closes_with_4404() -> None:
    session = open_session()
    out = session.room_event(RoomEvent(ROOM, RoomDeleted()))
    assert error_codes(out) == ["room_not_found"]
    assert sent(out)[0]["error"]["message"] == "The room was deleted."
    assert out[-1] == Close(CLOSE_ROOM_GONE, "room deleted")
    assert session.state is State.CLOSED
    assert session.room_event(live(4)) == []


# --- typing, receipts, ping --------------------------------------------------------------


def test_typing_is_published_to_everyone_else() -> None:
    out = open_session().receive(frame("typing", active=True), 0.0)
    assert out == [
        Publish(
            RoomEvent(
                ROOM, p.TypingRelay(peer_id=ME.peer_id, name="Me", active=True), exclude=ME.peer_id
            )
        )
    ]


@pytest.mark.parametrize(("claimed", "recorded"), [(0, 0), (2, 2), (3, 3), (10, 3)])
def test_receipt_is_clamped_to_what_was_sent(claimed: int, recorded: int) -> None:
    session = open_session(latest_seq=3)
    out = session.receive(frame("receipt", seq=claimed), 0.0)
    assert out == [
        StoreReceipt(recorded),
        Publish(RoomEvent(ROOM, p.ReceiptRelay(participant_id=ME.participant_id, seq=recorded))),
    ]


@pytest.mark.parametrize(("nonce", "reply"), [("abc", "abc"), (None, None)])
def test_ping_pong(nonce: str | None, reply: str | None) -> None:
    out = open_session().receive(frame("ping", nonce=nonce), 0.0)
    assert sent(out) == [{"type": "pong", "nonce": reply}]


# --- limits ------------------------------------------------------------------------------


def test_rate_limit_and_recovery() -> None:
    session = open_session(message_burst=3, messages_per_second=2)
    ping = frame("ping")
    for _ in range(3):
        assert kinds(session.receive(ping, 10.0)) == ["Send:pong"]
    assert error_codes(session.receive(ping, 10.0)) == ["rate_limited"]
    assert error_codes(session.receive(chat(id="c-1"), 10.0)) == ["rate_limited"]
    assert sent(session.receive(chat(id="c-2"), 10.0))[0]["ref"] == "c-2"
    assert error_codes(session.receive(ping, 10.4)) == ["rate_limited"]  # 0.8 of a token
    assert kinds(session.receive(ping, 10.5)) == ["Send:pong"]  # 2 per second
    assert error_codes(session.receive(ping, 10.5)) == ["rate_limited"]
    assert session.state is State.OPEN


def test_error_flood_closes_with_1008() -> None:
    limits = SessionLimits()
    session = open_session()
    for _ in range(int(limits.error_burst)):
        assert error_codes(session.receive(b"\xff", 5.0)) == ["invalid_json"]
    assert session.receive(b"\xff", 5.0) == [Close(CLOSE_POLICY, "too many invalid messages")]
    assert session.state is State.CLOSED
    assert session.receive(frame("ping"), 100.0) == []


def test_errors_are_forgiven_over_time() -> None:
    session = open_session(error_burst=2, errors_per_second=1)
    for now in (0.0, 0.0, 1.0, 2.0, 3.0):
        assert error_codes(session.receive("{", now)) == ["invalid_json"]
    assert session.receive("{", 3.0) == [Close(CLOSE_POLICY, "too many invalid messages")]


def test_frames_the_driver_handles_spend_the_same_budget() -> None:
    session = open_session(message_burst=2, messages_per_second=1)
    assert session.spend_outside_frame(10.0) is None
    assert kinds(session.receive(frame("ping"), 10.0)) == ["Send:pong"]
    refused = session.spend_outside_frame(10.0)
    assert refused is not None
    assert error_codes(refused) == ["rate_limited"]
    assert error_codes(session.receive(frame("ping"), 10.0)) == ["rate_limited"]


def test_rate_limited_messages_count_as_errors() -> None:
    session = open_session(message_burst=2, messages_per_second=0.001, error_burst=2)
    session.receive(frame("ping"), 0.0)  # the second token; hello took the first
    assert error_codes(session.receive(frame("ping"), 0.0)) == ["rate_limited"]
    assert error_codes(session.receive(frame("ping"), 0.0)) == ["rate_limited"]
    assert kinds(session.receive(frame("ping"), 0.0)) == ["Close"]


def test_a_chat_refused_by_the_shared_budget_is_rate_limited_and_counts_as_an_error() -> None:
    session = open_session(error_burst=2)
    [error] = sent(session.chat_refused("c1", 0.0))
    assert (error["error"]["code"], error["ref"]) == ("rate_limited", "c1")
    session.chat_refused("c2", 0.0)
    assert kinds(session.chat_refused("c3", 0.0)) == ["Close"]
    assert session.state is State.CLOSED
    assert session.chat_refused("c4", 0.0) == []


def test_oversize_frame() -> None:
    session = open_session(max_message_bytes=100)
    [error] = sent(session.receive(chat(body="x" * 200), 0.0))
    assert error["error"]["code"] == "message_too_large"
    assert error["ref"] is None


# --- closing -----------------------------------------------------------------------------


def test_closed_after_join_publishes_left_once() -> None:
    session = open_session()
    out = session.closed()
    assert out == [
        Publish(RoomEvent(ROOM, p.Presence(event="left", peer=ME_INFO), exclude=ME.peer_id))
    ]
    assert session.state is State.CLOSED
    assert session.closed() == []


@pytest.mark.parametrize("make", [make_session, joining_session])
def test_closed_before_join_publishes_nothing(make: Callable[[], Session]) -> None:
    assert make().closed() == []


def test_joined_after_closed_announces_nothing() -> None:
    # The socket dropped while the driver loaded the snapshot: no ghost "joined".
    session = joining_session(None)
    assert session.closed() == []
    assert session.joined(snapshot(3), None) == []
    assert session.state is State.CLOSED
    assert session.closed() == []


def test_replayed_after_closed_sends_nothing() -> None:
    session = replaying_session()
    session.closed()
    assert session.replayed([message(3)], complete=True) == []
    assert session.state is State.CLOSED


def test_stored_chat_is_still_published_after_close() -> None:
    # Storage kept it; the others must see it even though its sender has gone.
    session = open_session()
    session.closed()
    out = session.chat_stored(StoredChat(message(4), duplicate=False))
    assert Publish(RoomEvent(ROOM, message(4))) in out


# --- the ordering guarantee, as a property --------------------------------------------------


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[int, int, int | None, list[int], int]:
    """A room whose storage holds 1..stored, a snapshot at latest, a client at last_seq,
    bus deliveries of every message after the snapshot (shuffled, some duplicated, some
    stale), and a replay page size."""
    latest = draw(st.integers(0, 12))
    stored = draw(st.integers(latest, latest + 12))
    last_seq = draw(st.none() | st.integers(0, latest + 3))
    fresh = draw(st.permutations(range(latest + 1, stored + 1)))
    extra = draw(st.lists(st.integers(1, max(stored, 1)), max_size=5)) if stored else []
    deliveries = list(fresh)
    for seq in extra:
        deliveries.insert(draw(st.integers(0, len(deliveries))), seq)
    page = draw(st.integers(1, 5))
    return latest, stored, last_seq, deliveries, page


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.data())
def test_every_message_exactly_once_in_order(
    scenario: tuple[int, int, int | None, list[int], int], data: st.DataObject
) -> None:
    latest, stored, last_seq, deliveries, page = scenario
    storage = {seq: message(seq) for seq in range(1, stored + 1)}
    session = joining_session(last_seq)
    received: list[dict[str, Any]] = []
    pending: list[Replay] = []

    def run(outputs: list[Output]) -> None:
        received.extend(sent(outputs))
        replays = [o for o in outputs if isinstance(o, Replay)]
        pending.extend(replays)
        assert len(pending) <= 1  # never two replays in flight

    # Some deliveries may come before the snapshot is loaded; they are held.
    early = data.draw(st.integers(0, len(deliveries)))
    for seq in deliveries[:early]:
        run(session.room_event(live(seq)))
    run(session.joined(snapshot(latest), last_seq))
    queue = deliveries[early:]
    while queue or pending:
        if pending and (not queue or data.draw(st.booleans())):
            after = pending.pop().after
            rows = [storage[s] for s in range(after + 1, min(after + page, stored) + 1)]
            run(session.replayed(rows, complete=after + page >= stored))
        else:
            run(session.room_event(live(queue.pop(0))))

    start = latest if last_seq is None or last_seq >= latest else last_seq
    assert [m["seq"] for m in received if m["type"] == "message"] == list(
        range(start + 1, stored + 1)
    )
    assert session.state is State.OPEN
    # Every synced reports exactly what the client holds at that point.
    held = start
    for m in received:
        if m["type"] == "message":
            held = m["seq"]
        elif m["type"] == "synced":
            assert m["latest_seq"] == held


# --- which of my ids are stored ------------------------------------------------------------


def test_stored_asks_storage_once_per_id_in_the_order_asked() -> None:
    session = open_session()

    out = session.receive(frame("stored", ids=["c", "a", "c", "b", "a"]), 0.0)

    assert out == [FindStored(("c", "a", "b"))]


def test_stored_answer_lists_acks_and_missing_in_the_order_asked() -> None:
    session = open_session()
    found = [p.Ack(id="b", seq=9, ts=109.0), p.Ack(id="c", seq=7, ts=107.0)]

    out = session.stored_found(("c", "a", "b"), found)

    assert sent(out) == [
        {
            "type": "stored",
            "acks": [{"type": "ack", "id": "c", "seq": 7, "ts": 107.0},
                     {"type": "ack", "id": "b", "seq": 9, "ts": 109.0}],
            "missing": ["a"],
        }
    ]  # fmt: skip


def test_stored_answer_when_nothing_was_stored() -> None:
    out = open_session().stored_found(("a", "b"), [])

    assert sent(out) == [{"type": "stored", "acks": [], "missing": ["a", "b"]}]


@pytest.mark.parametrize(
    "ids",
    [
        [],
        [f"id-{i}" for i in range(p.MAX_STORED_IDS + 1)],
        ["not an id!"],
        ["x" * 65],
        "a",
    ],
    ids=["empty", "too-many", "bad-chars", "too-long", "not-a-list"],
)
def test_stored_question_out_of_bounds_is_invalid_and_asks_nothing(ids: Any) -> None:
    session = open_session()

    out = session.receive(frame("stored", ids=ids), 0.0)

    assert error_codes(out) == ["invalid_message"]
    assert not any(isinstance(o, FindStored) for o in out)
    assert session.state is State.OPEN


def test_stored_question_at_the_limit_is_accepted() -> None:
    ids = [f"id-{i}" for i in range(p.MAX_STORED_IDS)]

    out = open_session().receive(frame("stored", ids=ids), 0.0)

    assert out == [FindStored(tuple(ids))]
