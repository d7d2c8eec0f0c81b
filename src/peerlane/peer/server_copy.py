"""The server as the way for a file's bytes when no direct link works, as the browser
does it (web/tus.js, web/transfer-download.js): a tus 1.0.0 upload to the room
(``POST /api/rooms/{room}/uploads``, PATCHes with ``Upload-Checksum: sha256``, resumed
by HEAD after an error) and a Range download of the room's copy from the first block the
receiver lacks (``If-Range`` the root). Blocking calls (stdlib urllib), run in a thread.

An end-to-end encrypted room's copy is the file's sealed blocks end to end, as the
browser's (web/transfer-e2e.js ``uploadOf`` / ``SealedFile``): sealed as the upload
reads them, nothing about the file in the tus metadata but where it goes, and a Range
download in sealed blocks (``1 MiB + 16`` bytes each) without ``If-Range``: the
plaintext root names the file and never goes to the server.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from peerlane.core import e2e_file
from peerlane.core.integrity import BLOCK_SIZE
from peerlane.core.tus import OFFSET_CONTENT_TYPE, TUS_VERSION, encode_metadata
from peerlane.peer import EXIT_FAILED, PeerError
from peerlane.peer.http_api import TIMEOUT, Membership

CHUNK_BYTES = 8 * 1024 * 1024  # per PATCH, as web/tus.js
RETRIES = 5
BACKOFF_S = (1, 2, 4, 8, 16)


def _open(request: urllib.request.Request) -> http.client.HTTPResponse:
    answer: http.client.HTTPResponse = urllib.request.urlopen(  # noqa: S310 (http(s) only)
        request, timeout=TIMEOUT
    )
    return answer


def _request(
    member: Membership, method: str, url: str, headers: dict[str, str], data: bytes | None = None
) -> urllib.request.Request:
    return urllib.request.Request(  # noqa: S310 (the server's http(s) URL)
        url, data=data, method=method, headers={**member.auth, **headers}
    )


Read = Callable[[int, int], bytes]  # (offset, length) → the bytes there


class SealedFile:
    """A file's sealed form read at any offset: each block sealed when a read reaches
    it, the last one kept for the next read (a tus chunk ends inside a block)."""

    def __init__(self, fd: int, plain_size: int, key: e2e_file.FileKey) -> None:
        self.fd, self.plain_size, self.key = fd, plain_size, key
        self.count = e2e_file.block_count(plain_size)
        self.size = e2e_file.sealed_size(plain_size)
        self._last: tuple[int, bytes] | None = None

    def read(self, offset: int, length: int) -> bytes:
        parts, end = [], min(offset + length, self.size)
        while offset < end:
            index = offset // e2e_file.SEALED_BLOCK_SIZE
            sealed = self._block(index)
            start = offset - index * e2e_file.SEALED_BLOCK_SIZE
            take = min(len(sealed) - start, end - offset)
            parts.append(sealed[start : start + take])
            offset += take
        return b"".join(parts)

    def _block(self, index: int) -> bytes:
        if self._last is None or self._last[0] != index:
            plain = os.pread(self.fd, BLOCK_SIZE, index * BLOCK_SIZE)
            self._last = (index, e2e_file.seal_block(self.key, index, self.count, plain))
        return self._last[1]


def upload(
    member: Membership,
    path: Path,
    metadata: dict[str, str | None],
    on_sent: Callable[[int], None],
    key: e2e_file.FileKey | None = None,
    resume: Resume | None = None,
) -> str:
    """Upload ``path`` into the room (sealed under ``key`` when there is one); the file
    id. ``on_sent(n)``: n more bytes sent. ``resume``: an upload a killed run started
    (its URL, from the same session), and where to note a new one's."""
    with path.open("rb") as file:
        fd, plain = file.fileno(), path.stat().st_size
        if key is None:
            read: Read = lambda at, n: os.pread(fd, n, at)  # noqa: E731
            return _upload(member, plain, read, metadata, on_sent, resume)
        sealed = SealedFile(fd, plain, key)
        return _upload(member, sealed.size, sealed.read, metadata, on_sent, resume)


@dataclass(frozen=True, slots=True)
class Resume:
    url: str | None  # the upload to go on with, if any
    created: Callable[[str], None]  # a new upload's URL, once the server made it


