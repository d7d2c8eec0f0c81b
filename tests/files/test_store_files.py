"""The file tables through SqlStore, on SQLite and on PostgreSQL: shares, uploads,
quotas, the write lease, block hashes, download counting and cleanup."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from peerlane.core.codes import random_words
from peerlane.core.records import Invite, Participant, Retention, Room, new_id
from peerlane.errors import (
    ConflictError,
    ErrorCode,
    GoneError,
    LimitError,
    NotFoundError,
    StorageError,
)
from peerlane.files.records import Quotas, Share, StoredFile
from peerlane.storage.sql import SqlStore

NOW = 1_000_000.0
NO_LIMITS = Quotas()


async def new_room(store: SqlStore) -> Room:
    room = Room(new_id(), "r", new_id(), NOW, NOW, 0, Retention())
    owner = Participant(room.owner_id, room.id, "o", "owner", NOW)
    invite = Invite(
        new_id(), room.id, new_id(24), None, random_words(), owner.id, NOW, NOW + 60, None
    )
    await store.create_room(room, owner, invite)
    return room


async def new_share(store: SqlStore, *, expires_at: float = NOW + 3600, size: int = 10**9) -> Share:
    share = Share(new_id(), new_id(), new_id(), NOW, expires_at, 2, size)
    await store.create_share(share)
    return share


def upload(
    *, room: Room | None = None, share: Share | None = None, length: int = 100
) -> StoredFile:
    return StoredFile(
        id=new_id(16), room_id=room.id if room else None, share_id=share.id if share else None,
        sender_id=room.owner_id if room else None, recipient_id=None, name="f", content_type="x/y",
        length=length, offset=0, status="uploading", upload_metadata="", created_at=NOW,
        expires_at=NOW + 60,
    )  # fmt: skip


async def test_share_round_trip(store: SqlStore) -> None:
    share = await new_share(store)
    assert await store.get_share(share.id) == share
    assert await store.get_share_by_token_hash(share.token_hash) == share
    assert await store.get_share_by_token_hash("nope") is None
    file = await store.create_upload(upload(share=share), quotas=NO_LIMITS, now=NOW)
    assert await store.delete_share(share.id) == [file.id]
    assert await store.get_file(file.id) is None
    assert await store.delete_share(share.id) is None


async def test_upload_needs_a_live_owner(store: SqlStore) -> None:
    with pytest.raises(NotFoundError) as info:
        await store.create_upload(
            upload(room=replace(await new_room(store), id="gone")), quotas=NO_LIMITS, now=NOW
        )
    assert info.value.code == ErrorCode.ROOM_NOT_FOUND
    expired = await new_share(store, expires_at=NOW - 1)
    with pytest.raises(GoneError):
        await store.create_upload(upload(share=expired), quotas=NO_LIMITS, now=NOW)


async def test_quotas_count_unfinished_uploads(store: SqlStore) -> None:
    room = await new_room(store)
    quotas = Quotas(room_bytes=250, storage_bytes=400)
    await store.create_upload(upload(room=room, length=200), quotas=quotas, now=NOW)
    with pytest.raises(LimitError) as info:
        await store.create_upload(upload(room=room, length=51), quotas=quotas, now=NOW)
    assert info.value.code == ErrorCode.ROOM_QUOTA_EXCEEDED
    await store.create_upload(upload(room=room, length=50), quotas=quotas, now=NOW)
    share = await new_share(store, size=100)
    with pytest.raises(LimitError) as info:
        await store.create_upload(upload(share=share, length=101), quotas=quotas, now=NOW)
    assert info.value.code == ErrorCode.SHARE_QUOTA_EXCEEDED
    await store.create_upload(upload(share=share, length=100), quotas=quotas, now=NOW)
    other = await new_room(store)
    with pytest.raises(LimitError) as info:
        await store.create_upload(upload(room=other, length=51), quotas=quotas, now=NOW)
    assert info.value.code == ErrorCode.STORAGE_QUOTA_EXCEEDED


async def test_concurrent_creations_respect_the_quota(store: SqlStore) -> None:
    room = await new_room(store)
    quotas = Quotas(room_bytes=1000)
    results = await asyncio.gather(
        *(
            store.create_upload(upload(room=room, length=100), quotas=quotas, now=NOW)
            for _ in range(15)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, StoredFile) for r in results) == 10
    assert all(isinstance(r, StoredFile | LimitError) for r in results)


async def test_the_write_lease(store: SqlStore) -> None:
    file = await store.create_upload(upload(room=await new_room(store)), quotas=NO_LIMITS, now=NOW)
    await store.lock_upload(file.id, "a", now=NOW, lease=10)
    with pytest.raises(ConflictError) as info:
        await store.lock_upload(file.id, "b", now=NOW + 5, lease=10)
    assert info.value.code == ErrorCode.UPLOAD_LOCKED
    saved = await store.save_progress(
        file.id,
        "a",
        offset=40,
        first_block=0,
        hashes=b"",
        expires_at=NOW + 99,
        now=NOW + 5,
        lease=10,
    )
    assert (saved.offset, saved.expires_at) == (40, NOW + 99)
    with pytest.raises(ConflictError):  # renewed until NOW + 15
        await store.lock_upload(file.id, "b", now=NOW + 12, lease=10)
    await store.lock_upload(file.id, "b", now=NOW + 16, lease=10)  # a's lease ran out
    with pytest.raises(ConflictError):
        await store.save_progress(
            file.id, "a", offset=50, first_block=0, hashes=b"", expires_at=NOW, now=NOW, lease=1
        )
    await store.unlock_upload(file.id, "b")
    await store.lock_upload(file.id, "c", now=NOW + 17, lease=10)
    with pytest.raises(NotFoundError):
        await store.lock_upload("missing", "c", now=NOW, lease=10)


async def test_block_hashes_are_saved_in_order(store: SqlStore) -> None:
    file = await store.create_upload(upload(room=await new_room(store)), quotas=NO_LIMITS, now=NOW)
    await store.lock_upload(file.id, "w", now=NOW, lease=10)
    a, b, c = b"a" * 32, b"b" * 32, b"c" * 32
    kw = {"expires_at": NOW + 60, "now": NOW, "lease": 10.0}
    await store.save_progress(file.id, "w", offset=10, first_block=0, hashes=a + b, **kw)  # type: ignore[arg-type]
    await store.save_progress(file.id, "w", offset=20, first_block=2, hashes=b"", **kw)  # type: ignore[arg-type]
    await store.save_progress(file.id, "w", offset=30, first_block=2, hashes=c, **kw)  # type: ignore[arg-type]
    assert await store.load_blocks(file.id) == a + b + c
    done = await store.finish_upload(
        file.id, "w", status="complete", root="r" * 64, now=NOW + 1, expires_at=None
    )
    assert (done.status, done.offset, done.root, done.completed_at) == (
        "complete",
        100,
        "r" * 64,
        NOW + 1,
    )
    assert await store.load_blocks(file.id) == b""


async def test_listing_and_counting(store: SqlStore) -> None:
    share = await new_share(store)
    done = await store.create_upload(upload(share=share), quotas=NO_LIMITS, now=NOW)
    await store.create_upload(upload(share=share), quotas=NO_LIMITS, now=NOW)  # unfinished
    await store.lock_upload(done.id, "w", now=NOW, lease=10)
    await store.finish_upload(done.id, "w", status="complete", root=None, now=NOW, expires_at=None)
    assert [f.id for f in await store.list_files(share_id=share.id)] == [done.id]
    assert await store.count_download(done.id, max_downloads=2)
    assert await store.count_download(done.id, max_downloads=2)
    assert not await store.count_download(done.id, max_downloads=2)
    assert (await store.get_file(done.id)).downloads == 2  # type: ignore[union-attr]


async def test_cleanup(store: SqlStore) -> None:
    room = await new_room(store)
    stale = await store.create_upload(upload(room=room), quotas=NO_LIMITS, now=NOW)
    busy = await store.create_upload(upload(room=room), quotas=NO_LIMITS, now=NOW)
    await store.lock_upload(busy.id, "w", now=NOW + 100, lease=30)
    fresh = await store.create_upload(
        replace(upload(room=room), expires_at=NOW + 1000), quotas=NO_LIMITS, now=NOW
    )
    old_share = await new_share(store, expires_at=NOW + 50)
    shared = await store.create_upload(
        replace(upload(share=old_share), expires_at=NOW + 1000), quotas=NO_LIMITS, now=NOW
    )
    report = await store.cleanup_files(now=NOW + 100)
    assert set(report.blob_ids) == {stale.id, shared.id}
    assert (report.uploads_expired, report.shares_expired) == (1, 1)
    assert await store.existing_file_ids([stale.id, busy.id, fresh.id, shared.id]) == {
        busy.id,
        fresh.id,
    }


async def test_deleting_a_room_drops_its_file_rows(store: SqlStore) -> None:
    room = await new_room(store)
    file = await store.create_upload(upload(room=room), quotas=NO_LIMITS, now=NOW)
    await store.lock_upload(file.id, "w", now=NOW, lease=10)
    await store.save_progress(
        file.id, "w", offset=5, first_block=0, hashes=b"h" * 32, expires_at=NOW, now=NOW, lease=10
    )
    assert await store.delete_room(room.id)
    assert await store.get_file(file.id) is None
    assert await store.load_blocks(file.id) == b""
    assert await store.delete_file(file.id) is None


async def test_lease_renewal_and_release(store: SqlStore) -> None:
    room = await new_room(store)
    file = await store.create_upload(upload(room=room), quotas=NO_LIMITS, now=NOW)
    other = await store.create_upload(upload(room=room), quotas=NO_LIMITS, now=NOW)
    await store.lock_upload(file.id, "p1.a", now=NOW, lease=6)
    await store.lock_upload(other.id, "p2.b", now=NOW, lease=6)
    assert await store.renew_upload_lock(file.id, "p1.a", now=NOW + 5, lease=6)
    assert not await store.renew_upload_lock(file.id, "p2.b", now=NOW + 5, lease=6)
    with pytest.raises(ConflictError):  # renewed until NOW + 11
        await store.lock_upload(file.id, "c", now=NOW + 10, lease=6)
    assert sorted(await store.upload_lock_holders()) == ["p1.a", "p2.b"]
    assert await store.upload_lock_holders(file.id) == ["p1.a"]
    assert await store.release_upload_locks(["p1.a"]) == 1
    assert await store.upload_lock_holders() == ["p2.b"]
    assert not await store.renew_upload_lock(file.id, "p1.a", now=NOW + 10, lease=6)
    await store.lock_upload(file.id, "c", now=NOW + 10, lease=6)


async def test_reservations_lapse_without_progress(store: SqlStore) -> None:
    room = await new_room(store)
    quotas = Quotas(room_bytes=1000, reservation_ttl=300)
    stalled = await store.create_upload(upload(room=room, length=800), quotas=quotas, now=NOW)
    with pytest.raises(LimitError):  # reserved in full while it may still progress
        await store.create_upload(upload(room=room, length=300), quotas=quotas, now=NOW + 299)
    # No byte for 300 s: only what it stored (nothing) counts.
    await store.create_upload(upload(room=room, length=300), quotas=quotas, now=NOW + 301)
    # Its next PATCH must reserve again, and 800 no longer fit: the lease is not taken.
    with pytest.raises(LimitError) as info:
        await store.lock_upload(stalled.id, "w", now=NOW + 302, lease=6, quotas=quotas)
    assert info.value.code == ErrorCode.ROOM_QUOTA_EXCEEDED
    await store.lock_upload(stalled.id, "x", now=NOW + 302, lease=6)  # it was not held

    # Progress and a running PATCH keep a reservation; stored bytes always count.
    other = await new_room(store)
    moving = await store.create_upload(upload(room=other, length=800), quotas=quotas, now=NOW)
    await store.lock_upload(moving.id, "w", now=NOW + 200, lease=6)
    await store.save_progress(
        moving.id, "w", offset=100, first_block=0, hashes=b"", expires_at=NOW + 9999,
        now=NOW + 250, lease=400,
    )  # fmt: skip
    with pytest.raises(LimitError):  # progressed at +250, and still locked
        await store.create_upload(upload(room=other, length=300), quotas=quotas, now=NOW + 600)
    await store.unlock_upload(moving.id, "w")
    with pytest.raises(LimitError):  # progressed at +250: held until +550
        await store.create_upload(upload(room=other, length=300), quotas=quotas, now=NOW + 549)
    with pytest.raises(LimitError):  # lapsed: its 100 stored bytes count, 100 + 901 > 1000
        await store.create_upload(upload(room=other, length=901), quotas=quotas, now=NOW + 551)
    await store.create_upload(upload(room=other, length=900), quotas=quotas, now=NOW + 551)


async def test_metadata_and_a_per_file_overhead_count(store: SqlStore) -> None:
    room = await new_room(store)
    quotas = Quotas(room_bytes=1000, file_overhead=100)
    empty = replace(upload(room=room, length=0), upload_metadata="m" * 50)
    for _ in range(6):  # 150 each
        await store.create_upload(replace(empty, id=new_id(16)), quotas=quotas, now=NOW)
    with pytest.raises(LimitError) as info:
        await store.create_upload(replace(empty, id=new_id(16)), quotas=quotas, now=NOW)
    assert info.value.code == ErrorCode.ROOM_QUOTA_EXCEEDED


async def test_a_share_holds_the_bytes_its_creator_declared(store: SqlStore) -> None:
    # The browser declares a share's size as the sum of its files' lengths: metadata and
    # the per-file overhead must not push files of exactly that size over it.
    quotas = Quotas(file_overhead=100, storage_bytes=10_000)
    share = await new_share(store, size=300)
    named = replace(upload(share=share, length=150), upload_metadata="m" * 50)
    await store.create_upload(named, quotas=quotas, now=NOW)
    await store.create_upload(replace(named, id=new_id(16)), quotas=quotas, now=NOW)
    with pytest.raises(LimitError) as info:
        await store.create_upload(upload(share=share, length=1), quotas=quotas, now=NOW)
    assert info.value.code == ErrorCode.SHARE_QUOTA_EXCEEDED
    # ... while the storage quota still counts them: 2 x (150 + 50 + 100) of 10,000.
    big = await new_share(store, size=10**9)
    with pytest.raises(LimitError) as info:
        await store.create_upload(upload(share=big, length=9_301), quotas=quotas, now=NOW)
    assert info.value.code == ErrorCode.STORAGE_QUOTA_EXCEEDED


async def test_the_disk_reserve_counts_what_uploads_have_yet_to_write(store: SqlStore) -> None:
    room = await new_room(store)
    disk = Quotas(disk_free=1000, reserve=200, reservation_ttl=300)
    first = await store.create_upload(upload(room=room, length=500), quotas=disk, now=NOW)
    with pytest.raises(StorageError) as info:  # 500 + 301 to come, 800 above the reserve
        await store.create_upload(upload(room=room, length=301), quotas=disk, now=NOW)
    assert info.value.code == ErrorCode.INSUFFICIENT_STORAGE
    await store.lock_upload(first.id, "w", now=NOW, lease=6)
    await store.save_progress(
        first.id, "w", offset=300, first_block=0, hashes=b"", expires_at=NOW + 99, now=NOW,
        lease=6,
    )  # fmt: skip
    # 300 of it are on the disk now (700 free): 200 still to come.
    later = replace(disk, disk_free=700)
    with pytest.raises(StorageError):
        await store.create_upload(upload(room=room, length=301), quotas=later, now=NOW + 1)
    await store.create_upload(upload(room=room, length=300), quotas=later, now=NOW + 1)
