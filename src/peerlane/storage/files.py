"""The SQL of :class:`~peerlane.storage.base.FileIndex`, mixed into ``SqlStore``.

The same statements run on SQLite and PostgreSQL. Two kinds of concurrency matter:

* **Quotas.** Creating an upload locks the room or share row (an ``UPDATE`` of it) and
  the ``files.quota_lock`` row in ``meta``; the sums are read after the locks are held,
  so two creations cannot both squeeze under a limit. What a file counts is described
  by :class:`~peerlane.files.records.Quotas`: stored bytes, metadata, a per-file
  overhead, and reservations of unfinished uploads that lapse without progress. The
  next PATCH of a lapsed upload reserves again under the same locks (or is refused).
* **One writer per upload.** A lease (``lock_owner``, ``lock_expires``) is taken and
  renewed by conditional ``UPDATE``s, so instances sharing the database and the file
  directory never append to one upload at once, and a crashed writer's lease runs out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from peerlane.core.tus import UploadStatus
from peerlane.errors import (
    ConflictError,
    ErrorCode,
    GoneError,
    LimitError,
    NotFoundError,
    StorageError,
)
from peerlane.files.records import FilesCleanup, Quotas, Share, StoredFile
from peerlane.storage.tables import file_blocks, files, meta, rooms, shares

QUOTA_LOCK_KEY = "files.quota_lock"
_CHUNK = 500  # below SQLite's bound-parameter limit
_FILE_COLUMNS = [
    c for c in files.c if c.name not in ("lock_owner", "lock_expires", "progressed_at")
]


class FileSql:
    """File and share queries; needs the host class's ``_write`` and ``_read``."""

    if TYPE_CHECKING:

        def _write(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...

        def _read(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...

    # -- shares --

    async def create_share(self, share: Share) -> None:
        async with self._write() as conn:
            await conn.execute(insert(shares).values(asdict(share)))

    async def get_share(self, share_id: str) -> Share | None:
        async with self._read() as conn:
            return await _get_share(conn, shares.c.id == share_id)

    async def get_share_by_token_hash(self, token_hash: str) -> Share | None:
        async with self._read() as conn:
            return await _get_share(conn, shares.c.token_hash == token_hash)

    async def delete_share(self, share_id: str) -> list[str] | None:
        async with self._write() as conn:
            deleted = await _delete_shares(conn, shares.c.id == share_id)
        if not deleted:
            return None
        return deleted[0][1]

    # -- uploads --

    async def create_upload(self, file: StoredFile, *, quotas: Quotas, now: float) -> StoredFile:
        async with self._write() as conn:
            await _check_quotas(conn, file, quotas, now)
            await conn.execute(insert(files).values({**asdict(file), "progressed_at": now}))
        return file

    async def get_file(self, file_id: str) -> StoredFile | None:
        async with self._read() as conn:
            return await _get_file(conn, file_id)

    async def list_files(
        self, *, room_id: str | None = None, share_id: str | None = None
    ) -> list[StoredFile]:
        owner = files.c.room_id == room_id if room_id is not None else files.c.share_id == share_id
        async with self._read() as conn:
            result = await conn.execute(
                select(*_FILE_COLUMNS)
                .where(owner, files.c.status == "complete")
                .order_by(files.c.completed_at, files.c.id)
            )
            return [StoredFile(**row._asdict()) for row in result]

    async def lock_upload(
        self, file_id: str, owner: str, *, now: float, lease: float, quotas: Quotas | None = None
    ) -> StoredFile:
        free = or_(files.c.lock_owner.is_(None), files.c.lock_expires < now)
        async with self._write() as conn:
            reserved: ColumnElement[Any] = files.c.progressed_at
            lapsed = None if quotas is None else await _lapsed(conn, file_id, quotas, now)
            if quotas is not None and lapsed is not None:
                # Its reservation lapsed: reserve again, or refuse (the lease not taken).
                # The room or share row is locked before the file row, as everywhere.
                await _check_quotas(conn, lapsed, quotas, now)
                reserved = literal(now)
            row = (
                await conn.execute(
                    update(files)
                    .where(files.c.id == file_id, free)
                    .values(lock_owner=owner, lock_expires=now + lease, progressed_at=reserved)
                    .returning(*_FILE_COLUMNS)
                )
            ).one_or_none()
            if row is not None:
                return StoredFile(**row._asdict())
            exists = await conn.scalar(select(files.c.id).where(files.c.id == file_id))
        if exists is None:
            raise NotFoundError(ErrorCode.UPLOAD_NOT_FOUND)
        raise ConflictError(ErrorCode.UPLOAD_LOCKED)

    async def renew_upload_lock(
        self, file_id: str, owner: str, *, now: float, lease: float
    ) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                update(files)
                .where(files.c.id == file_id, files.c.lock_owner == owner)
                .values(lock_expires=now + lease)
                .returning(files.c.id)
            )
            return result.one_or_none() is not None

    async def upload_lock_holders(self, file_id: str | None = None) -> list[str]:
        query = select(files.c.lock_owner).where(files.c.lock_owner.is_not(None)).distinct()
        if file_id is not None:
            query = query.where(files.c.id == file_id)
        async with self._read() as conn:
            return [str(owner) for owner in (await conn.execute(query)).scalars()]

    async def release_upload_locks(self, owners: Sequence[str]) -> int:
        released = 0
        async with self._write() as conn:
            for start in range(0, len(owners), _CHUNK):
                result = await conn.execute(
                    update(files)
                    .where(files.c.lock_owner.in_(owners[start : start + _CHUNK]))
                    .values(lock_owner=None, lock_expires=None)
                    .returning(files.c.id)
                )
                released += len(result.all())
        return released

    async def save_progress(
        self,
        file_id: str,
        owner: str,
        *,
        offset: int,
        first_block: int,
        hashes: bytes,
        expires_at: float,
        now: float,
        lease: float,
    ) -> StoredFile:
        async with self._write() as conn:
            saved = await _update_locked(
                conn,
                file_id,
                owner,
                {
                    "offset": offset,
                    "expires_at": expires_at,
                    "lock_expires": now + lease,
                    # Bytes arrived: the reservation holds on.
                    "progressed_at": case(
                        (files.c.offset < offset, now), else_=files.c.progressed_at
                    ),
                },
            )
            # Rows past first_block can only be left from a write that was rolled back.
            await conn.execute(
                delete(file_blocks).where(
                    file_blocks.c.file_id == file_id, file_blocks.c.first_block >= first_block
                )
            )
            if hashes:
                await conn.execute(
                    insert(file_blocks).values(
                        file_id=file_id, first_block=first_block, hashes=hashes
                    )
                )
        return saved

    async def load_blocks(self, file_id: str) -> bytes:
        async with self._read() as conn:
            result = await conn.execute(
                select(file_blocks.c.hashes)
                .where(file_blocks.c.file_id == file_id)
                .order_by(file_blocks.c.first_block)
            )
            return b"".join(bytes(h) for h in result.scalars())

    async def finish_upload(
        self,
        file_id: str,
        owner: str,
        *,
        status: UploadStatus,
        root: str | None,
        now: float,
        expires_at: float | None,
    ) -> StoredFile:
        values: dict[str, Any] = {
            "status": status,
            "root": root,
            "expires_at": expires_at,
            "lock_owner": None,
            "lock_expires": None,
        }
        if status == "complete":
            values["offset"] = files.c.length
            values["completed_at"] = now
        async with self._write() as conn:
            done = await _update_locked(conn, file_id, owner, values)
            await conn.execute(delete(file_blocks).where(file_blocks.c.file_id == file_id))
        return done

    async def unlock_upload(self, file_id: str, owner: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                update(files)
                .where(files.c.id == file_id, files.c.lock_owner == owner)
                .values(lock_owner=None, lock_expires=None)
            )

    async def delete_file(self, file_id: str) -> StoredFile | None:
        async with self._write() as conn:
            await conn.execute(delete(file_blocks).where(file_blocks.c.file_id == file_id))
            row = (
                await conn.execute(
                    delete(files).where(files.c.id == file_id).returning(*_FILE_COLUMNS)
                )
            ).one_or_none()
        return None if row is None else StoredFile(**row._asdict())

    async def count_download(self, file_id: str, *, max_downloads: int | None) -> bool:
        where = [files.c.id == file_id, files.c.status == "complete"]
        if max_downloads is not None:
            where.append(files.c.downloads < max_downloads)
        async with self._write() as conn:
            result = await conn.execute(
                update(files)
                .where(*where)
                .values(downloads=files.c.downloads + 1)
                .returning(files.c.id)
            )
            return result.one_or_none() is not None

    async def existing_file_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        async with self._read() as conn:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                result = await conn.execute(select(files.c.id).where(files.c.id.in_(chunk)))
                found.update(str(file_id) for file_id in result.scalars())
        return found

    async def cleanup_files(self, *, now: float) -> FilesCleanup:
        not_written = or_(files.c.lock_owner.is_(None), files.c.lock_expires < now)
        dead = and_(files.c.status != "complete", files.c.expires_at < now, not_written)
        async with self._write() as conn:
            expired = await _delete_files(conn, dead)
            gone_shares = await _delete_shares(conn, shares.c.expires_at < now)
        blob_ids = [*expired, *(file_id for _, ids in gone_shares for file_id in ids)]
        return FilesCleanup(
            uploads_expired=len(expired), shares_expired=len(gone_shares), blob_ids=tuple(blob_ids)
        )


# -- statements; each runs in the caller's transaction --


async def delete_room_files(conn: AsyncConnection, room_ids: Sequence[str]) -> None:
    """Delete the file rows of these rooms (used when rooms are deleted)."""
    await _delete_files(conn, files.c.room_id.in_(room_ids))


async def _get_share(conn: AsyncConnection, where: ColumnElement[bool]) -> Share | None:
    row = (await conn.execute(select(shares).where(where))).one_or_none()
    return None if row is None else Share(**row._asdict())


async def _get_file(conn: AsyncConnection, file_id: str) -> StoredFile | None:
    row = (await conn.execute(select(*_FILE_COLUMNS).where(files.c.id == file_id))).one_or_none()
    return None if row is None else StoredFile(**row._asdict())


async def _lock_room(conn: AsyncConnection, room_id: str, now: float) -> None:
    """Lock the room row (and mark the room active); the room must exist."""
    result = await conn.execute(
        update(rooms).where(rooms.c.id == room_id).values(last_active_at=now).returning(rooms.c.id)
    )
    if result.one_or_none() is None:
        raise NotFoundError(ErrorCode.ROOM_NOT_FOUND)


async def _lock_share(conn: AsyncConnection, share_id: str, now: float) -> Share:
    """Lock the share row; it must exist and be live."""
    row = (
        await conn.execute(
            update(shares)
            .where(shares.c.id == share_id)
            .values(expires_at=shares.c.expires_at)
            .returning(*shares.c)
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(ErrorCode.SHARE_NOT_FOUND)
    share = Share(**row._asdict())
    if share.expires_at <= now:
        raise GoneError(ErrorCode.SHARE_EXPIRED)
    return share


async def _lapsed(
    conn: AsyncConnection, file_id: str, quotas: Quotas, now: float
) -> StoredFile | None:
    """The upload, if it is unfinished and its reservation has lapsed."""
    if quotas.reservation_ttl is None:
        return None
    row = (
        await conn.execute(
            select(*_FILE_COLUMNS).where(
                files.c.id == file_id, files.c.status == "uploading", not_(_active(quotas, now))
            )
        )
    ).one_or_none()
    return None if row is None else StoredFile(**row._asdict())


def _active(quotas: Quotas, now: float) -> ColumnElement[bool]:
    """Unfinished uploads whose reservation holds: recent progress, or a PATCH running."""
    if quotas.reservation_ttl is None:
        return literal(True)
    progressed = func.coalesce(files.c.progressed_at, files.c.created_at)
    running = func.coalesce(files.c.lock_expires, 0.0) >= now  # never NULL: it is negated
    return or_(progressed >= now - quotas.reservation_ttl, running)


def _counted(quotas: Quotas, now: float, *, content_only: bool = False) -> ColumnElement[int]:
    """What one file row counts against the quotas (see :class:`Quotas`); with
    ``content_only``, its bytes of content alone (what a share's declared size counts)."""
    unfinished = files.c.offset + case(
        (_active(quotas, now), files.c.length - files.c.offset), else_=0
    )
    held = case((files.c.status == "complete", files.c.length), else_=unfinished)
    if content_only:
        return held
    return held + func.length(files.c.upload_metadata) + quotas.file_overhead


async def _used(
    conn: AsyncConnection,
    where: ColumnElement[bool] | None,
    quotas: Quotas,
    now: float,
    exclude: str,
    *,
    content_only: bool = False,
) -> int:
    """What the files (not failed) matching ``where`` count, but the one ``exclude``d."""
    counted = _counted(quotas, now, content_only=content_only)
    query = select(func.coalesce(func.sum(counted), 0)).where(
        files.c.status != "failed", files.c.id != exclude
    )
    if where is not None:
        query = query.where(where)
    return int(await conn.scalar(query) or 0)


async def _pending(conn: AsyncConnection, quotas: Quotas, now: float, exclude: str) -> int:
    """Bytes reserved by unfinished uploads and not yet on the disk."""
    query = select(func.coalesce(func.sum(files.c.length - files.c.offset), 0)).where(
        files.c.status == "uploading", files.c.id != exclude, _active(quotas, now)
    )
    return int(await conn.scalar(query) or 0)


async def _check_quotas(
    conn: AsyncConnection, file: StoredFile, quotas: Quotas, now: float
) -> None:
    """Lock what the file counts against, then check every quota for its full length
    (a new upload, or one reserving again); raises the refusal."""
    cost = file.length + len(file.upload_metadata) + quotas.file_overhead
    if file.room_id is not None:
        await _lock_room(conn, file.room_id, now)
        used = await _used(conn, files.c.room_id == file.room_id, quotas, now, file.id)
        if quotas.room_bytes is not None and used + cost > quotas.room_bytes:
            raise LimitError(
                ErrorCode.ROOM_QUOTA_EXCEEDED,
                f"The room's file storage is full: {used} of {quotas.room_bytes} "
                "bytes are taken; delete some files first.",
            )
    elif file.share_id is not None:
        # A share's size is what its creator declared: the files' bytes, which is all a
        # client knows of them. Metadata and the per-file overhead still count against
        # the storage quota below, and creating uploads into a share is rate-limited.
        share = await _lock_share(conn, file.share_id, now)
        used = await _used(
            conn, files.c.share_id == share.id, quotas, now, file.id, content_only=True
        )
        if used + file.length > share.size_limit:
            raise LimitError(
                ErrorCode.SHARE_QUOTA_EXCEEDED,
                f"The files are larger than this share allows ({share.size_limit} bytes in all).",
            )
    else:
        raise ValueError("an upload belongs to a room or a share")
    if quotas.storage_bytes is None and quotas.disk_free is None:
        return
    await conn.execute(update(meta).where(meta.c.key == QUOTA_LOCK_KEY).values(value=meta.c.value))
    total = quotas.storage_bytes
    if total is not None and await _used(conn, None, quotas, now, file.id) + cost > total:
        raise LimitError(ErrorCode.STORAGE_QUOTA_EXCEEDED)
    if quotas.disk_free is not None:
        needed = file.length - file.offset + await _pending(conn, quotas, now, file.id)
        if quotas.disk_free - needed < quotas.reserve:
            raise StorageError(ErrorCode.INSUFFICIENT_STORAGE)


async def _update_locked(
    conn: AsyncConnection, file_id: str, owner: str, values: dict[str, Any]
) -> StoredFile:
    row = (
        await conn.execute(
            update(files)
            .where(files.c.id == file_id, files.c.lock_owner == owner)
            .values(values)
            .returning(*_FILE_COLUMNS)
        )
    ).one_or_none()
    if row is not None:
        return StoredFile(**row._asdict())
    if await conn.scalar(select(files.c.id).where(files.c.id == file_id)) is None:
        raise NotFoundError(ErrorCode.UPLOAD_NOT_FOUND)
    raise ConflictError(ErrorCode.UPLOAD_LOCKED, "Another request took over this upload.")


async def _delete_files(conn: AsyncConnection, where: ColumnElement[bool]) -> list[str]:
    """Delete the matching file rows with their block hashes; their ids."""
    ids = [str(i) for i in (await conn.execute(select(files.c.id).where(where))).scalars()]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        await conn.execute(delete(file_blocks).where(file_blocks.c.file_id.in_(chunk)))
        await conn.execute(delete(files).where(files.c.id.in_(chunk)))
    return ids


async def _delete_shares(
    conn: AsyncConnection, where: ColumnElement[bool]
) -> list[tuple[str, list[str]]]:
    """Delete the matching shares and their files; (share id, file ids) of each. The
    files go first: the foreign key would cascade and hide which ones there were."""
    share_ids = [str(s) for s in (await conn.execute(select(shares.c.id).where(where))).scalars()]
    deleted = []
    for share_id in share_ids:
        deleted.append((share_id, await _delete_files(conn, files.c.share_id == share_id)))
        await conn.execute(delete(shares).where(shares.c.id == share_id))
    return deleted
