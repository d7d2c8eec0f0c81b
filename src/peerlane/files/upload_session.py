"""One tus PATCH in progress (:class:`Session`, run by :class:`.uploads.Uploads`): the
body is read chunk by chunk and written in buffers of :data:`WRITE_BUFFER` bytes, which a
worker thread writes and hashes while the next ones fill (:mod:`.pipeline`). Every
:data:`SAVE_EVERY` seconds the bytes written so far are synced to disk and only then
recorded as the upload's offset, together with the integrity hashes of the blocks they
completed; the write lease is renewed every :data:`LOCK_RENEW` seconds meanwhile.

What a PATCH that does not end normally leaves behind:

* the client goes away, or sends nothing for ``idle_timeout`` seconds: everything
  received is kept (synced and recorded), as tus asks;
* the disk fills up (``ENOSPC``): what reached the disk is kept, the request gets 507
  ``storage_full``, and the upload can resume once space is freed;
* the free space would drop below the reserve (measured every :data:`SPACE_CHECK`
  bytes): the same, with 507 ``insufficient_storage``, before the reserve is touched;
* with ``Upload-Checksum``, any of the above or a mismatch discards the whole chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import structlog

from peerlane.core import integrity, tus
from peerlane.errors import (
    ConflictError,
    ErrorCode,
    LimitError,
    NotFoundError,
    PeerlaneError,
    ProtocolError,
    StorageError,
)
from peerlane.files.pipeline import WritePipeline
from peerlane.files.records import StoredFile
from peerlane.files.store import BlobWriter

if TYPE_CHECKING:
    from peerlane.files.uploads import Uploads

# Read when used (as module attributes), here and in uploads.py: tests/files/test_lease.py
# shortens them.
WRITE_BUFFER = 1024 * 1024
SAVE_EVERY = 2.0  # seconds between durable checkpoints of a running PATCH
LOCK_LEASE = 6.0  # a crashed writer blocks its upload at most this long
LOCK_RENEW = 1.5  # seconds between renewals of the lease while a PATCH lives
LOCK_MARGIN = 1.0  # a writer stops writing this long before its lease would run out
SPACE_CHECK = 16 * 1024 * 1024  # bytes written between two looks at the free space
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
log = structlog.get_logger(__name__)


class Interrupted(ProtocolError):
    """The request body stopped before its end (client gone or idle too long)."""

    default_code = ErrorCode.BAD_REQUEST


class ReserveReached(StorageError):
    """Writing on would take the disk's free space below the reserve."""

    default_code = ErrorCode.INSUFFICIENT_STORAGE


def storage_error(exc: OSError) -> PeerlaneError | OSError:
    """The error to raise for a failed write: 507 for a full disk, else the OSError."""
    if exc.errno in _DISK_FULL:
        return StorageError(ErrorCode.STORAGE_FULL)
    return exc


@dataclass
class Writing:
    """An open blob and the integrity hasher that has seen exactly its bytes."""

    writer: BlobWriter
    hasher: integrity.TreeHasher

    def close(self) -> None:
        self.writer.close()


