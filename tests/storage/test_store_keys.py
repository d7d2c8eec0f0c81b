"""End-to-end keys in the store (issue #15): identity keys, the room key's epoch, the
history setting and key wraps, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from peerlane.errors import ConflictError, ErrorCode, NotFoundError
from peerlane.storage.sql import SqlStore

NOW = 1_000_000.0
Make = Any  # the ``make`` fixture of tests/storage/conftest.py
KEY_A = "A" * 43
KEY_B = "B" * 42 + "A"


def wrap(epoch: int, tag: str = "x") -> str:
    return f"w1.{epoch}.{'E' * 43}.{'n' * 16}.{tag * 64}"


async def room_with_member(store: SqlStore, make: Make) -> tuple[Any, Any]:
    room, invite = await make.new_room(store)
    member = make.member(room.id)
    await store.redeem_invite(invite.id, member, now=NOW, max_participants=10)
    return room, member


async def test_identity_keys_are_published_replaced_and_listed(store: SqlStore, make: Make) -> None:
    room, member = await room_with_member(store, make)
    assert (await store.get_participant(member.id)).identity_key is None  # type: ignore[union-attr]
    published = await store.set_identity_key(member.id, KEY_A)
    assert published is not None
    assert published.identity_key == KEY_A
    await store.set_identity_key(member.id, KEY_B)
    listed = {p.id: p.identity_key for p in await store.list_participants(room.id)}
    assert listed == {room.owner_id: None, member.id: KEY_B}
    assert await store.set_identity_key("nobody", KEY_A) is None


async def test_a_rotation_claims_the_next_epoch_once(store: SqlStore, make: Make) -> None:
    room, member = await room_with_member(store, make)
    assert (await store.get_room(room.id)).key_epoch == 0  # type: ignore[union-attr]
    epoch = await store.store_wraps(
        room.id, room.owner_id, KEY_A, [(member.id, 1, wrap(1))], rotate_to=1, now=NOW
    )
    assert epoch == 1
    assert (await store.get_room(room.id)).key_epoch == 1  # type: ignore[union-attr]
    # A second client racing to the same epoch loses, and stores none of its wraps.
    with pytest.raises(ConflictError) as lost:
        await store.store_wraps(
            room.id, member.id, KEY_B, [(room.owner_id, 1, wrap(1))], rotate_to=1, now=NOW
        )
    assert lost.value.code is ErrorCode.KEY_EPOCH_CONFLICT
    assert await store.wraps_for(room.owner_id) == []
    [got] = await store.wraps_for(member.id)
    assert (got.epoch, got.sender_id, got.sender_key, got.wrap) == (
        1,
        room.owner_id,
        KEY_A,
        wrap(1),
    )


async def test_wraps_of_existing_epochs_replace_the_senders_own(
    store: SqlStore, make: Make
) -> None:
    room, member = await room_with_member(store, make)
    await store.store_wraps(room.id, room.owner_id, KEY_A, [], rotate_to=1, now=NOW)
    await store.store_wraps(
        room.id, room.owner_id, KEY_A, [(member.id, 0, wrap(0)), (member.id, 1, wrap(1))],
        rotate_to=None, now=NOW,
    )  # fmt: skip
    await store.store_wraps(
        room.id, room.owner_id, KEY_A, [(member.id, 1, wrap(1, "y"))], rotate_to=None, now=NOW + 1
    )
    assert [(w.epoch, w.wrap) for w in await store.wraps_for(member.id)] == [
        (0, wrap(0)),
        (1, wrap(1, "y")),
    ]
    assert await store.wrapped_epochs(room.id) == {member.id: {0, 1}}
    # A wrap of an epoch the room has not reached, or to someone not in the room: refused.
    with pytest.raises(ConflictError):
        await store.store_wraps(
            room.id, room.owner_id, KEY_A, [(member.id, 2, wrap(2))], rotate_to=None, now=NOW
        )
    other, _ = await make.new_room(store)
    with pytest.raises(NotFoundError):
        await store.store_wraps(
            room.id, room.owner_id, KEY_A, [(other.owner_id, 1, wrap(1))], rotate_to=None, now=NOW
        )


async def test_wraps_go_with_their_member_and_room(store: SqlStore, make: Make) -> None:
    room, member = await room_with_member(store, make)
    await store.store_wraps(
        room.id, room.owner_id, KEY_A, [(member.id, 1, wrap(1))], rotate_to=1, now=NOW
    )
    await store.remove_participant(room.id, member.id)
    assert await store.wraps_for(member.id) == []
    assert await store.wrapped_epochs(room.id) == {}
    room2, member2 = await room_with_member(store, make)
    await store.store_wraps(
        room2.id, room2.owner_id, KEY_A, [(member2.id, 1, wrap(1))], rotate_to=1, now=NOW
    )
    await store.delete_room(room2.id)
    assert await store.wraps_for(member2.id) == []


async def test_the_history_setting(store: SqlStore, make: Make) -> None:
    room, _ = await make.new_room(store)
    assert room.history == "all"
    assert (await store.set_history(room.id, "joined")).history == "joined"
    assert (await store.get_room(room.id)).history == "joined"  # type: ignore[union-attr]
