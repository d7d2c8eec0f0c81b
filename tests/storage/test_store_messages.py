"""Messages: numbering, idempotent resends, paging, on every back-end."""

from __future__ import annotations

import asyncio
import json

import pytest

from peerlane.core.protocol import MAX_STORED_IDS
from peerlane.core.records import StoredId, StoredMessage
from peerlane.errors import ConflictError, ErrorCode, NotFoundError
from peerlane.storage.sql import SqlStore

NOW = 1_000_000.0


async def _append(
    store: SqlStore, room_id: str, client_id: str, *, sender: str = "alice", now: float = NOW
) -> tuple[StoredMessage, bool]:
    return await store.append_message(
        room_id=room_id,
        client_id=client_id,
        sender_id=sender,
        sender_name=sender.title(),
        kind="text",
        ref=None,
        body=json.dumps({"text": client_id}),
        now=now,
    )


async def test_seqs_are_gap_free_and_stored(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)

    appended = [await _append(store, room.id, f"m{i}", now=NOW + i) for i in range(1, 6)]

    assert [(m.seq, dup) for m, dup in appended] == [(i, False) for i in range(1, 6)]
    first = appended[0][0]
    assert first == StoredMessage(
        room_id=room.id, seq=1, client_id="m1", sender_id="alice", sender_name="Alice",
        ts=NOW + 1, kind="text", ref=None, body='{"text": "m1"}',
    )  # fmt: skip
    stored_room = await store.get_room(room.id)
    assert stored_room is not None
    assert (stored_room.last_seq, stored_room.last_active_at) == (5, NOW + 5)
    assert await store.messages_after(room.id, 0, 100) == [m for m, _ in appended]


