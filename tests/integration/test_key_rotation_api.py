"""The server side of identity keys and key rotation (issue #15, docs/protocol.md
"Identity keys and rotation on the server"), over HTTP on SQLite and on PostgreSQL: a
member publishes its identity key, the owner rotates with real w1 wraps, an offline
member fetches its wrap later and opens it, a removed member gets nothing, and the
server refuses what is not a key or a wrap."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from peerlane.core import e2e
from services import PgServer, create_database
from support import Member, Peer, ServerProcess, assert_error, create_room, join, link_token


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def key_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    env = {"PEERLANE_ROOMS_PER_HOUR": "10000"}
    if request.param == "postgresql":
        pg: PgServer = request.getfixturevalue("pg_server")
        env["PEERLANE_DATABASE_URL"] = create_database(pg)
    proc = ServerProcess(tmp_path_factory.mktemp("keys") / "data", env=env).start()
    yield proc
    proc.stop()


@pytest.fixture
def http(key_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=key_server.base, timeout=10) as c:
        yield c


class Device:
    """A member with an identity key pair (as a browser or the CLI holds one)."""

    def __init__(self, member: Member) -> None:
        self.member = member
        self.private = e2e.x25519_private(os.urandom(32))
        self.public = e2e.x25519_public_bytes(self.private)

    @property
    def key_text(self) -> str:
        return e2e.b64u_encode(self.public)

    def publish(self, http: httpx.Client) -> None:
        r = http.put(
            f"/api/rooms/{self.member.room_id}/identity",
            json={"key": self.key_text},
            headers=self.member.auth,
        )
        assert r.status_code == 200, r.text

    def keys(self, http: httpx.Client) -> dict:
        r = http.get(f"/api/rooms/{self.member.room_id}/keys", headers=self.member.auth)
        assert r.status_code == 200, r.text
        return r.json()

    def wrap_to(self, key: e2e.RoomKey, other: Device) -> dict:
        wrapped = e2e.wrap_room_key(
            key,
            room_id=self.member.room_id,
            sender=self.private,
            recipient_public=other.public,
            ephemeral=e2e.x25519_private(os.urandom(32)),
            nonce=os.urandom(12),
        )
        return {"to": other.member.participant_id, "epoch": key.epoch, "wrap": wrapped}


def three(http: httpx.Client) -> tuple[Device, Device, Device]:
    owner = create_room(http, "alice")
    token = link_token(owner)
    bob = join(http, "bob", token=token)
    carol = join(http, "carol", token=token)
    return Device(owner), Device(bob), Device(carol)


def test_published_keys_are_in_the_participant_list(
    http: httpx.Client, key_server: ServerProcess
) -> None:
    alice, bob, _ = three(http)
    socket = Peer(key_server, alice.member)
    try:
        bob.publish(http)
        # Open sockets are told to look again (the owner's client then wraps keys to bob).
        socket.expect("keys", participant_id=bob.member.participant_id, epoch=0)
        bob.publish(http)  # the same key again: nothing to tell
        socket.assert_silent()
    finally:
        socket.close()
    r = http.get(f"/api/rooms/{alice.member.room_id}/participants", headers=alice.member.auth)
    keys = {p["name"]: p["identity_key"] for p in r.json()["participants"]}
    assert keys == {"alice": None, "bob": bob.key_text, "carol": None}


def test_rotation_reaches_remaining_members_and_not_the_removed_one(http: httpx.Client) -> None:
    alice, bob, carol = three(http)
    for device in (alice, bob, carol):
        device.publish(http)
    room = alice.member.room_id
    r = http.delete(
        f"/api/rooms/{room}/participants/{carol.member.participant_id}", headers=alice.member.auth
    )
    assert r.status_code == 204
    new_key = e2e.RoomKey(os.urandom(32), 1)
    body = {"rotate_to": 1, "wraps": [alice.wrap_to(new_key, bob)]}
    r = http.post(f"/api/rooms/{room}/keys", json=body, headers=alice.member.auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"epoch": 1}
    # Bob (offline at the rotation) fetches his wrap later and opens it with his key.
    got = bob.keys(http)
    assert got["epoch"] == 1
    assert got["history"] == "all"
    [wrap] = got["wraps"]
    assert wrap["sender"] == alice.member.participant_id
    assert wrap["sender_key"] == alice.key_text
    opened = e2e.unwrap_room_key(
        wrap["wrap"], room_id=room, recipient=bob.private, sender_public=alice.public
    )
    assert opened == new_key
    # With "all" history, bob still lacks epoch 0 as a wrap: the owner's list says so.
    needs = alice.keys(http)["needs"]
    assert needs == [
        {"participant_id": bob.member.participant_id, "identity_key": bob.key_text, "epochs": [0]}
    ]
    # The removed member's token no longer reads anything.
    r = http.get(f"/api/rooms/{room}/keys", headers=carol.member.auth)
    assert r.status_code == 401
    # A second rotation to the same epoch (another client racing) is refused; a member
    # who is not the owner does not rotate at all.
    r = http.post(f"/api/rooms/{room}/keys", json=body, headers=alice.member.auth)
    assert_error(r, 409, "key_epoch_conflict")
    r = http.post(f"/api/rooms/{room}/keys", json={**body, "rotate_to": 2}, headers=bob.member.auth)
    assert_error(r, 403, "not_owner")
    # A member may still hand a key it holds to another (here bob to alice, epoch 1).
    r = http.post(
        f"/api/rooms/{room}/keys", json={"wraps": [bob.wrap_to(new_key, alice)]},
        headers=bob.member.auth,
    )  # fmt: skip
    assert r.status_code == 200, r.text


def test_history_joined_asks_only_for_the_current_epoch(http: httpx.Client) -> None:
    alice, bob, _ = three(http)
    room = alice.member.room_id
    r = http.patch(f"/api/rooms/{room}", json={"history": "joined"}, headers=alice.member.auth)
    assert r.status_code == 200
    assert r.json()["history"] == "joined"
    r = http.patch(f"/api/rooms/{room}", json={"history": "joined"}, headers=bob.member.auth)
    assert_error(r, 403, "not_owner")
    alice.publish(http)
    bob.publish(http)
    body = {"rotate_to": 1, "wraps": []}
    assert http.post(f"/api/rooms/{room}/keys", json=body, headers=alice.member.auth).is_success
    needs = alice.keys(http)["needs"]
    assert [(n["participant_id"], n["epochs"]) for n in needs] == [(bob.member.participant_id, [1])]
    r = http.get(f"/api/rooms/{room}", headers=bob.member.auth)
    assert r.json()["room"]["key_epoch"] == 1


@pytest.mark.parametrize(
    "key",
    ["A" * 42, "A" * 44, "A" * 42 + "B", "A" * 42 + "=", "+" * 43, "A" * 42 + "\u0000"],
)
def test_what_is_not_an_identity_key_is_refused(http: httpx.Client, key: str) -> None:
    alice = create_room(http, "alice")
    r = http.put(f"/api/rooms/{alice.room_id}/identity", json={"key": key}, headers=alice.auth)
    assert_error(r, 422, "invalid_message")


def test_what_is_not_a_wrap_is_refused(http: httpx.Client) -> None:
    alice, bob, _ = three(http)
    room = alice.member.room_id
    good = alice.wrap_to(e2e.RoomKey(os.urandom(32), 1), bob)
    # Wrapping before publishing one's own identity key: recipients could not check it.
    r = http.post(
        f"/api/rooms/{room}/keys", json={"rotate_to": 1, "wraps": [good]},
        headers=alice.member.auth,
    )  # fmt: skip
    assert_error(r, 400, "bad_request")
    alice.publish(http)
    bad = [
        {**good, "wrap": good["wrap"] + "A"},
        {**good, "wrap": "w2" + good["wrap"][2:]},
        {**good, "epoch": 2},  # not the wrap's own epoch
        {**good, "extra": 1},
    ]
    for wrap in bad:
        r = http.post(
            f"/api/rooms/{room}/keys", json={"rotate_to": 1, "wraps": [wrap]},
            headers=alice.member.auth,
        )  # fmt: skip
        assert_error(r, 422, "invalid_message")
    r = http.post(f"/api/rooms/{room}/keys", json={"wraps": [good]}, headers=alice.member.auth)
    assert_error(r, 409, "key_epoch_conflict")  # epoch 1 does not exist yet
    stranger = {**good, "to": "nobody"}
    r = http.post(
        f"/api/rooms/{room}/keys", json={"rotate_to": 1, "wraps": [stranger]},
        headers=alice.member.auth,
    )  # fmt: skip
    assert_error(r, 404, "not_found")
    assert alice.keys(http)["epoch"] == 0  # the refused rotation left nothing behind


def test_a_member_leaving_for_good_makes_the_key_due_to_rotate(
    http: httpx.Client, key_server: ServerProcess
) -> None:
    alice, bob, carol = three(http)
    for device in (alice, bob, carol):
        device.publish(http)
    room = alice.member.room_id
    assert alice.keys(http)["rotate_due"] is False
    socket = Peer(key_server, alice.member)
    try:
        r = http.delete(f"/api/rooms/{room}/session", headers=carol.member.auth)
        assert r.status_code == 204
        # Her last session: she is out of the room, and the owner's socket is told.
        socket.expect("keys", participant_id=carol.member.participant_id, epoch=0)
    finally:
        socket.close()
    r = http.get(f"/api/rooms/{room}/participants", headers=alice.member.auth)
    assert {p["name"] for p in r.json()["participants"]} == {"alice", "bob"}
    # An owner offline at the time sees it on its next fetch, until it rotates.
    assert alice.keys(http)["rotate_due"] is True
    new_key = e2e.RoomKey(os.urandom(32), 1)
    body = {"rotate_to": 1, "wraps": [alice.wrap_to(new_key, bob)]}
    r = http.post(f"/api/rooms/{room}/keys", json=body, headers=alice.member.auth)
    assert r.status_code == 200, r.text
    assert alice.keys(http)["rotate_due"] is False
    # The owner signing out does not leave the room: it is theirs.
    r = http.delete(f"/api/rooms/{room}/session", headers=alice.member.auth)
    assert r.status_code == 204
    r = http.get(f"/api/rooms/{room}/participants", headers=bob.member.auth)
    assert {p["name"] for p in r.json()["participants"]} == {"alice", "bob"}
    assert bob.keys(http)["rotate_due"] is False
