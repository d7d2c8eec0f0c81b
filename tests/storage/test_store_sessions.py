"""Server-side sessions: created, renewed, signed out, ended with their participant
(issue #9, finding 7), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from peerlane.core.records import SessionRecord, new_id
from peerlane.storage.sql import SqlStore

NOW = 1_000_000.0
HOUR = 3600.0
Make = Any  # the ``make`` fixture of tests/storage/conftest.py


def a_session(
    participant_id: str, room_id: str, *, expires_at: float = NOW + HOUR
) -> SessionRecord:
    return SessionRecord(
        id=new_id(16),
        participant_id=participant_id,
        room_id=room_id,
        created_at=NOW,
        expires_at=expires_at,
    )


async def test_a_session_is_stored_and_read_back(store: SqlStore, make: Make) -> None:
    room, _ = await make.new_room(store)
    session = a_session(room.owner_id, room.id)
    await store.create_session(session)
    assert await store.get_session(session.id) == session
    assert await store.get_session("no-such-session") is None


async def test_renewing_pushes_the_expiry_out_and_never_back(store: SqlStore, make: Make) -> None:
    room, _ = await make.new_room(store)
    session = a_session(room.owner_id, room.id)
    await store.create_session(session)
    assert await store.renew_session(session.id, expires_at=NOW + 2 * HOUR, now=NOW + 10)
    assert (await store.get_session(session.id)).expires_at == NOW + 2 * HOUR  # type: ignore[union-attr]
    # A renewal from an instance whose clock lags does not shorten the session.
    assert await store.renew_session(session.id, expires_at=NOW + HOUR, now=NOW + 10)
    assert (await store.get_session(session.id)).expires_at == NOW + 2 * HOUR  # type: ignore[union-attr]


async def test_an_expired_or_signed_out_session_is_not_renewed(store: SqlStore, make: Make) -> None:
    room, _ = await make.new_room(store)
    expired = a_session(room.owner_id, room.id, expires_at=NOW)
    await store.create_session(expired)
    assert not await store.renew_session(expired.id, expires_at=NOW + HOUR, now=NOW + 1)
    assert (await store.get_session(expired.id)).expires_at == NOW  # type: ignore[union-attr]

    signed_out = a_session(room.owner_id, room.id)
    await store.create_session(signed_out)
    assert await store.revoke_session(signed_out.id, now=NOW + 5)
    assert not await store.revoke_session(signed_out.id, now=NOW + 6)  # once only
    stored = await store.get_session(signed_out.id)
    assert stored is not None
    assert stored.revoked_at == NOW + 5
    assert not stored.live(NOW + 6)
    assert not await store.renew_session(signed_out.id, expires_at=NOW + 2 * HOUR, now=NOW + 7)


async def test_removing_a_participant_ends_all_their_sessions(store: SqlStore, make: Make) -> None:
    room, invite = await make.new_room(store)
    member = await store.redeem_invite(
        invite.id, make.member(room.id), now=NOW, max_participants=10
    )
    phone, laptop = a_session(member.id, room.id), a_session(member.id, room.id)
    owner_session = a_session(room.owner_id, room.id)
    for session in (phone, laptop, owner_session):
        await store.create_session(session)

    other_room, _ = await make.new_room(store)
    assert await store.remove_participant(other_room.id, member.id) is None  # not in it
    # ... and the owner of another room ended none of the member's sessions here.
    assert await store.get_session(phone.id) == phone
    assert await store.get_session(laptop.id) == laptop
    assert await store.live_sessions(member.id, now=NOW) == 2
    await store.revoke_session(phone.id, now=NOW)
    assert await store.live_sessions(member.id, now=NOW) == 1  # the laptop: not gone yet
    assert await store.live_sessions(member.id, now=laptop.expires_at) == 0
    assert (await store.get_room(room.id)).left_epoch is None  # type: ignore[union-attr]
    removed = await store.remove_participant(room.id, member.id)
    assert removed is not None
    # The key it held is due to rotate: the room's epoch (0) is marked.
    assert (await store.get_room(room.id)).left_epoch == 0  # type: ignore[union-attr]
    assert removed.id == member.id
    assert await store.get_participant(member.id) is None
    assert await store.get_session(phone.id) is None
    assert await store.get_session(laptop.id) is None
    assert await store.get_session(owner_session.id) == owner_session
    assert await store.remove_participant(room.id, member.id) is None


async def test_cleanup_deletes_sessions_ended_long_ago(store: SqlStore, make: Make) -> None:
    room, _ = await make.new_room(store, retention=None)
    old = a_session(room.owner_id, room.id, expires_at=NOW)
    live = a_session(room.owner_id, room.id, expires_at=NOW + 3 * HOUR)
    signed_out = a_session(room.owner_id, room.id, expires_at=NOW + 3 * HOUR)
    for session in (old, live, signed_out):
        await store.create_session(session)
    await store.revoke_session(signed_out.id, now=NOW)
    await store.cleanup(now=NOW + 2 * HOUR, invite_grace=HOUR)
    assert await store.get_session(old.id) is None
    assert await store.get_session(signed_out.id) is None
    assert await store.get_session(live.id) == live
