"""Who may take which peer id back (core.peer_ids) and what the session does with it."""

from __future__ import annotations

import json

import pytest

from peerlane.core import protocol as p
from peerlane.core.peer_ids import PeerReplaced, Resumed, resume, resume_token
from peerlane.core.session import (
    CLOSE_REPLACED,
    Close,
    Identity,
    Join,
    Publish,
    RoomEvent,
    RoomSnapshot,
    Send,
    Session,
    SessionLimits,
    State,
)
from peerlane.errors import ErrorCode, ProtocolError

SECRET = b"s" * 32
ROOM = "room-1"
ALICE = "part-alice"
MALLORY = "part-mallory"


def entry(peer_id: str, participant_id: str) -> p.PeerInfo:
    return p.PeerInfo(peer_id=peer_id, participant_id=participant_id, name="x", role="member")


def take(token: str | None, participant_id: str, present: list[p.PeerInfo]) -> Resumed | None:
    return resume(
        token, secret=SECRET, room_id=ROOM, participant_id=participant_id, present=present
    )


# --- the rule ---------------------------------------------------------------------------


def test_own_id_comes_back_when_no_one_holds_it() -> None:
    """After a server restart the room's presence is empty: the id is taken back."""
    token = resume_token(SECRET, ROOM, ALICE, "peerA1")
    assert take(token, ALICE, []) == Resumed("peerA1", replaces=False)


def test_own_stale_entry_is_replaced_not_duplicated() -> None:
    token = resume_token(SECRET, ROOM, ALICE, "peerA1")
    present = [entry("peerA1", ALICE), entry("peerB1", "part-bob")]
    assert take(token, ALICE, present) == Resumed("peerA1", replaces=True)


def test_another_participants_token_is_refused_even_when_the_id_is_free() -> None:
    """Mallory saw alice's peer id in the welcome and guesses nothing else: the id is
    free (alice has not reconnected yet), but the token is not signed for mallory."""
    alices = resume_token(SECRET, ROOM, ALICE, "peerA1")
    assert take(alices, MALLORY, []) is None
    assert take(alices, MALLORY, [entry("peerA1", ALICE)]) is None
    forged = "peerA1." + resume_token(SECRET, ROOM, MALLORY, "peerM1").split(".")[1]
    assert take(forged, MALLORY, []) is None


def test_an_id_held_by_another_participant_is_not_taken() -> None:
    token = resume_token(SECRET, ROOM, ALICE, "peerA1")
    assert take(token, ALICE, [entry("peerA1", MALLORY)]) is None


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "no-signature",
        ".AAAAAAAAAAAAAAAAAAAAAA",
        resume_token(b"other secret", ROOM, ALICE, "peerA1"),
        resume_token(SECRET, "room-2", ALICE, "peerA1"),
    ],
)
def test_tokens_not_signed_for_this_room_and_participant_are_ignored(token: str | None) -> None:
    assert take(token, ALICE, []) is None


def test_no_secret_no_resume() -> None:
    token = resume_token(b"", ROOM, ALICE, "peerA1")
    assert resume(token, secret=b"", room_id=ROOM, participant_id=ALICE, present=[]) is None


# --- the hello field --------------------------------------------------------------------


def test_hello_resume_is_validated() -> None:
    good = resume_token(SECRET, ROOM, ALICE, "peerA1")
    hello = p.parse_client_message(
        json.dumps({"type": "hello", "v": 1, "resume": good}), max_size=4096
    )
    assert isinstance(hello, p.Hello)
    assert hello.resume == good
    for bad in ["x" * 200, "peer A1.AAAAAAAAAAAAAAAAAAAAAA", "peerA1.short", 42, "peer<>.x"]:
        with pytest.raises(ProtocolError) as caught:
            p.parse_client_message(
                json.dumps({"type": "hello", "v": 1, "resume": bad}), max_size=4096
            )
        assert caught.value.code is ErrorCode.INVALID_MESSAGE


# --- the session ------------------------------------------------------------------------

ME = Identity(room_id=ROOM, participant_id=ALICE, peer_id="fresh1", name="Alice", role="member")


