"""Invites: nameplates, redemption and its failures, on every back-end."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from peerlane.core.records import Participant
from peerlane.errors import ErrorCode, GoneError, LimitError, NotFoundError
from peerlane.storage.sql import SqlStore

NOW = 1_000_000.0
HOUR = 3600.0


async def test_nameplates_are_the_smallest_free(store: SqlStore, make) -> None:
    room, first = await make.new_room(store)
    second = await store.create_invite(make.invite(room))
    third = await store.create_invite(make.invite(room))
    assert (first.nameplate, second.nameplate, third.nameplate) == (1, 2, 3)
    _, other_room_invite = await make.new_room(store)
    assert other_room_invite.nameplate == 4  # nameplates are server-wide

    # Retire 2 (too many wrong guesses): the next invite reuses it.
    await store.record_code_failure(second.id, max_failures=1)
    assert (await store.create_invite(make.invite(room))).nameplate == 2
    # Release 1 through cleanup of a revoked invite.
    await store.update_invite(first.id, revoked_at=NOW)
    await store.cleanup(now=NOW + 2 * HOUR, invite_grace=HOUR)
    assert (await store.create_invite(make.invite(room))).nameplate == 1
    assert (await store.create_invite(make.invite(room))).nameplate == 5


async def test_create_invite_ignores_given_nameplate(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)

    invite = await store.create_invite(replace(make.invite(room), nameplate=99))
    assert invite.nameplate == 2


async def test_create_invite_needs_the_room(store: SqlStore, make) -> None:
    with pytest.raises(NotFoundError) as caught:
        await store.create_invite(make.invite(make.room()))
    assert caught.value.code is ErrorCode.ROOM_NOT_FOUND


async def test_concurrent_invites_get_distinct_nameplates(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)

    created = await asyncio.gather(*(store.create_invite(make.invite(room)) for _ in range(10)))

    assert sorted(i.nameplate for i in created) == list(range(2, 12))


async def test_invite_lookups(store: SqlStore, make) -> None:
    _, invite = await make.new_room(store)

    assert await store.get_invite_by_token_hash(invite.token_hash) == invite
    assert await store.get_invite_by_nameplate(1) == invite
    assert await store.get_invite_by_token_hash("nope") is None
    assert await store.get_invite_by_nameplate(2) is None
    assert await store.get_invite("nope") is None


async def test_update_invite_changes_only_given_fields(store: SqlStore, make) -> None:
    _, invite = await make.new_room(store, max_uses=5)

    longer = await store.update_invite(invite.id, expires_at=NOW + 10 * HOUR)
    assert (longer.expires_at, longer.max_uses, longer.revoked_at) == (NOW + 10 * HOUR, 5, None)
    more = await store.update_invite(invite.id, max_uses=9)
    assert (more.expires_at, more.max_uses) == (NOW + 10 * HOUR, 9)
    unlimited = await store.update_invite(invite.id, clear_max_uses=True)
    assert unlimited.max_uses is None
    revoked = await store.update_invite(invite.id, revoked_at=NOW + 1)
    assert revoked.revoked_at == NOW + 1
    assert await store.update_invite(invite.id) == revoked
    assert await store.get_invite(invite.id) == revoked
    with pytest.raises(NotFoundError) as caught:
        await store.update_invite("nope", revoked_at=NOW)
    assert caught.value.code is ErrorCode.INVITE_NOT_FOUND


async def test_record_code_failure_retires_the_code(store: SqlStore, make) -> None:
    _, invite = await make.new_room(store)

    once = await store.record_code_failure(invite.id, max_failures=3)
    twice = await store.record_code_failure(invite.id, max_failures=3)
    assert (once.failures, once.nameplate) == (1, 1)
    assert (twice.failures, twice.nameplate) == (2, 1)
    retired = await store.record_code_failure(invite.id, max_failures=3)
    assert (retired.failures, retired.nameplate) == (3, None)
    assert await store.get_invite_by_nameplate(1) is None
    # The link still works.
    assert await store.get_invite_by_token_hash(invite.token_hash) == retired
    with pytest.raises(NotFoundError):
        await store.record_code_failure("nope", max_failures=3)


async def test_refund_code_failure_takes_one_back_never_below_zero(store: SqlStore, make) -> None:
    _, invite = await make.new_room(store)
    await store.record_code_failure(invite.id, max_failures=3)
    await store.record_code_failure(invite.id, max_failures=3)
    await store.refund_code_failure(invite.id)
    refunded = await store.get_invite(invite.id)
    assert refunded is not None
    assert (refunded.failures, refunded.nameplate) == (1, 1)
    await store.refund_code_failure(invite.id)
    await store.refund_code_failure(invite.id)
    floor = await store.get_invite(invite.id)
    assert floor is not None
    assert floor.failures == 0
    await store.refund_code_failure("nope")  # a deleted invite: nothing to take back


async def test_redeem(store: SqlStore, make) -> None:
    room, invite = await make.new_room(store)
    member = make.member(room.id, now=NOW + 60)

    joined = await store.redeem_invite(invite.id, member, now=NOW + 60, max_participants=10)

    assert joined == member
    assert await store.get_participant(member.id) == member
    assert [p.id for p in await store.list_participants(room.id)] == [room.owner_id, member.id]
    used = await store.get_invite(invite.id)
    assert used is not None
    assert used.uses == 1
    stored_room = await store.get_room(room.id)
    assert stored_room is not None
    assert stored_room.last_active_at == NOW + 60


async def _redeem_error(store: SqlStore, make, invite_id: str, room_id: str, now: float):
    with pytest.raises((GoneError, NotFoundError, LimitError)) as caught:
        await store.redeem_invite(invite_id, make.member(room_id), now=now, max_participants=10)
    return caught.value.code


async def test_redeem_revoked(store: SqlStore, make) -> None:
    room, invite = await make.new_room(store)
    await store.update_invite(invite.id, revoked_at=NOW)

    assert await _redeem_error(store, make, invite.id, room.id, NOW + 1) is ErrorCode.INVITE_REVOKED
    # Revoked wins over expired.
    assert (
        await _redeem_error(store, make, invite.id, room.id, NOW + 2 * HOUR)
        is ErrorCode.INVITE_REVOKED
    )


async def test_redeem_expired(store: SqlStore, make) -> None:
    room, invite = await make.new_room(store)

    code = await _redeem_error(store, make, invite.id, room.id, invite.expires_at)
    assert code is ErrorCode.INVITE_EXPIRED


async def test_redeem_exhausted(store: SqlStore, make) -> None:
    room, invite = await make.new_room(store, max_uses=1)
    await store.redeem_invite(invite.id, make.member(room.id), now=NOW, max_participants=10)

    code = await _redeem_error(store, make, invite.id, room.id, NOW)
    assert code is ErrorCode.INVITE_EXHAUSTED
    assert len(await store.list_participants(room.id)) == 2


async def test_redeem_unknown_invite(store: SqlStore, make) -> None:
    code = await _redeem_error(store, make, "nope", "no-room", NOW)
    assert code is ErrorCode.INVITE_NOT_FOUND


async def test_redeem_room_full_does_not_use_the_invite(store: SqlStore, make) -> None:
    room, invite = await make.new_room(store, max_uses=5)
    await store.redeem_invite(invite.id, make.member(room.id), now=NOW, max_participants=2)

    with pytest.raises(LimitError) as caught:
        await store.redeem_invite(invite.id, make.member(room.id), now=NOW, max_participants=2)

    assert caught.value.code is ErrorCode.ROOM_FULL
    after = await store.get_invite(invite.id)
    assert after is not None
    assert after.uses == 1
    assert len(await store.list_participants(room.id)) == 2


async def test_concurrent_redemptions_respect_max_uses(store: SqlStore, make) -> None:
    room, invite = await make.new_room(store, max_uses=3)

    results = await asyncio.gather(
        *(
            store.redeem_invite(invite.id, make.member(room.id), now=NOW, max_participants=100)
            for _ in range(10)
        ),
        return_exceptions=True,
    )

    joined = [r for r in results if isinstance(r, Participant)]
    refused = [r for r in results if isinstance(r, GoneError)]
    assert len(joined) == 3
    assert len(refused) == 7
    assert {e.code for e in refused} == {ErrorCode.INVITE_EXHAUSTED}
    after = await store.get_invite(invite.id)
    assert after is not None
    assert after.uses == 3
    assert len(await store.list_participants(room.id)) == 4


async def test_concurrent_redemptions_respect_max_participants(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    # Separate invites, so only the room's participant count stands in the way.
    invites = [await store.create_invite(make.invite(room)) for _ in range(8)]

    results = await asyncio.gather(
        *(
            store.redeem_invite(i.id, make.member(room.id), now=NOW, max_participants=4)
            for i in invites
        ),
        return_exceptions=True,
    )

    assert sum(isinstance(r, Participant) for r in results) == 3
    assert sum(isinstance(r, LimitError) for r in results) == 5
    assert len(await store.list_participants(room.id)) == 4
