"""cleanup(): retention by age and count, idle rooms, nameplate release."""

from __future__ import annotations

from peerlane.core.records import CleanupReport, Retention
from peerlane.storage.sql import SqlStore

NOW = 1_000_000.0
HOUR = 3600.0
DAY = 24 * HOUR


async def _fill(store: SqlStore, room_id: str, timestamps: list[float], tag: str = "m") -> None:
    for i, ts in enumerate(timestamps):
        await store.append_message(
            room_id=room_id, client_id=f"{tag}{i}", sender_id="alice", sender_name="Alice",
            kind="text", ref=None, body="{}", now=ts,
        )  # fmt: skip


async def _seqs(store: SqlStore, room_id: str) -> list[int]:
    return [m.seq for m in await store.messages_after(room_id, 0, 1000)]


async def test_nothing_to_do(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store)
    await _fill(store, room.id, [NOW] * 3)

    assert await store.cleanup(now=NOW + DAY, invite_grace=DAY) == CleanupReport()
    assert await _seqs(store, room.id) == [1, 2, 3]


async def test_max_age(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store, retention=Retention(max_age=HOUR))
    unlimited, _ = await make.new_room(store)
    stamps = [NOW, NOW + 10, NOW + HOUR, NOW + 2 * HOUR]
    await _fill(store, room.id, stamps)
    await _fill(store, unlimited.id, stamps)

    report = await store.cleanup(now=NOW + 2 * HOUR - 5, invite_grace=DAY)

    # Older than an hour at cleanup time: the first two.
    assert report.messages_deleted == 2
    assert await _seqs(store, room.id) == [3, 4]
    assert await _seqs(store, unlimited.id) == [1, 2, 3, 4]


async def test_max_messages(store: SqlStore, make) -> None:
    room, _ = await make.new_room(store, retention=Retention(max_messages=3))
    small, _ = await make.new_room(store, retention=Retention(max_messages=3))
    await _fill(store, room.id, [NOW] * 7)
    await _fill(store, small.id, [NOW] * 2)

    report = await store.cleanup(now=NOW, invite_grace=DAY)

    assert report.messages_deleted == 4
    assert await _seqs(store, room.id) == [5, 6, 7]
    assert await _seqs(store, small.id) == [1, 2]
    # Numbering continues after the cut.
    await _fill(store, room.id, [NOW], tag="later")
    assert await _seqs(store, room.id) == [5, 6, 7, 8]


async def test_idle_rooms_are_deleted(store: SqlStore, make) -> None:
    idle, idle_invite = await make.new_room(store, retention=Retention(idle_expiry=DAY))
    active, _ = await make.new_room(store, retention=Retention(idle_expiry=DAY))
    forever, _ = await make.new_room(store)
    connected, _ = await make.new_room(store, retention=Retention(idle_expiry=DAY))
    await _fill(store, idle.id, [NOW])
    await _fill(store, active.id, [NOW + DAY])  # activity keeps it alive
    await store.touch_rooms({connected.id, "no-such-room"}, now=NOW + DAY)  # so does presence

    report = await store.cleanup(now=NOW + DAY + 1, invite_grace=DAY)

    assert report.deleted_rooms == (idle.id,)
    assert report.rooms_deleted == 1
    assert await store.get_room(connected.id) is not None
    assert await store.get_room(idle.id) is None
    assert await store.get_invite(idle_invite.id) is None
    assert await store.get_participant(idle.owner_id) is None
    assert await store.messages_after(idle.id, 0, 10) == []
    assert await store.get_room(active.id) is not None
    assert await store.get_room(forever.id) is not None


async def test_dead_invites_release_their_nameplates(store: SqlStore, make) -> None:
    room, first = await make.new_room(store)  # expires at NOW + HOUR
    revoked = await store.create_invite(make.invite(room, ttl=DAY))
    await store.update_invite(revoked.id, revoked_at=NOW + 2 * HOUR)
    used_up = await store.create_invite(make.invite(room, ttl=DAY, max_uses=1))
    await store.redeem_invite(used_up.id, make.member(room.id), now=NOW, max_participants=10)
    live = await store.create_invite(make.invite(room, ttl=10 * DAY))

    async def nameplates() -> list[int | None]:
        by_id = {i.id: i.nameplate for i in await store.list_invites(room.id)}
        return [by_id[i.id] for i in (first, revoked, used_up, live)]

    # Grace not over for the expired and revoked ones: only the used-up one goes.
    report = await store.cleanup(now=NOW + HOUR + 30, invite_grace=HOUR)
    assert report.invites_released == 1
    assert await nameplates() == [1, 2, None, 4]

    # Expired an hour + 1 s ago, revoked 1 s ago: the expired one goes.
    report = await store.cleanup(now=NOW + 2 * HOUR + 1, invite_grace=HOUR)
    assert report.invites_released == 1
    assert await nameplates() == [None, 2, None, 4]

    report = await store.cleanup(now=NOW + 3 * HOUR + 1, invite_grace=HOUR)
    assert report.invites_released == 1
    assert await nameplates() == [None, None, None, 4]
    # Released invites are kept: the link can still say why it no longer works.
    assert await store.get_invite_by_token_hash(first.token_hash) is not None