def joining(connection: str) -> tuple[Session, list[object]]:
    session = Session(ME, SessionLimits(), now=0.0, connection=connection)
    token = resume_token(SECRET, ROOM, ALICE, "peerA1")
    out = session.receive(json.dumps({"type": "hello", "v": 1, "resume": token}), 0.0)
    return session, list(out)


def snapshot() -> RoomSnapshot:
    return RoomSnapshot(room_name="r", latest_seq=0, peers=[], ice_servers=[], read={})


def test_hello_passes_the_token_to_the_join() -> None:
    _, out = joining("c-new")
    assert out == [Join(None, resume_token(SECRET, ROOM, ALICE, "peerA1"))]


def test_resumed_id_is_the_one_welcomed_and_announced() -> None:
    session, _ = joining("c-new")
    assert session.resumed(Resumed("peerA1", replaces=False)) == []
    out = session.joined(snapshot(), None)
    welcome = json.loads(next(o.text for o in out if isinstance(o, Send)))
    assert welcome["peer_id"] == "peerA1"
    joined = next(o for o in out if isinstance(o, Publish))
    assert isinstance(joined.event.message, p.Presence)
    assert joined.event.message.peer.peer_id == "peerA1"


def test_replacing_a_live_entry_closes_the_older_connection_quietly() -> None:
    old, _ = joining("c-old")
    old.resumed(Resumed("peerA1", replaces=False))
    old.joined(snapshot(), None)
    new, _ = joining("c-new")
    out = new.resumed(Resumed("peerA1", replaces=True))
    [publish] = out
    assert isinstance(publish, Publish)
    event = publish.event
    assert event.message == PeerReplaced(peer_id="peerA1", participant_id=ALICE, connection="c-new")
    # The newer connection ignores its own event; the older one closes, saying no "left".
    assert new.room_event(event) == []
    assert new.state is State.JOINING
    assert old.room_event(event) == [Close(CLOSE_REPLACED, "replaced by a newer connection")]
    assert old.replaced
    assert old.state is State.CLOSED
    assert old.closed() == []


def test_replaced_event_for_another_id_or_participant_is_ignored() -> None:
    old, _ = joining("c-old")
    old.resumed(Resumed("peerA1", replaces=False))
    old.joined(snapshot(), None)
    for message in [
        PeerReplaced(peer_id="peerB1", participant_id=ALICE, connection="c-x"),
        PeerReplaced(peer_id="peerA1", participant_id=MALLORY, connection="c-x"),
    ]:
        assert old.room_event(RoomEvent(ROOM, message)) == []
    assert old.state is State.OPEN
    assert not old.replaced


def test_going_away_says_no_left() -> None:
    """A server shutting down (1001) does not tell the room its peers left: they come
    back with the same ids, and the direct links between them stay up meanwhile."""
    session, _ = joining("c-1")
    session.joined(snapshot(), None)
    assert session.closed(going_away=True) == []
    other, _ = joining("c-2")
    other.joined(snapshot(), None)
    [left] = other.closed()
    assert isinstance(left, Publish)
    assert isinstance(left.event.message, p.Presence)
    assert left.event.message.event == "left"


def test_resumed_outside_joining_changes_nothing() -> None:
    """A connection closed while the driver checked the token (or one never joining)
    keeps its identity: a closed connection announces nothing under the resumed id."""
    session = Session(ME, SessionLimits(), now=0.0, connection="c-1")
    assert session.resumed(Resumed("peerA1", replaces=True)) == []
    assert session.identity.peer_id == "fresh1"


def test_direct_peers_are_chosen_as_the_browser_chooses_them() -> None:
    from peerlane.core.peer_ids import choose_direct_peers

    assert choose_direct_peers("b", ["a", "c", "d"], 8) == {"a", "c", "d"}
    assert choose_direct_peers("b", ["a", "c", "d"], 1) == {"a"}
    assert choose_direct_peers("d", ["a", "c", "b"], 1) == set()  # beyond the mesh
    assert choose_direct_peers("a", ["b"], 0) == set()  # peer to peer off
