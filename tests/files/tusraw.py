"""A raw tus client over httpx for status-code tests (tuspy hides the responses)."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from peerlane.core.tus import encode_metadata
from support import Member

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}


@dataclass
class Tus:
    """Requests against the tus endpoint as one uploader (a room member or a share)."""

    http: httpx.Client
    auth: dict[str, str] = field(default_factory=dict)
    endpoint: str = "/api/files/uploads"

    @classmethod
    def member(cls, http: httpx.Client, member: Member) -> Tus:
        return cls(http, member.auth)

    def create(self, length: int, **meta: str) -> httpx.Response:
        headers = {**TUS, **self.auth, "Upload-Length": str(length)}
        if meta:
            headers["Upload-Metadata"] = encode_metadata(meta)
        return self.http.post(self.endpoint, headers=headers)

    def new(self, length: int, **meta: str) -> str:
        """Create an upload; its URL."""
        r = self.create(length, **meta)
        assert r.status_code == 201, r.text
        assert r.headers["tus-resumable"] == "1.0.0"
        return str(r.headers["location"])

    def head(self, url: str, **headers: str) -> httpx.Response:
        return self.http.head(url, headers={**TUS, **self.auth, **headers})

    def offset(self, url: str) -> int:
        r = self.head(url)
        assert r.status_code == 200, (r.status_code, r.headers)
        return int(r.headers["upload-offset"])

    def patch(
        self, url: str, data: Any, offset: int, *, checksum: str | None = None, **headers: str
    ) -> httpx.Response:
        sent = {**TUS, **OCTETS, **self.auth, "Upload-Offset": str(offset)}
        if checksum is not None:
            sent["Upload-Checksum"] = checksum
        return self.http.patch(url, content=data, headers={**sent, **headers})

    def delete(self, url: str) -> httpx.Response:
        return self.http.delete(url, headers={**TUS, **self.auth})

    def upload(self, data: bytes, chunk: int = 1 << 20, **meta: str) -> str:
        """A whole upload in PATCHes of ``chunk`` bytes; its URL."""
        url = self.new(len(data), **meta)
        for start in range(0, len(data), chunk):
            r = self.patch(url, data[start : start + chunk], start)
            assert r.status_code == 204, r.text
        return url


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checksum(algorithm: str, data: bytes) -> str:
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm} {base64.b64encode(digest).decode()}"


def file_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


class SlowPatch(threading.Thread):
    """One PATCH of ``data`` from offset 0, sent at about 1.3 MB/s (64 KiB every 50 ms) so
    that the server is still writing it when the test acts (kills it, mostly); ends when
    the server goes away or ``stop`` is set. ``client()`` opens the connection's
    httpx.Client (to a server, or to nginx in front of several)."""

    PIECE = 64 * 1024

    def __init__(
        self, client: Callable[[], httpx.Client], url: str, member: Member, data: bytes
    ) -> None:
        super().__init__(daemon=True)
        self.client, self.url, self.member, self.data = client, url, member, data
        self.stop = threading.Event()

    def body(self) -> Iterator[bytes]:
        for start in range(0, len(self.data), self.PIECE):
            if self.stop.wait(0.05):  # pacing the sender, not waiting for a result
                return
            yield self.data[start : start + self.PIECE]

    def run(self) -> None:
        headers = {**TUS, **OCTETS, **self.member.auth, "Upload-Offset": "0"}
        headers["Content-Length"] = str(len(self.data))
        try:
            with self.client() as http:
                http.patch(self.url, content=self.body(), headers=headers)
        except Exception:  # the server was killed under it (reset, or the body cut short
            pass  # by ``stop``): this request's answer is not the point
