"""A room the terminal owns rotates its key when a member leaves for good (issue #15
item 5; docs/protocol.md "Key rotation"), against a real server over real HTTP and
WebSocket: the owner is the CLI's own code (a room made as ``peerlane send`` makes one,
peer/key_follow.py with peer/owner_keys.py, its room socket a real RoomChat), the
members are clients holding identity keys as a browser does (core/e2e.py, checked
against the browser's code by tests/vectors/e2e.json)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from peerlane.core import chat_client as cc
from peerlane.core import code_words, e2e
from peerlane.peer import key_follow, owner_keys, room_create, room_entry
from peerlane.peer.key_follow import KeyChanged, KeyFollower
from peerlane.peer.room_socket import RoomChat
from support import TIMEOUT, Member, Peer, ServerProcess

# A rotation is a dozen requests (keys, invites, wraps, the name): on a loaded machine
# more than one request's wait.
ROTATION = 3 * TIMEOUT


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The terminal's identity key and remembered keys live in its config directory.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
async def web(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base, timeout=TIMEOUT) as client:
        yield client


class Device:
    """A member's client with its identity key, holding the keys it opened (K0 from the
    invite link's fragment)."""

    def __init__(self, member: Member, k0: e2e.RoomKey) -> None:
        self.member = member
        self.private = e2e.x25519_private(os.urandom(32))
        self.keys = {k0.kid: k0}

    @property
    def path(self) -> str:
        return f"/api/rooms/{self.member.room_id}"

    async def publish(self, web: httpx.AsyncClient) -> None:
        key = e2e.b64u_encode(e2e.x25519_public_bytes(self.private))
        r = await web.put(f"{self.path}/identity", json={"key": key}, headers=self.member.auth)
        assert r.status_code == 200, r.text

    async def fetch(self, web: httpx.AsyncClient) -> dict[str, Any]:
        """``GET …/keys``, each wrap opened with the sender key it names."""
        r = await web.get(f"{self.path}/keys", headers=self.member.auth)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        for w in body["wraps"]:
            key = e2e.unwrap_room_key(
                w["wrap"],
                room_id=self.member.room_id,
                recipient=self.private,
                sender_public=e2e.b64u_decode(w["sender_key"]),
            )
            self.keys[key.kid] = key
        return body

    def open(self, message: dict[str, Any]) -> Any:
        key = self.keys.get(e2e.envelope_kid(message["body"]))
        if key is None:
            raise e2e.WrongKey("not a key this member holds")
        return e2e.open_chat_body(
            key,
            message["body"],
            room_id=self.member.room_id,
            sender=message["sender"],
            content_id=message["id"],
        )


async def join(web: httpx.AsyncClient, link: str, name: str, k0: e2e.RoomKey) -> Device:
    token = link.split("#", 1)[1].split(".", 1)[0]
    r = await web.post("/api/join", json={"display_name": name, "token": token})
    assert r.status_code == 200, r.text
    body = r.json()
    device = Device(Member(body["room"]["id"], body["participant"]["id"], body["token"], body), k0)
    await device.publish(web)
    return device


class Owner:
    """The terminal owner: the room ``peerlane send`` makes, its key follower, and what it
    tells the person (notices), each awaited as an event."""

    def __init__(self, made: room_create.NewRoom) -> None:
        self.made = made
        self.member = made.member
        crypto = room_entry.room_crypto(made.member, made.key)
        assert crypto is not None
        self.crypto = crypto
        self.notes: list[str] = []
        self.noted = asyncio.Condition()
        self.follower: KeyFollower | None = None

    def notify(self, what: KeyChanged | str) -> None:
        assert isinstance(what, str), what
        self.notes.append(what)
        asyncio.get_running_loop().create_task(self._tell())

    async def _tell(self) -> None:
        async with self.noted:
            self.noted.notify_all()

    async def note(self, part: str, timeout: float = TIMEOUT) -> str:
        async with self.noted:
            await asyncio.wait_for(
                self.noted.wait_for(lambda: any(part in n for n in self.notes)), timeout
            )
        return next(n for n in self.notes if part in n)

    async def follow(self) -> KeyFollower:
        self.follower = await key_follow.follow(self.member, self.crypto, self.notify)
        return self.follower


