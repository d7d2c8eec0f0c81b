"""The terminal's chat crypto (core.chat_crypto) through the chat client, and the PAKE
hand-over of the room key (core.pake): sealed as the browser seals, opened or shown as
the placeholder, never as ciphertext."""

from __future__ import annotations

import json
from itertools import count
from typing import Any

import pytest

from peerlane.core import chat_client as cc
from peerlane.core import chat_crypto, e2e
from peerlane.core import protocol as p

ROOM = "room"
ME = "me0000000001"
KEY = e2e.RoomKey(bytes(range(32)))
OTHER_KEY = e2e.RoomKey(bytes(32))


def counter_random() -> chat_crypto.Random:
    """Distinct nonces, the same in every run."""
    numbers = count()
    return lambda n: next(numbers).to_bytes(n, "big")


def crypto(key: e2e.RoomKey = KEY, sender: str = ME) -> chat_crypto.RoomCrypto:
    return chat_crypto.RoomCrypto(ROOM, sender, key, counter_random())


def welcome(room_name: str) -> str:
    return json.dumps(
        {
            "type": "welcome",
            "peer_id": "mypeer01",
            "participant_id": ME,
            "name": "bob",
            "role": "member",
            "room_id": ROOM,
            "room_name": room_name,
            "peers": [],
            "latest_seq": 0,
            "ice_servers": [],
        }
    )


def message(seq: int, body: Any, **extra: Any) -> str:
    fields = {"id": f"m{seq}", "sender": "ann", "sender_name": "ann", "ts": 1.0, "kind": "text"}
    return json.dumps({"type": "message", "seq": seq, **fields, "body": body, **extra})


def sealed_by(sender: str, content_id: str, body: Any, key: e2e.RoomKey = KEY) -> str:
    return e2e.seal_chat_body(
        key, bytes(12), body, room_id=ROOM, sender=sender, content_id=content_id
    )


def connected(client: cc.ChatClient, room_name: str = "") -> list[cc.Event]:
    events = client.received(welcome(room_name))
    return events + client.received(json.dumps({"type": "synced", "latest_seq": 0}))


def shown(events: list[cc.Event]) -> cc.Shown:
    (event,) = [e for e in events if isinstance(e, cc.Shown)]
    return event


def test_own_lines_go_out_sealed_once_and_open_as_the_browser_opens_them() -> None:
    client = cc.ChatClient(crypto=crypto())
    connected(client)
    (out,) = client.compose("c1", "hello")
    assert isinstance(out, cc.Out)
    assert isinstance(out.frame, p.Chat)
    sealed = out.frame.body
    assert e2e.is_envelope(sealed)
    assert e2e.open_chat_body(KEY, sealed, room_id=ROOM, sender=ME, content_id="c1") == "hello"
    # A resend after a reconnect is the very same envelope (the server keeps one per id).
    connected(client)
    assert [e.frame.body for e in client.retry("c1") if isinstance(e, cc.Out)] == [sealed]
    echo = {"id": "c1", "sender": ME}
    opened = shown(client.received(message(1, sealed, **echo)))
    assert (opened.message.body, opened.own, opened.e2e_error) == ("hello", True, None)


def test_bodies_open_with_their_content_ids_and_anything_else_is_a_placeholder() -> None:
    client = cc.ChatClient(crypto=crypto())
    connected(client)
    offer = {"name": "plan.pdf", "size": 3}
    cases = [
        (message(1, sealed_by("ann", "m1", "hi")), "hi", "text", None),
        (message(2, sealed_by("ann", "m2", offer), kind="file"), offer, "file", None),
        (message(3, sealed_by("ann", "#1", "hi!"), kind="edit", ref=1), "hi!", "edit", None),
        (message(4, sealed_by("ann", "#4", "now"), edited_at=2.0), "now", "text", None),
        (message(5, None, deleted_at=2.0), None, "text", None),
        # Moved to another message, another sender, or sealed with another key.
        (
            message(6, sealed_by("ann", "m1", "hi")),
            chat_crypto.UNDECRYPTABLE,
            "text",
            "auth_failed",
        ),
        (message(7, sealed_by("eve", "m7", "x")), chat_crypto.UNDECRYPTABLE, "text", "auth_failed"),
        (
            message(8, sealed_by("ann", "m8", "x", OTHER_KEY), kind="reaction", ref=1),
            chat_crypto.UNDECRYPTABLE,
            "text",
            "wrong_key",
        ),
        (
            message(9, "e2e1.garbage", kind="edit", ref=1),
            chat_crypto.UNDECRYPTABLE,
            "edit",
            "malformed",
        ),
    ]
    for frame, body, kind, error in cases:
        events = client.received(frame)
        if error == "wrong_key":  # waits for a fetch of the keys wrapped to this member
            assert events == [cc.KeysWanted(None)]
            events = client.keys_fetched()
        event = shown(events)
        assert (event.message.body, event.message.kind, event.e2e_error) == (body, kind, error)


def test_a_sealed_body_in_a_room_without_a_key_is_never_shown_as_ciphertext() -> None:
    client = cc.ChatClient()
    connected(client)
    event = shown(client.received(message(1, sealed_by("ann", "m1", "secret"))))
    assert (event.message.body, event.e2e_error) == (chat_crypto.UNDECRYPTABLE, "wrong_key")
    assert shown(client.received(message(2, "clear"))).message.body == "clear"


@pytest.mark.parametrize(
    ("name", "shown_as"),
    [
        (e2e.seal_room_name(KEY, bytes(12), "Standup"), "Standup"),
        (e2e.seal_room_name(OTHER_KEY, bytes(12), "Standup"), chat_crypto.LOCKED_NAME),
        ("A room from before", "A room from before"),
    ],
)
def test_the_room_name_is_opened_in_the_welcome(name: str, shown_as: str) -> None:
    (event, _) = connected(cc.ChatClient(crypto=crypto()), name)[:2]
    assert isinstance(event, cc.Connected)
    assert event.welcome.room_name == shown_as