async def test_reaction_keeps_its_ref(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    await _append(store, room.id, "m1")

    reaction, _ = await store.append_message(
        room_id=room.id, client_id="r1", sender_id="bob", sender_name="Bob",
        kind="reaction", ref=1, body='{"emoji":"+1"}', now=NOW,
    )  # fmt: skip

    assert (reaction.kind, reaction.ref) == ("reaction", 1)
    assert (await store.messages_after(room.id, 1, 10)) == [reaction]


async def test_resend_is_idempotent_and_uses_no_seq(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    original, dup = await _append(store, room.id, "m1")
    assert not dup

    again, dup = await _append(store, room.id, "m1", now=NOW + 5)

    assert dup
    assert again == original
    # The same client id from another sender is a different message.
    other, dup = await _append(store, room.id, "m1", sender="bob")
    assert (other.seq, dup) == (2, False)
    nxt, _ = await _append(store, room.id, "m2")
    assert nxt.seq == 3


async def test_append_to_missing_room(store: SqlStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        await _append(store, "no-such-room", "m1")
    assert caught.value.code is ErrorCode.ROOM_NOT_FOUND


async def test_concurrent_appends_are_numbered_one_to_n(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)

    results = await asyncio.gather(*(_append(store, room.id, f"m{i}") for i in range(50)))

    assert sorted(m.seq for m, _ in results) == list(range(1, 51))
    assert not any(dup for _, dup in results)
    stored = await store.messages_after(room.id, 0, 100)
    assert [m.seq for m in stored] == list(range(1, 51))


async def test_concurrent_resends_store_one_message(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)

    results = await asyncio.gather(*(_append(store, room.id, "same") for _ in range(10)))

    assert {m.seq for m, _ in results} == {1}
    assert sum(not dup for _, dup in results) == 1
    # No seq was consumed by the losers.
    nxt, _ = await _append(store, room.id, "next")
    assert nxt.seq == 2


async def test_paging(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    other, _ = await make.new_room(store)
    for i in range(1, 11):
        await _append(store, room.id, f"m{i}")
    await _append(store, other.id, "elsewhere")

    async def after(seq: int, limit: int) -> list[int]:
        return [m.seq for m in await store.messages_after(room.id, seq, limit)]

    async def before(seq: int, limit: int) -> list[int]:
        return [m.seq for m in await store.messages_before(room.id, seq, limit)]

    assert await after(0, 3) == [1, 2, 3]
    assert await after(3, 3) == [4, 5, 6]
    assert await after(8, 5) == [9, 10]
    assert await after(10, 5) == []
    assert await before(11, 3) == [8, 9, 10]
    assert await before(8, 3) == [5, 6, 7]
    assert await before(3, 5) == [1, 2]
    assert await before(1, 5) == []


async def test_concurrent_appends_to_several_rooms_and_a_missing_one(store: SqlStore, make) -> None:
    # On SQLite these land in one batch: the missing room fails alone.
    rooms = [(await make.new_room(store))[0] for _ in range(3)]
    calls = [_append(store, room.id, f"m{i}") for i in range(4) for room in rooms]
    calls.insert(5, _append(store, "no-such-room", "lost"))

    results = await asyncio.gather(*calls, return_exceptions=True)

    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1
    assert isinstance(failed[0], NotFoundError)
    for room in rooms:
        stored = await store.messages_after(room.id, 0, 100)
        assert [m.seq for m in stored] == [1, 2, 3, 4]
        assert sorted(m.client_id for m in stored) == [f"m{i}" for i in range(4)]


async def test_a_cancelled_append_does_not_stop_the_others(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    first = asyncio.ensure_future(_append(store, room.id, "first"))
    rest = [asyncio.ensure_future(_append(store, room.id, f"m{i}")) for i in range(5)]
    await asyncio.sleep(0)
    first.cancel()

    results = await asyncio.gather(*rest)

    assert not any(dup for _, dup in results)
    # The cancelled one may or may not have been stored; the seqs stay gap-free.
    stored = await store.messages_after(room.id, 0, 100)
    assert [m.seq for m in stored] == list(range(1, len(stored) + 1))
    assert {m.client_id for m in stored} >= {f"m{i}" for i in range(5)}


async def test_stored_ids_are_the_senders_own_in_this_room(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    other_room, _ = await make.new_room(store)
    first, _ = await _append(store, room.id, "c1", now=NOW + 1)
    await _append(store, room.id, "c2", sender="bob", now=NOW + 2)  # same id, someone else
    third, _ = await _append(store, room.id, "c3", now=NOW + 3)
    await _append(store, other_room.id, "c4", now=NOW + 4)  # mine, another room

    found = await store.stored_ids(room.id, "alice", ["c1", "c2", "c3", "c4", "c5"])

    assert sorted(found, key=lambda s: s.seq) == [
        StoredId(client_id="c1", seq=first.seq, ts=NOW + 1),
        StoredId(client_id="c3", seq=third.seq, ts=NOW + 3),
    ]


async def test_stored_ids_of_nothing_is_empty(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    await _append(store, room.id, "c1")

    assert await store.stored_ids(room.id, "alice", []) == []
    assert await store.stored_ids(room.id, "alice", ["never-sent"]) == []


async def test_stored_ids_answers_a_full_question(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    ids = [f"id-{i}" for i in range(MAX_STORED_IDS)]
    for i in range(0, MAX_STORED_IDS, 2):  # every other one was stored
        await _append(store, room.id, ids[i], now=NOW + i)

    found = await store.stored_ids(room.id, "alice", ids)

    assert sorted(s.client_id for s in found) == sorted(ids[0::2])


async def test_a_moved_room_takes_no_more_messages(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    first, _ = await _append(store, room.id, "m1")

    moved = await store.move_room(room.id, NOW + 5, "k" * 11)
    again = await store.move_room(room.id, NOW + 9, "x" * 11)  # a retried move changes nothing

    assert (moved.moved_at, moved.moved_key_id) == (NOW + 5, "k" * 11)
    assert again == moved
    assert await store.get_room(room.id) == moved
    # Plain chat (the SQLite appender's path) and changes (the generic path) alike.
    for kind, ref in (("text", None), ("edit", first.seq), ("delete", first.seq)):
        with pytest.raises(ConflictError) as caught:
            await store.append_message(
                room_id=room.id,
                client_id=f"after-{kind}",
                sender_id="alice",
                sender_name="Alice",
                kind=kind,
                ref=ref,
                body=json.dumps("late"),
                now=NOW + 10,
            )
        assert caught.value.code is ErrorCode.ROOM_MOVED
    # A resend of what was stored before the move is still answered with it.
    assert await _append(store, room.id, "m1") == (first, True)
    assert (await store.get_room(room.id)).last_seq == 1  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        await store.move_room("no-such-room", NOW, "k" * 11)