def stored_wraps(server: ServerProcess, recipient: str) -> list[int]:
    """The epochs wrapped to a participant, as the server's database holds them."""
    with sqlite3.connect(server.data_dir / "peerlane.db") as db:
        rows = db.execute("SELECT epoch FROM key_wraps WHERE recipient_id = ?", (recipient,))
        return sorted(epoch for (epoch,) in rows)


async def test_the_terminal_owner_rotates_when_a_member_leaves_for_good(
    server: ServerProcess, web: httpx.AsyncClient
) -> None:
    made = await room_create.create(server.base, "alice")
    assert made.key is not None
    k0, owner = made.key, Owner(made)
    bob = await join(web, made.link, "bob", k0)
    carol = await join(web, made.link, "carol", k0)
    follower = await owner.follow()
    assert follower.owner is not None  # the room's maker is its owner
    shown: list[cc.Event] = []
    acked = asyncio.Event()

    def show(event: cc.Event) -> None:
        shown.append(event)
        if isinstance(event, cc.Acked):
            acked.set()

    chat = RoomChat(owner.member, show, cc.ChatClient(crypto=owner.crypto), follower.refresh)
    running = asyncio.create_task(chat.run(None))
    try:
        # Carol signs out of her last session: she leaves for good, the owner's socket
        # gets the keys frame, and the terminal rotates (the room was due).
        r = await web.delete(f"{carol.path}/session", headers=carol.member.auth)
        assert r.status_code == 204
        told = await owner.note("left this room for good", ROTATION)
        assert told.startswith("carol left this room for good: its key was rotated (epoch 1)")
        k1 = owner.crypto.key
        assert k1.epoch == 1
        assert k1.kid != k0.kid

        # The server moved to epoch 1, nothing is due; bob holds the new key.
        keys = await bob.fetch(web)
        assert (keys["epoch"], keys["rotate_due"]) == (1, False)
        (wrap,) = keys["wraps"]
        assert wrap["sender"] == owner.member.participant_id
        assert bob.keys[k1.kid] == k1

        # The owner's next message is sealed with epoch 1: bob opens it, carol's kept
        # keys (epoch 0 only) cannot, and nothing after epoch 0 was wrapped to her.
        chat.type_line("after carol left")
        await asyncio.wait_for(acked.wait(), TIMEOUT)
        r = await web.get(f"{bob.path}/messages", headers=bob.member.auth)
        (message,) = r.json()["messages"]
        assert e2e.envelope_kid(message["body"]) == k1.kid
        assert bob.open(message) == "after carol left"
        with pytest.raises(e2e.WrongKey):
            carol.open(message)
        assert stored_wraps(server, carol.member.participant_id) == []
        assert stored_wraps(server, bob.member.participant_id) == [1]
        r = await web.get(f"{carol.path}/keys", headers=carol.member.auth)
        assert r.status_code == 401  # and she can ask for nothing more

        # The room's name is sealed again with the new key.
        r = await web.get(bob.path, headers=bob.member.auth)
        name = r.json()["room"]["name"]
        assert e2e.envelope_kid(name) == k1.kid
        assert e2e.open_room_name(k1, name) == "alice's room"

        # The invites carol knew are revoked; the new one's words open with the new key
        # only, and its link carries the new key.
        r = await web.get(f"{bob.path}/invites", headers=owner.member.auth)
        invites = {i["id"]: i for i in r.json()["invites"]}
        assert invites[made.invite_id]["status"] == "revoked"
        (live,) = [i for i in invites.values() if i["status"] == "live"]
        words = code_words.open_code_words(k1, live["sealed_code"], bob.member.room_id, live["id"])
        assert f"(code {live['nameplate']}-{words})" in told
        assert f"{live['link']}.{k1.encoded()}" in told
        token = made.link.split("#", 1)[1].split(".", 1)[0]
        r = await web.post("/api/join", json={"display_name": "carol", "token": token})
        assert r.json()["error"]["code"] == "invite_revoked"

        # Dave joins by the new link, which carries only the new key: once his key is
        # published, the owner's terminal wraps him every epoch (the room shares all
        # history), so he reads what came before the rotation too.
        new_link = f"{live['link']}.{k1.encoded()}"
        fragment = new_link.split("#", 1)[1]
        r = await web.post(
            "/api/join", json={"display_name": "dave", "token": fragment.split(".")[0]}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        member = Member(body["room"]["id"], body["participant"]["id"], body["token"], body)
        dave = Device(member, e2e.RoomKey.decode(fragment.split(".")[1]))
        socket = await asyncio.to_thread(Peer, server, member)
        owner_id = owner.member.participant_id

        async def wrapped_every_epoch() -> None:
            # Each keys frame of the owner's wraps (some go to bob: epoch 0, which his
            # link gave him), until dave's came.
            while len({k.epoch for k in dave.keys.values()}) < 2:
                await asyncio.to_thread(socket.expect, "keys", participant_id=owner_id)
                await dave.fetch(web)

        try:
            await dave.publish(web)
            await asyncio.wait_for(wrapped_every_epoch(), ROTATION)
        finally:
            socket.close()
        assert {(k.kid, k.epoch) for k in dave.keys.values()} == {(k0.kid, 0), (k1.kid, 1)}
        assert dave.open(message) == "after carol left"
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_an_owner_away_at_the_departure_rotates_on_entering_and_a_rerun_takes_the_key(
    server: ServerProcess, web: httpx.AsyncClient
) -> None:
    made = await room_create.create(server.base, "alice")
    assert made.key is not None
    k0 = made.key
    bob = await join(web, made.link, "bob", k0)
    carol = await join(web, made.link, "carol", k0)
    r = await web.delete(f"{carol.path}/session", headers=carol.member.auth)
    assert r.status_code == 204
    assert (await bob.fetch(web))["rotate_due"] is True

    # The owner's terminal starts (a rerun of `send` resuming its room): the keys fetch
    # it makes on entering says rotate_due, so it rotates then.
    first = Owner(made)
    await first.follow()
    await first.note("A member left this room for good: its key was rotated (epoch 1)", ROTATION)
    k1 = first.crypto.key
    assert (await bob.fetch(web))["epoch"] == 1
    assert bob.keys[k1.kid] == k1

    # Another run as the same owner, holding only the link's key: the wrap the rotation
    # made to the owner itself hands it the new key; nothing is due, so no rotation more.
    again = Owner(made)
    await again.follow()
    assert again.crypto.key == k1
    assert again.notes == []
    assert (await bob.fetch(web))["epoch"] == 1


class Overtaken(owner_keys.OwnerKeys):
    """An owner session another one overtakes: the rival rotates after this one looked
    at the keys (due, epoch 0) and made its invite, before it posts its rotation."""

    rival: Callable[[], Awaitable[owner_keys.Rotated | str]]
    rivals: list[owner_keys.Rotated | str]

    async def _new_invite(self, key: e2e.RoomKey) -> tuple[dict[str, Any], str]:
        made = await super()._new_invite(key)
        self.rivals = [await self.rival()]
        return made


async def test_two_owner_sessions_rotating_at_once_one_wins_the_other_counts_it_done(
    server: ServerProcess, web: httpx.AsyncClient
) -> None:
    made = await room_create.create(server.base, "alice")
    assert made.key is not None
    k0 = made.key
    bob = await join(web, made.link, "bob", k0)
    carol = await join(web, made.link, "carol", k0)
    winner, loser = Owner(made), Owner(made)
    await winner.follow()
    await loser.follow()
    r = await web.delete(f"{carol.path}/session", headers=carol.member.auth)
    assert r.status_code == 204
    assert loser.follower is not None
    assert winner.follower is not None
    rival = winner.follower.owner
    assert rival is not None
    others = [(bob.member.participant_id, e2e.b64u_encode(e2e.x25519_public_bytes(bob.private)))]
    overtaken = Overtaken(loser.member, loser.crypto, loser.follower.private)
    overtaken.rival = lambda: rival.rotate(0, others)
    assert await overtaken.rotate(0, others) == "lost"  # the server's key_epoch_conflict
    (won,) = overtaken.rivals
    assert isinstance(won, owner_keys.Rotated)

    # Nothing of the loser was stored: bob holds one epoch-1 wrap, the winner's key.
    keys = await bob.fetch(web)
    assert (keys["epoch"], keys["rotate_due"], len(keys["wraps"])) == (1, False, 1)
    assert bob.keys[winner.crypto.key.kid] == winner.crypto.key
    assert loser.crypto.key == k0  # it does not seal with a key the room never took
    # The loser took back only its own invite (its words sealed under the losing key):
    # the winner's new invite is the one live, the link carol knew is revoked.
    r = await web.get(f"{bob.path}/invites", headers=made.member.auth)
    status = {i["id"]: i["status"] for i in r.json()["invites"]}
    assert [i for i, s in status.items() if s == "live"] == [won.invite_id]
    assert status[made.invite_id] == "revoked"
    # A session that comes to it later sees it done, and touches nothing.
    assert await overtaken.rotate(0, others) == "lost"
    r = await web.get(f"{bob.path}/invites", headers=made.member.auth)
    assert [i["id"] for i in r.json()["invites"] if i["status"] == "live"] == [won.invite_id]
    # Its next fetch takes the winner's key from the winner's wrap to the owner.
    await loser.follower.refresh()
    assert loser.crypto.key == winner.crypto.key
    assert loser.notes == []  # nothing was due any more: no second rotation


async def test_overtaken_by_a_browser_owner_session_the_terminal_says_it_lacks_the_key(
    server: ServerProcess, web: httpx.AsyncClient
) -> None:
    made = await room_create.create(server.base, "alice")
    assert made.key is not None
    k0 = made.key
    bob = await join(web, made.link, "bob", k0)
    carol = await join(web, made.link, "carol", k0)
    owner = Owner(made)
    follower = await owner.follow()
    overtaken = Overtaken(owner.member, owner.crypto, follower.private)
    follower.owner = overtaken
    r = await web.delete(f"{carol.path}/session", headers=carol.member.auth)
    assert r.status_code == 204
    browser_key = e2e.RoomKey(os.urandom(32), 1)

    async def browser_rotates() -> str:
        # The owner's browser rotates as key-rotation.js does: wraps to the members
        # left, none to its own participant.
        wrap = e2e.wrap_room_key(
            browser_key,
            room_id=bob.member.room_id,
            sender=follower.private,  # (the key the server lists for the owner)
            recipient_public=e2e.x25519_public_bytes(bob.private),
            ephemeral=e2e.x25519_private(os.urandom(32)),
            nonce=os.urandom(12),
        )
        body = {
            "rotate_to": 1,
            "wraps": [{"to": bob.member.participant_id, "epoch": 1, "wrap": wrap}],
        }
        r = await web.post(f"{bob.path}/keys", json=body, headers=owner.member.auth)
        assert r.status_code == 200, r.text
        return "browser"

    overtaken.rival = browser_rotates
    await follower.refresh()  # the keys fetch says rotate_due; the browser posts first
    assert overtaken.rivals == ["browser"]
    assert owner.notes == [owner_keys.LOST_RACE, owner_keys.WITHOUT_NEW_KEY]
    assert owner.crypto.key == k0
    keys = await bob.fetch(web)
    assert (keys["epoch"], len(keys["wraps"])) == (1, 1)  # the browser's rotation only
    assert bob.keys[browser_key.kid] == browser_key
