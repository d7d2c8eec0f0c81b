"""Key rotation in the terminal's core (issue #15 item 5): the room keys wrapped to this
member open with its identity key and the sender's remembered key (core.member_keys), a
message sealed with a key not held waits for a fetch of them (core.chat_client), every
epoch held opens its messages and the newest seals; members' keys are trusted on first
use and a changed one is noted, loudly for a verified member."""

from __future__ import annotations

import json
from itertools import count
from typing import Any

from peerlane.core import chat_client as cc
from peerlane.core import chat_crypto, e2e
from peerlane.core import protocol as p
from peerlane.core.member_keys import (
    KnownKey,
    Wrap,
    key_note,
    mark_verified,
    open_wraps,
    review_key,
)

ROOM = "room"
ME = "me0000000001"
K0 = e2e.RoomKey(bytes(range(32)))
K1 = e2e.RoomKey(bytes(range(1, 33)), 1)
K2 = e2e.RoomKey(bytes(range(2, 34)), 2)
MINE = e2e.x25519_private(bytes([7] * 32))
OWNER = e2e.x25519_private(bytes([9] * 32))
EVE = e2e.x25519_private(bytes([5] * 32))


def public(private: Any) -> str:
    return e2e.b64u_encode(e2e.x25519_public_bytes(private))


def wrap(key: e2e.RoomKey, sender: Any = OWNER, room: str = ROOM, to: Any = MINE) -> Wrap:
    text = e2e.wrap_room_key(
        key,
        room_id=room,
        sender=sender,
        recipient_public=e2e.x25519_public_bytes(to),
        ephemeral=e2e.x25519_private(bytes([3] * 32)),
        nonce=bytes(12),
    )
    return Wrap(key.epoch, "owner", public(sender), text)


def crypto(key: e2e.RoomKey = K0) -> chat_crypto.RoomCrypto:
    numbers = count()
    return chat_crypto.RoomCrypto(ROOM, ME, key, lambda n: next(numbers).to_bytes(n, "big"))


def message(seq: int, key: e2e.RoomKey, text: str) -> str:
    body = e2e.seal_chat_body(
        key, bytes(12), text, room_id=ROOM, sender="ann", content_id=f"m{seq}"
    )
    fields = {"id": f"m{seq}", "sender": "ann", "sender_name": "ann", "ts": 1.0, "kind": "text"}
    return json.dumps({"type": "message", "seq": seq, **fields, "body": body})


def connected(client: cc.ChatClient) -> None:
    welcome = {
        "type": "welcome",
        "peer_id": "mypeer01",
        "participant_id": ME,
        "name": "bob",
        "role": "member",
        "room_id": ROOM,
        "room_name": e2e.seal_room_name(K1, bytes(12), "Rotated"),
        "peers": [],
        "latest_seq": 0,
        "ice_servers": [],
    }
    client.received(json.dumps(welcome))
    client.received(json.dumps({"type": "synced", "latest_seq": 0}))


def bodies(events: list[cc.Event]) -> list[Any]:
    return [e.message.body for e in events if isinstance(e, cc.Shown)]


def test_wraps_open_with_the_senders_key_and_the_newest_epoch_seals() -> None:
    c = crypto()
    opened = open_wraps(c, [wrap(K0), wrap(K1), wrap(K2)], MINE, {}, epoch=2)
    assert [k.epoch for k in opened.keys] == [1, 2]  # K0 was held already (the link's)
    assert opened.senders == {"owner": KnownKey(public(OWNER))}
    assert opened.refused == []
    assert c.key == K2
    sealed = c.seal("c1", "hi")
    assert e2e.envelope_kid(sealed) == K2.kid
    # The same wraps again: nothing new.
    assert open_wraps(c, [wrap(K1)], MINE, opened.senders, epoch=2).keys == []
    assert c.key == K2


def test_a_wrap_from_a_sender_whose_key_is_not_the_remembered_one_is_refused() -> None:
    c = crypto()
    known = {"owner": KnownKey(public(OWNER))}
    forged = wrap(K1, sender=EVE)  # the server hands out eve's key as the owner's
    damaged = Wrap(1, "owner", public(OWNER), wrap(K1).wrap[:-2] + "AA")
    elsewhere = wrap(K1, room="another")
    opened = open_wraps(c, [forged, damaged, elsewhere], MINE, known, epoch=1)
    assert opened.keys == []
    assert c.key == K0
    assert opened.refused == [
        ("owner", 1, "sender_key_changed"),
        ("owner", 1, "auth_failed"),
        ("owner", 1, "auth_failed"),
    ]
    # A sender first seen in this fetch is remembered for the rest of it too.
    first = open_wraps(crypto(), [wrap(K1), forged], MINE, {}, epoch=1)
    assert first.refused == [("owner", 1, "sender_key_changed")]


