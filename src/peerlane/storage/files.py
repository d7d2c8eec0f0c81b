"""The SQL of :class:`~peerlane.storage.base.FileIndex`, mixed into ``SqlStore``.

The same statements run on SQLite and PostgreSQL. Two kinds of concurrency matter:

* **Quotas** (the checks: storage/file_quotas.py). Creating an upload locks the room or
  share row and the ``files.quota_lock`` row in ``meta`` before the sums are read, so
  two creations cannot both squeeze under a limit. The next PATCH of an upload whose
  reservation lapsed reserves again under the same locks (or is refused).
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
    insert,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from peerlane.core.tus import UploadStatus
from peerlane.errors import ConflictError, ErrorCode, NotFoundError
from peerlane.files.records import FilesCleanup, Quotas, Share, StoredFile
from peerlane.storage.file_quotas import active, check_quotas
from peerlane.storage.tables import file_blocks, files, shares

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
            await check_quotas(conn, file, quotas, now)
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
                await check_quotas(conn, lapsed, quotas, now)
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


async def _lapsed(
    conn: AsyncConnection, file_id: str, quotas: Quotas, now: float
) -> StoredFile | None:
    """The upload, if it is unfinished and its reservation has lapsed."""
    if quotas.reservation_ttl is None:
        return None
    row = (
        await conn.execute(
            select(*_FILE_COLUMNS).where(
                files.c.id == file_id, files.c.status == "uploading", not_(active(quotas, now))
            )
        )
    ).one_or_none()
    return None if row is None else StoredFile(**row._asdict())


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
