"""The quota checks of :class:`~peerlane.storage.files.FileSql` (statements that run in
the caller's transaction, on SQLite and PostgreSQL alike).

Creating an upload, or reserving again for one whose reservation lapsed, locks the room
or share row (an ``UPDATE`` of it) and the ``files.quota_lock`` row in ``meta``; the sums
are read after the locks are held, so two creations cannot both squeeze under a limit.
What a file counts is described by :class:`~peerlane.files.records.Quotas`: stored bytes,
metadata, a per-file overhead, and reservations of unfinished uploads that lapse without
progress.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from peerlane.errors import ErrorCode, GoneError, LimitError, NotFoundError, StorageError
from peerlane.files.records import Quotas, Share, StoredFile
from peerlane.storage.tables import files, meta, rooms, shares

QUOTA_LOCK_KEY = "files.quota_lock"  # the row of meta that creations lock (r0002_files)


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


def active(quotas: Quotas, now: float) -> ColumnElement[bool]:
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
        (active(quotas, now), files.c.length - files.c.offset), else_=0
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
        files.c.status == "uploading", files.c.id != exclude, active(quotas, now)
    )
    return int(await conn.scalar(query) or 0)


async def check_quotas(conn: AsyncConnection, file: StoredFile, quotas: Quotas, now: float) -> None:
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
