"""Where the bytes of files live: the :class:`FileStore` interface.

Blobs are named by server-generated ids only (:func:`check_blob_id`); nothing a client
sends ever becomes part of a path. A blob is first *unfinished* — appended to by an
upload, never served — and becomes *complete* by :meth:`FileStore.complete`, which
makes it durable and visible in one atomic step.

Writers block (they do file I/O): the upload driver calls them from a worker thread,
and the async methods here do the same internally. I/O failures surface as
:class:`OSError` (``ENOSPC`` when the disk is full), except that an unfinished blob
which is missing or shorter than the caller knows it to be raises :class:`BlobLost`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Protocol

from peerlane.errors import ErrorCode, GoneError

_BLOB_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class BlobLost(GoneError):
    """An unfinished blob's bytes are gone (deleted behind the server's back)."""

    default_code = ErrorCode.UPLOAD_FAILED


def is_blob_id(text: str) -> bool:
    """True if ``text`` is shaped like a server-made id (URL-safe base64, 16-64 chars)."""
    return _BLOB_ID.fullmatch(text) is not None


def check_blob_id(blob_id: str) -> str:
    """``blob_id`` if it is shaped like a server-made id; else ValueError."""
    if not is_blob_id(blob_id):
        raise ValueError("not a blob id")
    return blob_id


class BlobWriter(Protocol):
    """An unfinished blob open for appending. Blocking: use from a worker thread."""

    @property
    def position(self) -> int:
        """Bytes in the blob: where the next write lands. After a failed write it
        counts the bytes that did reach the file."""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append all of ``data`` or raise OSError (then see :attr:`position`)."""

    def sync(self) -> None:
        """Make everything written so far durable (fdatasync)."""

    def truncate(self, size: int) -> None:
        """Cut the blob back to ``size`` bytes and continue from there."""

    def close(self) -> None: ...


class FileStore(Protocol):
    """Blob storage for uploads and files."""

    async def start(self) -> None:
        """Create what the store needs (directories); called at server start."""

    async def create(self, blob_id: str) -> None:
        """Create an empty unfinished blob."""

    async def open_append(self, blob_id: str, offset: int) -> BlobWriter:
        """Open an unfinished blob, cut it to ``offset`` bytes (bytes past the last saved
        offset were never acknowledged) and return a writer at its end. Raise BlobLost
        if it does not exist or is shorter than ``offset``."""

    async def read_unfinished(self, blob_id: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of an unfinished blob (small ranges only: the tail of
        a partly hashed block). Raise BlobLost if they are not there."""

    async def complete(self, blob_id: str) -> None:
        """Make an unfinished blob durable and complete, atomically: before this returns
        it is not served, after it the whole of it is."""

    def read_range(self, blob_id: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Stream bytes ``[start, end)`` of a complete blob in bounded chunks."""

    async def size(self, blob_id: str) -> int | None:
        """Size of a complete blob; None if there is none."""

    async def delete(self, blob_id: str) -> None:
        """Delete the blob, unfinished or complete; nothing if it does not exist."""

    async def usage(self) -> int:
        """Bytes held by all blobs."""

    async def free_bytes(self) -> int | None:
        """Bytes the store can still take, if it knows (None: it cannot tell)."""

    async def blob_ids(self) -> list[str]:
        """The id of every blob held, unfinished or complete."""
