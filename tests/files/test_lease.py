"""The write lease of a running PATCH, in process on both databases (short leases, so
the tests run in a second or two): renewed while the PATCH lives, so a PATCH longer
than the lease still keeps others out; and a writer that cannot renew stops writing
before its lease could have passed to another request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from files.test_store_files import NO_LIMITS, NOW, new_room, upload
from peerlane.errors import ConflictError, ErrorCode
from peerlane.files import upload_session
from peerlane.files import uploads as uploads_module
from peerlane.files.local import LocalFileStore
from peerlane.files.uploads import PatchRequest, Uploads
from peerlane.storage.sql import SqlStore

KIB = 1024
LEASE = 1.5  # short, yet with room for a busy test machine's stalls


@pytest.fixture(autouse=True)
def short_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each constant in the module that reads it (the lease: both; LOCK_WAIT: the lock).
    monkeypatch.setattr(upload_session, "LOCK_LEASE", LEASE)
    monkeypatch.setattr(upload_session, "LOCK_RENEW", LEASE / 5)
    monkeypatch.setattr(upload_session, "LOCK_MARGIN", LEASE / 5)
    monkeypatch.setattr(uploads_module, "LOCK_WAIT", 0.1)
    monkeypatch.setattr(upload_session, "WRITE_BUFFER", 16 * KIB)  # every piece is written


def clock() -> Callable[[], float]:
    """Seconds from NOW on (the rows of ``upload()`` are made at NOW)."""
    start = time.monotonic()
    return lambda: NOW + time.monotonic() - start


def request(length: int) -> PatchRequest:
    return PatchRequest("application/offset+octet-stream", "0", length, None)


async def trickle(pieces: int, every: float, sent: list[int]) -> AsyncIterator[bytes]:
    """``pieces`` of 16 KiB, one every ``every`` seconds (a slow sender)."""
    for _ in range(pieces):
        await asyncio.sleep(every)
        sent.append(16 * KIB)
        yield b"x" * (16 * KIB)


async def test_a_long_patch_keeps_its_lease(store: SqlStore, tmp_path: Path) -> None:
    uploads = Uploads(store, LocalFileStore(tmp_path), upload_ttl=3600, clock=clock())
    file = await uploads.create(upload(room=await new_room(store), length=40 * 16 * KIB), NO_LIMITS)
    sent: list[int] = []
    first = asyncio.create_task(
        uploads.patch(file.id, trickle(40, 0.1, sent), request(40 * 16 * KIB))
    )
    while sum(sent) < 32 * 16 * KIB:  # 3.2 s in: two leases' time and more
        await asyncio.sleep(0.05)
        assert not first.done(), first
    with pytest.raises(ConflictError) as info:
        await uploads.patch(file.id, trickle(1, 0, []), request(16 * KIB))
    assert info.value.code == ErrorCode.UPLOAD_LOCKED
    done = await first
    assert done.complete


async def test_a_writer_that_cannot_renew_stops_writing(
    store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def lost(*args: object, **kwargs: object) -> bool:
        return False  # as if another request had taken the upload over

    monkeypatch.setattr(store, "renew_upload_lock", lost)
    uploads = Uploads(store, LocalFileStore(tmp_path), upload_ttl=3600, clock=clock())
    file = await uploads.create(upload(room=await new_room(store), length=40 * 16 * KIB), NO_LIMITS)
    sent: list[int] = []
    with pytest.raises(ConflictError):
        await uploads.patch(file.id, trickle(40, 0.1, sent), request(40 * 16 * KIB))
    assert sum(sent) < 40 * 16 * KIB  # it stopped early
    written = (tmp_path / file.id[:2] / f"{file.id}.part").stat().st_size
    assert written <= 16 * KIB * (1 + LEASE / 0.1)  # nothing after the first renewal failed
