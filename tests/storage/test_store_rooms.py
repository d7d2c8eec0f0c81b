"""Rooms, participants and server metadata, on every back-end."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from peerlane.core.records import Retention
from peerlane.errors import ConflictError, ErrorCode, NotFoundError
from peerlane.storage.sql import SqlStore

NOW = 1_000_000.0


async def test_create_and_get_room(store: SqlStore, make) -> None:
    room, invite = await make.new_room(store)

    assert await store.get_room(room.id) == room
    assert await store.get_room("no-such-room") is None
    assert await store.count_rooms() == 1
    owner = await store.get_participant(room.owner_id)
    assert owner == make.owner(room)
    assert await store.list_participants(room.id) == [owner]
    assert invite.nameplate == 1
    assert await store.get_invite(invite.id) == invite
    assert await store.list_invites(room.id) == [invite]


async def test_create_room_is_all_or_nothing(store: SqlStore, make) -> None:
    _, invite = await make.new_room(store)
    other = make.room()
    # The first invite's token hash is taken, so the room and its owner must not be stored.
    clash = replace(make.invite(other), token_hash=invite.token_hash)

    with pytest.raises(ConflictError):
        await store.create_room(other, make.owner(other), clash)

    assert await store.get_room(other.id) is None
    assert await store.get_participant(other.owner_id) is None
    assert await store.count_rooms() == 1


async def test_set_retention(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    retention = Retention(max_age=60.0, max_messages=10, idle_expiry=3600.0)

    updated = await store.set_retention(room.id, retention)

    assert updated == replace(room, retention=retention)
    assert await store.get_room(room.id) == updated
    with pytest.raises(NotFoundError) as caught:
        await store.set_retention("no-such-room", retention)
    assert caught.value.code is ErrorCode.ROOM_NOT_FOUND


async def test_rename_room(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)

    renamed = await store.rename_room(room.id, "Planning")

    assert renamed == replace(room, name="Planning")
    assert await store.get_room(room.id) == renamed
    with pytest.raises(NotFoundError):
        await store.rename_room("no-such-room", "x")


async def test_delete_room_removes_everything_in_it(store: SqlStore, make) -> None:
    room, invite = await make.new_room(store)
    kept, kept_invite = await make.new_room(store)
    member = await store.redeem_invite(
        invite.id, make.member(room.id), now=NOW, max_participants=10
    )
    for target in (room, kept):
        await store.append_message(
            room_id=target.id, client_id="c1", sender_id=target.owner_id,
            sender_name="Owner", kind="text", ref=None, body='{"text":"hi"}', now=NOW,
        )  # fmt: skip

    assert await store.delete_room(room.id) is True

    assert await store.get_room(room.id) is None
    assert await store.get_participant(member.id) is None
    assert await store.list_participants(room.id) == []
    assert await store.get_invite(invite.id) is None
    assert await store.messages_after(room.id, 0, 100) == []
    assert await store.delete_room(room.id) is False
    # The other room is untouched.
    assert await store.count_rooms() == 1
    assert await store.get_invite(kept_invite.id) == kept_invite
    assert len(await store.messages_after(kept.id, 0, 100)) == 1


async def test_set_last_read_never_lowers(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)

    await store.set_last_read(room.owner_id, 5)
    await store.set_last_read(room.owner_id, 3)
    owner = await store.get_participant(room.owner_id)
    assert owner is not None
    assert owner.last_read_seq == 5

    await store.set_last_read(room.owner_id, 8)
    owner = await store.get_participant(room.owner_id)
    assert owner is not None
    assert owner.last_read_seq == 8


async def test_get_or_set_meta_keeps_the_first_value(store: SqlStore) -> None:
    assert await store.get_or_set_meta("secret", "first") == "first"
    assert await store.get_or_set_meta("secret", "second") == "first"
    assert await store.get_or_set_meta("other", "x") == "x"


async def test_get_or_set_meta_race_has_one_winner(store: SqlStore) -> None:
    values = [f"value-{i}" for i in range(10)]

    got = await asyncio.gather(*(store.get_or_set_meta("secret", v) for v in values))

    assert len(set(got)) == 1
    assert got[0] in values
    assert await store.get_or_set_meta("secret", "late") == got[0]
