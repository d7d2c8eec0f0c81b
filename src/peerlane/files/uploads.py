"""The upload driver: creates uploads and moves each tus PATCH body into the file store.

:class:`Uploads` records an upload and its empty blob, takes the upload's write lease for
a PATCH (waiting :data:`LOCK_WAIT` for a previous one to let go, freeing the leases of
dead processes of this machine), rebuilds the hashing state at the upload's offset, and
hands the body to a :class:`.upload_session.Session`, which writes, hashes, checkpoints
and renews the lease (memory stays constant; what an interrupted PATCH leaves behind is
described there). A resumed upload (in this process or another instance) continues from
the recorded offset and hashing state.

Nothing is served before :meth:`FileStore.complete`, which happens only when every byte
is in and the root hash (if the sender gave one) matches.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

from peerlane.core import integrity, tus
from peerlane.errors import ConflictError, ErrorCode, ProtocolError
from peerlane.files import upload_session
from peerlane.files.records import Quotas, StoredFile
from peerlane.files.store import FileStore
from peerlane.files.upload_session import (
    Interrupted,
    ReserveReached,
    Session,
    Writing,
    storage_error,
)
from peerlane.files.writers import holder_is_dead, new_owner, process_of
from peerlane.storage.base import FileIndex

__all__ = ["Interrupted", "PatchRequest", "ReserveReached", "Uploads", "storage_error"]

IDLE_TIMEOUT = 30.0  # tus: "a 30 second timeout"; then the request is given up
LOCK_WAIT = 3.0  # a PATCH waits this long for a previous one to let go


@dataclass(frozen=True, slots=True)
class PatchRequest:
    """The headers of a PATCH that matter to the driver, as sent."""

    content_type: str | None
    offset: str | None
    content_length: int | None
    checksum: tus.Checksum | None

    def check(self, state: tus.UploadState, now: float) -> int:
        """Judge this PATCH against the upload's state (tus errors); its new offset."""
        return tus.check_patch(
            state,
            content_type=self.content_type,
            offset=self.offset,
            content_length=self.content_length,
            now=now,
        )


class Uploads:
    """Creates uploads and runs PATCH requests against them."""

    def __init__(
        self,
        index: FileIndex,
        files: FileStore,
        *,
        upload_ttl: float,
        clock: Callable[[], float],
        idle_timeout: float = IDLE_TIMEOUT,
        reserve: int = 0,
    ) -> None:
        self.index = index
        self.files = files
        self.upload_ttl = upload_ttl
        self.clock = clock
        self.idle_timeout = idle_timeout
        self.reserve = reserve  # bytes of disk space no upload may write into

    def expiry(self, share_expires_at: float | None = None) -> float:
        """When an upload written to now expires: ``upload_ttl`` from now, but never
        after the share it belongs to."""
        expires = self.clock() + self.upload_ttl
        return expires if share_expires_at is None else min(expires, share_expires_at)

    async def create(self, file: StoredFile, quotas: Quotas) -> StoredFile:
        """Record the upload (quotas are checked there) and create its empty blob. An
        empty file is complete at once (tus: no PATCH is needed)."""
        if file.length == 0:
            root = integrity.root_of([])
            if file.expected_root is not None and file.expected_root != root:
                raise ProtocolError(ErrorCode.HASH_MISMATCH)
            now = self.clock()
            file = replace(file, status="complete", root=root, completed_at=now, expires_at=None)
        file = await self.index.create_upload(file, quotas=quotas, now=self.clock())
        try:
            await self.files.create(file.id)
            if file.length == 0:
                await self.files.complete(file.id)
        except OSError as exc:
            await self.index.delete_file(file.id)
            await self.files.delete(file.id)
            raise storage_error(exc) from exc
        return file

    async def delete(self, file_id: str) -> StoredFile | None:
        """Delete the row, then the bytes (a writer still running finds its row gone)."""
        deleted = await self.index.delete_file(file_id)
        await self.files.delete(file_id)
        return deleted

    async def patch(
        self, file_id: str, body: AsyncIterator[bytes], request: PatchRequest, *,
        share_expires_at: float | None = None, quotas: Quotas | None = None,
    ) -> StoredFile:  # fmt: skip
        """Run one PATCH: lock the upload (reserving its quota again if that lapsed:
        ``quotas``), check the request against its state (tus errors), append the body
        and return the upload as it now is."""
        owner = new_owner()
        leased_at = asyncio.get_running_loop().time()
        file = await self._lock(file_id, owner, quotas)
        try:
            request.check(file.state, self.clock())
            writing = await self._open(file)
        except BaseException:
            await self.unlock(file_id, owner)
            raise
        session = Session(self, file, owner, writing, request.checksum, share_expires_at)
        session.lease_until = leased_at + upload_session.LOCK_LEASE
        try:
            return await session.run(body)
        finally:
            await asyncio.to_thread(writing.close)

    async def _lock(self, file_id: str, owner: str, quotas: Quotas | None) -> StoredFile:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_WAIT
        while True:
            try:
                return await self.index.lock_upload(
                    file_id, owner, now=self.clock(), lease=upload_session.LOCK_LEASE, quotas=quotas
                )
            except ConflictError:
                if await self._release_dead_holder(file_id):
                    continue
                if loop.time() >= deadline:
                    raise
            # Another PATCH (often the one whose client just vanished) is finishing.
            await asyncio.sleep(0.1)

    async def _release_dead_holder(self, file_id: str) -> bool:
        """Release the upload's lease if its holder is a process of this machine that
        no longer exists (a crashed or killed server); True if it did."""
        dead = [h for h in await self.index.upload_lock_holders(file_id) if holder_is_dead(h)]
        return bool(dead) and await self.index.release_upload_locks(dead) > 0

    async def release_dead_locks(self) -> int:
        """Release every lease held by dead processes of this machine (at start: a
        restarted server frees the uploads its previous process was writing)."""
        holders = await self.index.upload_lock_holders()
        dead = sorted({process_of(h) for h in holders if holder_is_dead(h)})
        return await self.index.release_upload_locks([h for h in holders if process_of(h) in dead])

    async def unlock(self, file_id: str, owner: str) -> None:
        """Let go of the upload's lease (a PATCH ending, or failing before it began)."""
        with contextlib.suppress(Exception):  # best effort: the lease runs out anyway
            await asyncio.shield(self.index.unlock_upload(file_id, owner))

    async def _open(self, file: StoredFile) -> Writing:
        """Rebuild the hashing state at ``file.offset`` and open the blob there."""
        size = integrity.BLOCK_SIZE
        whole = file.offset // size
        saved = await self.index.load_blocks(file.id)
        hashes = [saved[i : i + 32] for i in range(0, len(saved) - len(saved) % 32, 32)][:whole]
        for index in range(len(hashes), whole):  # not expected: checkpoints save them all
            block = await self.files.read_unfinished(file.id, index * size, (index + 1) * size)
            hashes.append(hashlib.sha256(block).digest())
        hasher = integrity.TreeHasher.resume(hashes)
        hasher.update(await self.files.read_unfinished(file.id, whole * size, file.offset))
        writer = await self.files.open_append(file.id, file.offset)
        return Writing(writer, hasher)
