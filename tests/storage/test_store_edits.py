"""Edits, deletes and replies on every back-end: ownership, the flags, no body left."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from peerlane.core.records import MessageKind, StoredMessage
from peerlane.errors import ErrorCode, PeerlaneError
from peerlane.storage.sql import SqlStore
from peerlane.storage.tables import messages

NOW = 1_000_000.0


async def _send(
    store: SqlStore,
    room_id: str,
    client_id: str,
    body: object,
    *,
    sender: str = "alice",
    kind: MessageKind = "text",
    ref: int | None = None,
    now: float = NOW,
) -> tuple[StoredMessage, bool]:
    return await store.append_message(
        room_id=room_id,
        client_id=client_id,
        sender_id=sender,
        sender_name=sender.title(),
        kind=kind,
        ref=ref,
        body=json.dumps(body),
        now=now,
    )


async def _raw_bodies(store: SqlStore, room_id: str) -> dict[int, str]:
    """The body column itself, as the database holds it."""
    async with store._engine.connect() as conn:
        result = await conn.execute(
            select(messages.c.seq, messages.c.body).where(messages.c.room_id == room_id)
        )
        return {seq: body for seq, body in result}


async def test_an_edit_replaces_the_body_and_is_itself_in_the_log(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    await _send(store, room.id, "m1", "helo")

    edit, dup = await _send(store, room.id, "e1", "hello", kind="edit", ref=1, now=NOW + 5)

    assert (edit.seq, edit.kind, edit.ref, dup) == (2, "edit", 1, False)
    original, logged = await store.messages_after(room.id, 0, 10)
    assert (original.body, original.edited_at, original.deleted_at) == ('"hello"', NOW + 5, None)
    assert original.to_wire().body == "hello"
    assert logged == edit
    assert await store.messages_before(room.id, 10, 10) == [original, logged]


async def test_a_delete_keeps_no_body_of_the_message_or_its_edits(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    await _send(store, room.id, "m1", "my secret")
    await _send(store, room.id, "e1", "my secret, fixed", kind="edit", ref=1)
    await _send(store, room.id, "m2", "bob's", sender="bob")

    delete, dup = await _send(store, room.id, "d1", None, kind="delete", ref=1, now=NOW + 9)

    assert (delete.seq, delete.kind, delete.ref, dup) == (4, "delete", 1, False)
    bodies = await _raw_bodies(store, room.id)
    assert bodies == {1: "null", 2: "null", 3: '"bob\'s"', 4: "null"}
    assert not any("secret" in b for b in bodies.values())
    [original] = await store.messages_after(room.id, 0, 1)
    wire = original.to_wire()
    assert (wire.body, wire.deleted_at, wire.seq) == (None, NOW + 9, 1)  # the row stays: no gap


async def test_a_delete_ignores_the_body_it_is_sent_with(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    await _send(store, room.id, "m1", "text")
    delete, _ = await _send(store, room.id, "d1", "leftover", kind="delete", ref=1)
    assert delete.body == "null"
    assert "leftover" not in (await _raw_bodies(store, room.id)).values()


@pytest.mark.parametrize("kind", ["edit", "delete"])
async def test_someone_elses_message_cannot_be_changed(
    store: SqlStore, make, kind: MessageKind
) -> None:
    room, _ = await make.new_room(store)
    await _send(store, room.id, "m1", "alice's")

    with pytest.raises(PeerlaneError) as caught:
        await _send(store, room.id, "x1", "bob's now", sender="bob", kind=kind, ref=1)

    assert caught.value.code is ErrorCode.NOT_YOUR_MESSAGE
    assert await _raw_bodies(store, room.id) == {1: '"alice\'s"'}
    stored_room = await store.get_room(room.id)
    assert stored_room is not None
    assert stored_room.last_seq == 1  # the refusal used no seq
    nxt, _ = await _send(store, room.id, "m2", "next")
    assert nxt.seq == 2


async def test_changes_to_a_deleted_or_missing_message_are_refused(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    await _send(store, room.id, "m1", "text")
    await _send(store, room.id, "d1", None, kind="delete", ref=1)

    for kind, ref, code in [
        ("edit", 1, ErrorCode.MESSAGE_DELETED),
        ("delete", 1, ErrorCode.MESSAGE_DELETED),
        ("edit", 99, ErrorCode.MESSAGE_NOT_FOUND),
        ("delete", 2, ErrorCode.INVALID_MESSAGE),  # a deletion is not itself deleted
    ]:
        with pytest.raises(PeerlaneError) as caught:
            await _send(store, room.id, f"x{ref}{kind}", "again", kind=kind, ref=ref)
        assert caught.value.code is code


async def test_a_resent_change_is_applied_once(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    await _send(store, room.id, "m1", "one")
    first, _ = await _send(store, room.id, "e1", "two", kind="edit", ref=1, now=NOW + 1)
    await _send(store, room.id, "e2", "three", kind="edit", ref=1, now=NOW + 2)

    again, dup = await _send(store, room.id, "e1", "two", kind="edit", ref=1, now=NOW + 3)

    assert (again, dup) == (first, True)
    [original] = await store.messages_after(room.id, 0, 1)
    assert (original.body, original.edited_at) == ('"three"', NOW + 2)  # not rolled back


async def test_a_reply_names_its_target(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    await _send(store, room.id, "m1", "question")
    reply, _ = await _send(store, room.id, "r1", "answer", sender="bob", ref=1)
    assert (reply.kind, reply.ref) == ("text", 1)
    assert (await store.messages_after(room.id, 1, 10)) == [reply]


async def test_an_edit_racing_a_delete_never_brings_the_body_back(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    for round_ in range(5):
        target, _ = await _send(store, room.id, f"m{round_}", "secret")

        async def edit(seq: int = target.seq, n: int = round_) -> object:
            try:
                return await _send(store, room.id, f"e{n}", "edited", kind="edit", ref=seq)
            except PeerlaneError as exc:
                return exc.code

        outcomes = await asyncio.gather(
            edit(), _send(store, room.id, f"d{round_}", None, kind="delete", ref=target.seq)
        )

        assert outcomes[0] == ErrorCode.MESSAGE_DELETED or isinstance(outcomes[0], tuple)
        [now] = await store.messages_after(room.id, target.seq - 1, 1)
        assert (now.body, now.deleted_at is not None) == ("null", True)
        bodies = await _raw_bodies(store, room.id)
        assert not any("secret" in b or "edited" in b for b in bodies.values())
