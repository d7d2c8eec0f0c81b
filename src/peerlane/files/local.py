"""The embedded file store: one file per blob in a local (or shared) directory.

Layout: ``<root>/<id[:2]>/<id>`` for complete blobs and ``<id>.part`` beside it for
unfinished ones; the two-character fan-out keeps directories small. Completion is
``fsync`` of the data, ``rename`` of ``.part`` to the final name and ``fsync`` of the
directory, so a crash leaves either an unfinished blob or a complete one, never a
partial file under the final name. Several instances may share the directory (NFS or
any POSIX file system with atomic rename): blob ids are unique and the database lease
keeps writers of one upload apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from peerlane.files.store import BlobLost, check_blob_id, is_blob_id

READ_CHUNK = 256 * 1024
_PART = ".part"


class LocalWriter:
    """A :class:`~peerlane.files.store.BlobWriter` on an open file descriptor."""

    def __init__(self, fd: int, position: int) -> None:
        self._fd = fd
        self._position = position

    @property
    def position(self) -> int:
        return self._position

    def write(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            if written <= 0:  # not expected from a regular file; never loop forever
                raise OSError(errno.EIO, "short write")
            self._position += written
            view = view[written:]

    def sync(self) -> None:
        os.fdatasync(self._fd)

    def truncate(self, size: int) -> None:
        os.ftruncate(self._fd, size)
        os.lseek(self._fd, size, os.SEEK_SET)
        self._position = size

    def close(self) -> None:
        os.close(self._fd)


class LocalFileStore:
    """A :class:`~peerlane.files.store.FileStore` in the directory ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, blob_id: str, suffix: str = "") -> Path:
        check_blob_id(blob_id)
        return self.root / blob_id[:2] / f"{blob_id}{suffix}"

    async def start(self) -> None:
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)

    async def create(self, blob_id: str) -> None:
        path = self._path(blob_id, _PART)

        def create() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)

        await asyncio.to_thread(create)

    async def open_append(self, blob_id: str, offset: int) -> LocalWriter:
        path = self._path(blob_id, _PART)

        def open_at() -> LocalWriter:
            try:
                fd = os.open(path, os.O_WRONLY)
            except FileNotFoundError:
                raise BlobLost() from None
            try:
                if os.fstat(fd).st_size < offset:
                    raise BlobLost()
                writer = LocalWriter(fd, offset)
                writer.truncate(offset)
            except BaseException:
                os.close(fd)
                raise
            return writer

        return await asyncio.to_thread(open_at)

    async def read_unfinished(self, blob_id: str, start: int, end: int) -> bytes:
        path = self._path(blob_id, _PART)

        def read() -> bytes:
            try:
                with path.open("rb") as f:
                    f.seek(start)
                    data = f.read(end - start)
            except FileNotFoundError:
                raise BlobLost() from None
            if len(data) != end - start:
                raise BlobLost()
            return data

        return await asyncio.to_thread(read)

    async def complete(self, blob_id: str) -> None:
        part, final = self._path(blob_id, _PART), self._path(blob_id)

        def complete() -> None:
            fd = os.open(part, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(part, final)
            _fsync_dir(final.parent)

        await asyncio.to_thread(complete)

    async def read_range(self, blob_id: str, start: int, end: int) -> AsyncIterator[bytes]:
        path = self._path(blob_id)
        f = await asyncio.to_thread(path.open, "rb")
        try:
            await asyncio.to_thread(f.seek, start)
            left = end - start
            while left > 0:
                data = await asyncio.to_thread(f.read, min(READ_CHUNK, left))
                if not data:
                    raise OSError(errno.EIO, "file shorter than expected")
                left -= len(data)
                yield data
        finally:
            await asyncio.to_thread(f.close)

    async def size(self, blob_id: str) -> int | None:
        path = self._path(blob_id)
        try:
            return (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return None

    async def delete(self, blob_id: str) -> None:
        paths = (self._path(blob_id, _PART), self._path(blob_id))

        def delete() -> None:
            for path in paths:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

        await asyncio.to_thread(delete)

    async def usage(self) -> int:
        return await asyncio.to_thread(lambda: sum(_size(p) for p in self._blobs()))

    async def free_bytes(self) -> int | None:
        try:
            return (await asyncio.to_thread(shutil.disk_usage, self.root)).free
        except OSError:
            return None

    async def blob_ids(self) -> list[str]:
        return await asyncio.to_thread(lambda: [p.name.removesuffix(_PART) for p in self._blobs()])

    def _blobs(self) -> list[Path]:
        """Every blob file, skipping anything not named like one."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in self.root.iterdir():
            if len(folder.name) != 2 or not folder.is_dir():
                continue
            for path in folder.iterdir():
                name = path.name.removesuffix(_PART)
                if name.startswith(folder.name) and is_blob_id(name) and path.is_file():
                    found.append(path)
        return found


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # deleted meanwhile
        return 0


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (where the platform allows opening a directory)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