def test_a_link_key_from_after_a_rotation_learns_its_epoch() -> None:
    link = e2e.RoomKey(K1.secret)  # epoch 0 as the link gives it; truly epoch 1
    c = crypto(link)
    assert not c.add_key(K1, current=False)  # the same key: not new, its epoch learnt
    assert c.key == K1
    assert c.keys[K1.kid].epoch == 1
    assert c.add_key(K0, current=False)  # an older epoch (all history): held, not current
    assert c.key == K1
    assert not c.add_key(e2e.RoomKey(K0.secret), current=True)  # a lower epoch: kept at its own
    assert c.key == K0
    assert c.keys[K0.kid].epoch == 0


def test_a_message_of_a_key_not_held_waits_for_the_fetch_and_keeps_the_order() -> None:
    c = crypto()
    client = cc.ChatClient(crypto=c)
    connected(client)
    assert bodies(client.received(message(1, K0, "old epoch"))) == ["old epoch"]
    assert client.received(message(2, K1, "new epoch")) == [cc.KeysWanted(None)]
    assert client.received(message(3, K0, "after it")) == []  # waits behind it
    open_wraps(c, [wrap(K1)], MINE, {}, epoch=1)
    assert bodies(client.keys_fetched()) == ["new epoch", "after it"]
    # Sealed with the newest key from now on; the room's name opens with it too.
    (out,) = client.compose("c1", "reply")
    assert isinstance(out, cc.Out)
    assert isinstance(out.frame, p.Chat)
    assert e2e.envelope_kid(out.frame.body) == K1.kid
    assert c.open_name(e2e.seal_room_name(K1, bytes(12), "Rotated")) == "Rotated"


def test_a_key_no_fetch_brings_shows_placeholders_until_a_keys_frame() -> None:
    """A removed member (or one whose wrap was withheld) sees the placeholder, never the
    ciphertext, and does not ask the server again for each message."""
    client = cc.ChatClient(crypto=crypto())
    connected(client)
    assert client.received(message(1, K1, "secret")) == [cc.KeysWanted(None)]
    (placeholder,) = [e for e in client.keys_fetched() if isinstance(e, cc.Shown)]
    assert placeholder.message.body == chat_crypto.UNDECRYPTABLE
    assert placeholder.e2e_error == "wrong_key"
    assert bodies(client.received(message(2, K1, "more"))) == [chat_crypto.UNDECRYPTABLE]
    keys = {"type": "keys", "participant_id": "owner", "epoch": 1}
    assert client.received(json.dumps(keys)) == [cc.KeysWanted("owner")]
    assert client.received(message(3, K1, "again")) == [cc.KeysWanted(None)]  # asks again
    # A client without a key (a room without encryption) has nothing to wait for.
    plain = cc.ChatClient()
    assert plain.keys_fetched() == []
    assert plain.received(json.dumps(keys)) == [cc.KeysWanted("owner")]


def test_members_keys_are_trusted_on_first_use_and_a_change_is_noted() -> None:
    assert review_key(None, None) == ("none", None)
    state, first = review_key(None, "A")
    assert (state, first) == ("new", KnownKey("A"))
    assert first is not None
    assert key_note(first) == ""
    assert key_note(None) == ""
    assert review_key(first, "A") == ("same", None)
    state, changed = review_key(first, "B")
    assert state == "changed"
    assert changed == KnownKey("B", False, "changed")
    assert "changed (a new device" in key_note(changed)
    verified = mark_verified(KnownKey("A"))
    state, loud = review_key(verified, "B")
    assert loud == KnownKey("B", False, "verified-changed")
    assert key_note(loud).startswith("WARNING: the security key of this verified person")
    # Loud until compared again, even through a further change.
    assert loud is not None
    assert review_key(loud, "C")[1] == KnownKey("C", False, "verified-changed")
    assert mark_verified(loud) == KnownKey("B", True, "")


def test_remembered_keys_read_back_and_damage_is_dropped() -> None:
    known = KnownKey("A", True, "verified-changed")
    assert KnownKey.from_json(json.loads(json.dumps(known.as_json()))) == known
    assert KnownKey.from_json({"key": "A", "changed": "bogus"}) == KnownKey("A")
    assert KnownKey.from_json({"key": 3}) is None
    assert KnownKey.from_json([]) is None