def _resumed(member: Membership, resume: Resume | None, size: int) -> tuple[str, int] | None:
    """The earlier upload's URL and offset (HEAD), or None when there is none to go on
    with: never made, expired, finished and gone, or of another length."""
    if resume is None or resume.url is None:
        return None
    try:
        with _open(_request(member, "HEAD", resume.url, {"Tus-Resumable": TUS_VERSION})) as a:
            offset, length = int(a.headers["Upload-Offset"]), int(a.headers["Upload-Length"])
    except urllib.error.HTTPError as exc:
        if exc.code in (403, 404, 410):  # someone else's, gone or expired: a new one
            return None
        raise
    return (resume.url, offset) if length == size else None


def _upload(
    member: Membership,
    size: int,
    read: Read,
    metadata: dict[str, str | None],
    on_sent: Callable[[int], None],
    resume: Resume | None = None,
) -> str:
    if (earlier := _resumed(member, resume, size)) is not None:
        url, offset = earlier
    else:
        url, offset = _create(member, size, metadata), 0
        if resume is not None:
            resume.created(url)
    failures = 0
    while offset < size:
        try:
            offset = _patch(member, url, read(offset, CHUNK_BYTES), offset, on_sent)
            failures = 0
        except (urllib.error.URLError, OSError) as exc:
            if failures >= RETRIES:
                raise PeerError(
                    f"The upload to {member.server} keeps failing ({exc}); "
                    "check your network and run the command again.",
                    EXIT_FAILED,
                ) from exc
            time.sleep(BACKOFF_S[failures])
            failures += 1
            offset = _offset(member, url)
    return url.rstrip("/").rsplit("/", 1)[-1]


def _create(member: Membership, size: int, metadata: dict[str, str | None]) -> str:
    endpoint = f"{member.server}/api/rooms/{member.room_id}/uploads"
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Length": str(size),
        "Upload-Metadata": encode_metadata({k: v for k, v in metadata.items() if v}),
    }
    with _open(_request(member, "POST", endpoint, headers, b"")) as answer:
        location = str(answer.headers["Location"])
    return urllib.parse.urljoin(endpoint, location)


def _patch(
    member: Membership, url: str, chunk: bytes, offset: int, on_sent: Callable[[int], None]
) -> int:
    checksum = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Offset": str(offset),
        "Content-Type": OFFSET_CONTENT_TYPE,
        "Upload-Checksum": f"sha256 {checksum}",
    }
    with _open(_request(member, "PATCH", url, headers, chunk)) as answer:
        after = int(answer.headers["Upload-Offset"])
    on_sent(len(chunk))
    return after


def _offset(member: Membership, url: str) -> int:
    with _open(_request(member, "HEAD", url, {"Tus-Resumable": TUS_VERSION})) as answer:
        return int(answer.headers["Upload-Offset"])


def download(
    member: Membership,
    file_id: str,
    root: str,
    first_block: int,
    take: Callable[[int, bytes], bool],
    *,
    sealed: bool = False,
) -> None:
    """The room's copy from ``first_block`` on, one whole block at a time to ``take(block,
    data)`` (False: stop). An answer from the start (200: the copy changed) begins at 0.
    ``sealed``: an encrypted room's copy, in sealed blocks."""
    url = f"{member.server}/api/rooms/{member.room_id}/files/{file_id}"
    size = e2e_file.SEALED_BLOCK_SIZE if sealed else BLOCK_SIZE
    headers = {"Range": f"bytes={first_block * size}-"}
    if not sealed:
        headers["If-Range"] = f'"{root}"'
    try:
        with _open(_request(member, "GET", url, headers)) as answer:
            block = first_block if getattr(answer, "status", 200) == 206 else 0
            while data := _read_block(answer, size):
                if not take(block, data):
                    return
                block += 1
    except urllib.error.HTTPError as exc:
        if exc.code == 416:  # nothing after first_block: the file is whole already
            return
        raise PeerError(
            f"The server's copy of the file cannot be downloaded (HTTP {exc.code}); "
            "ask the sender to send again.",
            EXIT_FAILED,
        ) from exc


def _read_block(stream: IO[bytes], size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        piece = stream.read(size - got)
        if not piece:
            break
        parts.append(piece)
        got += len(piece)
    return b"".join(parts)