class Session:
    """One PATCH in progress (the lock is held for its whole life)."""

    def __init__(
        self,
        uploads: Uploads,
        file: StoredFile,
        owner: str,
        writing: Writing,
        checksum: tus.Checksum | None,
        share_expires_at: float | None,
    ) -> None:
        self.uploads = uploads
        self.index = uploads.index
        self.file = file
        self.owner = owner
        self.writer = writing.writer
        self.hasher = writing.hasher
        self.checksum = checksum
        self.digest = checksum.new() if checksum is not None else None
        self.share_expires_at = share_expires_at
        self.start = file.offset
        self.saved_offset = file.offset
        self.saved_blocks = self.hasher.block_count
        self.checkpoint: asyncio.Future[None] | None = None  # a save running alongside
        self.lease_until = 0.0  # loop time; no byte is written after it
        self.lease_lost = False
        self.handed = file.offset  # bytes handed to the writer (position once written)
        self.space_ok_until = file.offset  # writing up to here keeps the reserve free

    async def run(self, body: AsyncIterator[bytes]) -> StoredFile:
        keeper = asyncio.create_task(self._keep_lease(), name="upload-lease")
        try:
            return await self._run(body)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _keep_lease(self) -> None:
        """Renew the lease every LOCK_RENEW seconds while the request lives, so that a
        writer that dies (kill -9, power cut) blocks its upload only for LOCK_LEASE."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(LOCK_RENEW)
            started = loop.time()
            try:
                held = await self.index.renew_upload_lock(
                    self.file.id, self.owner, now=self.uploads.clock(), lease=LOCK_LEASE
                )
            except Exception:  # a database hiccup: the next try may work; meanwhile
                log.warning("uploads.lease_renewal_failed", exc_info=True)  # the local
                continue  # deadline stops the writes
            if not held:
                self.lease_lost = True
                return
            self.lease_until = max(self.lease_until, started + LOCK_LEASE)

    async def _write(self, pipeline: WritePipeline, parts: list[bytes], now: float) -> None:
        """Hand ``parts`` to the writer after checking the lease and, every SPACE_CHECK
        bytes, the free space: what fits above the reserve is written, then
        :class:`ReserveReached` is raised."""
        self._check_lease(now)
        size = sum(len(part) for part in parts)
        end = self.handed + size
        if end > self.space_ok_until:
            free = await self.uploads.files.free_bytes()
            room = None if free is None else max(0, free - self.uploads.reserve)
            if room is not None and room < size:
                fitting = first_bytes(parts, room)
                self.handed += room
                await pipeline.put(fitting)
                raise ReserveReached(
                    message="The server is keeping its last free disk space for itself; "
                    "what arrived was kept and the upload can be resumed later."
                )
            ahead = SPACE_CHECK if room is None else min(room, SPACE_CHECK)
            self.space_ok_until = max(self.handed + ahead, end)
        self.handed = end
        await pipeline.put(parts)

    def _lease_ok(self, now: float) -> bool:
        return not self.lease_lost and now <= self.lease_until - LOCK_MARGIN

    def _check_lease(self, now: float) -> None:
        """Stop before writing without a lease: another request may own the upload."""
        if not self._lease_ok(now):
            raise ConflictError(
                ErrorCode.UPLOAD_LOCKED, "Another request took over this upload; try again."
            )

    async def _run(self, body: AsyncIterator[bytes]) -> StoredFile:
        try:
            try:
                too_long = await self._receive(body)
            finally:
                await self._settle()
        except (Interrupted, TimeoutError):
            await self._keep()
            raise Interrupted() from None
        except ReserveReached:
            await self._keep()  # what reached the disk stays; resume once there is room
            raise
        except (OSError, NotFoundError) as exc:
            await self._fail(exc)
        except BaseException:
            await self._release()
            raise
        return await self._end(too_long)

    async def _fail(self, exc: OSError | NotFoundError) -> NoReturn:
        """After a failed write or save: what reached the disk is kept for a resume (a full
        disk says so), an upload deleted meanwhile is cleaned up; then the error goes on."""
        if isinstance(exc, NotFoundError):
            await self._gone()
            raise exc
        await self._keep()
        raise storage_error(exc) from exc

    async def _receive(self, body: AsyncIterator[bytes]) -> bool:
        """Write the body; True if it went past the upload's length (the excess is
        dropped). A failed write raises its OSError. If the body stops early, what
        arrived is written before :class:`Interrupted` (or TimeoutError) goes on."""
        loop = asyncio.get_running_loop()
        room = self.file.length - self.file.offset
        parts: list[bytes] = []  # received, not yet handed over: no copying into a buffer
        filled = 0
        last_save = loop.time()
        too_long = False
        async with WritePipeline(self.writer, self.hasher, self.digest) as pipeline:
            try:
                async with asyncio.timeout(loop.time() + self.uploads.idle_timeout) as idle:
                    async for chunk in body:
                        idle.reschedule(loop.time() + self.uploads.idle_timeout)
                        if len(chunk) > room:
                            chunk, too_long = chunk[:room], True
                        room -= len(chunk)
                        parts.append(chunk)
                        filled += len(chunk)
                        if filled >= WRITE_BUFFER or too_long:
                            await self._write(pipeline, parts, loop.time())
                            parts, filled = [], 0
                        if too_long:
                            break
                        if loop.time() - last_save >= SAVE_EVERY:
                            # A slow sender's bytes are saved too, and the lease renewed.
                            await self._write(pipeline, parts, loop.time())
                            parts, filled = [], 0
                            await pipeline.drain()
                            await self._checkpoint()
                            last_save = loop.time()
                            idle.reschedule(loop.time() + self.uploads.idle_timeout)
            except (Interrupted, TimeoutError):
                if self.checksum is None and self._lease_ok(loop.time()):
                    with contextlib.suppress(ReserveReached):  # what fits is written
                        await self._write(pipeline, parts, loop.time())  # tus: keep it
                await pipeline.drain()
                raise
            await self._write(pipeline, parts, loop.time())
            await pipeline.drain()
        return too_long

    async def _checkpoint(self) -> None:
        """Save progress at the current position. The disk sync runs alongside further
        writes (it covers what was written before it began), so receiving never stalls
        on the disk; a checksummed chunk only renews the lease."""
        if self.checksum is not None:
            await self._save()
            return
        if self.checkpoint is not None:
            if not self.checkpoint.done():
                return  # the previous one is still syncing: skip this round
            await self.checkpoint  # raises its error, if any
        self.checkpoint = asyncio.ensure_future(self._save(synced_at=self.writer.position))

    async def _settle(self) -> None:
        """Wait for a checkpoint still running (its error, if any, is left to the next
        save, which syncs again)."""
        if self.checkpoint is not None:
            with contextlib.suppress(Exception):
                await self.checkpoint
            self.checkpoint = None

    async def _save(self, *, verified: bool = False, synced_at: int | None = None) -> None:
        """Sync and record progress up to ``synced_at`` (default: all written so far);
        while a checksummed chunk is not ``verified`` yet, only renew the lease."""
        if self.checksum is not None and not verified:
            offset = self.saved_offset
        else:
            offset = self.writer.position if synced_at is None else synced_at
            await asyncio.to_thread(self.writer.sync)
        whole = offset // integrity.BLOCK_SIZE - self.saved_blocks  # blocks done by offset
        new = self.hasher.blocks_since(self.saved_blocks)[: max(0, whole)]
        started = asyncio.get_running_loop().time()
        self.file = await self.index.save_progress(
            self.file.id,
            self.owner,
            offset=offset,
            first_block=self.saved_blocks,
            hashes=b"".join(new),
            expires_at=self.uploads.expiry(self.share_expires_at),
            now=self.uploads.clock(),
            lease=LOCK_LEASE,
        )
        self.lease_until = max(self.lease_until, started + LOCK_LEASE)
        self.saved_offset = offset
        self.saved_blocks += len(new)

    async def _end(self, too_long: bool) -> StoredFile:
        bad = (
            self.checksum is not None
            and self.digest is not None
            and (too_long or not self.checksum.matches(self.digest.digest()))
        )
        if bad:
            await self._discard()
            if too_long:
                raise LimitError(ErrorCode.UPLOAD_LENGTH_EXCEEDED)
            raise ProtocolError(ErrorCode.CHECKSUM_MISMATCH)
        try:
            if self.writer.position == self.file.length:
                return await self._complete()
            await self._save(verified=True)
        except (OSError, NotFoundError) as exc:
            await self._fail(exc)
        await self._release()
        if too_long:
            raise LimitError(ErrorCode.UPLOAD_LENGTH_EXCEEDED)
        return self.file

    async def _complete(self) -> StoredFile:
        await asyncio.to_thread(self.writer.sync)
        root = self.hasher.root()
        expected = self.file.expected_root
        files, now = self.uploads.files, self.uploads.clock()
        if expected is not None and root != expected:
            await self.index.finish_upload(
                self.file.id, self.owner, status="failed", root=root, now=now,
                expires_at=self.uploads.expiry(),
            )  # fmt: skip
            await files.delete(self.file.id)
            raise ProtocolError(ErrorCode.HASH_MISMATCH)
        await files.complete(self.file.id)
        return await self.index.finish_upload(
            self.file.id, self.owner, status="complete", root=root, now=now, expires_at=None
        )

    async def _keep(self) -> None:
        """Keep what reached the disk after an interrupted or failed write; with a
        checksum, or when even the sync fails, fall back to the last checkpoint."""
        if self.checksum is not None:
            await self._discard()
            return
        try:
            await self._save(verified=True)
        except OSError:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(self.writer.truncate, self.saved_offset)
        except PeerlaneError:
            pass  # the row is gone or the lease lost: nothing left to keep
        await self._release()

    async def _discard(self) -> None:
        """Drop the bytes of this PATCH (checksum extension: all or nothing)."""
        with contextlib.suppress(OSError):
            await asyncio.to_thread(self.writer.truncate, self.start)
        await self._release()

    async def _gone(self) -> None:
        """The upload was deleted while we wrote (termination, room deleted)."""
        with contextlib.suppress(OSError):
            await self.uploads.files.delete(self.file.id)

    async def _release(self) -> None:
        await self.uploads.unlock(self.file.id, self.owner)


def first_bytes(parts: list[bytes], count: int) -> list[bytes]:
    """The first ``count`` bytes of ``parts`` (slices, no copying of whole parts)."""
    kept: list[bytes] = []
    for part in parts:
        if count <= 0:
            break
        kept.append(part if len(part) <= count else part[:count])
        count -= len(kept[-1])
    return kept
