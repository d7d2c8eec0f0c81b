"""A third-party tus client (tuspy) against a real server: room and share uploads of
several MB, stopped half-way and resumed by a new uploader from the stored URL; the
downloaded bytes hash to the original."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
from tusclient import client as tus_client
from tusclient.storage.interface import Storage

from peerlane.core.integrity import root_of_bytes
from support import ServerProcess, create_room, join, link_token

SIZE = 6 * 1024 * 1024 + 12_345
CHUNK = 1024 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(SIZE)
    path = tmp_path / "holiday photos.zip"
    path.write_bytes(data)
    return path, data


class Stream(io.BytesIO):
    """The file for tuspy to read. tuspy leaves files it opens by path open, and closes
    a stream it is given (``with stream:`` while fingerprinting) before it is done with
    it; this one ignores that and is closed by :func:`opened`."""

    def __init__(self, path: Path) -> None:
        super().__init__(path.read_bytes())

    def close(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        pass


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Stream]:
    stream = Stream(path)
    try:
        yield stream
    finally:
        io.BytesIO.close(stream)


class MemoryStorage(Storage):  # type: ignore[misc]
    """tuspy's URL storage (what a client keeps across restarts), in a dict."""

    def __init__(self) -> None:
        self.urls: dict[str, str] = {}

    def get_item(self, key: str) -> str | None:
        return self.urls.get(key)

    def set_item(self, key: str, value: str) -> None:
        self.urls[key] = value

    def remove_item(self, key: str) -> None:
        self.urls.pop(key, None)


def upload_with_a_break(
    endpoint: str, headers: dict[str, str], path: Path, metadata: dict[str, str]
) -> str:
    """Upload three chunks, drop the uploader (the 'killed' client), then resume with a
    new one that finds the URL in tuspy's URL storage."""
    storage = MemoryStorage()
    with opened(path) as stream, opened(path) as again_stream:
        client = tus_client.TusClient(endpoint, headers=headers)
        first = client.uploader(
            file_stream=stream, chunk_size=CHUNK, metadata=metadata, store_url=True,
            url_storage=storage, upload_checksum=True,
        )  # fmt: skip
        for _ in range(3):
            first.upload_chunk()
        assert first.offset == 3 * CHUNK
        url = str(first.url)
        del first  # the client "dies" here

        again = tus_client.TusClient(endpoint, headers=headers)
        resumed = again.uploader(
            file_stream=again_stream, chunk_size=2 * CHUNK, metadata=metadata, store_url=True,
            url_storage=storage,
        )  # fmt: skip
        assert resumed.url == url  # found in the URL storage, not created anew
        assert resumed.offset == 3 * CHUNK  # asked the server (HEAD)
        resumed.upload()
        assert resumed.offset == SIZE
    return url


def test_room_upload_resumed(fserver: ServerProcess, fhttp: httpx.Client, tmp_path: Path) -> None:
    owner = create_room(fhttp)
    guest = join(fhttp, token=link_token(owner))
    path, data = source(tmp_path)
    metadata = {
        "room": owner.room_id,
        "name": path.name,
        "type": "application/zip",
        "root": root_of_bytes(data),
    }
    url = upload_with_a_break(f"{fserver.base}/api/files/uploads", owner.auth, path, metadata)
    listed = fhttp.get(f"/api/rooms/{owner.room_id}/files", headers=guest.auth).json()["files"]
    [entry] = listed
    assert url.endswith(entry["id"])
    assert (entry["name"], entry["size"], entry["type"]) == (path.name, SIZE, "application/zip")
    assert entry["verified"] is True
    assert entry["sender"] == owner.participant_id
    got = fhttp.get(entry["url"], headers=guest.auth)
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/zip"
    assert sha(got.content) == sha(data)


def test_room_upload_through_the_room_path(
    fserver: ServerProcess, fhttp: httpx.Client, tmp_path: Path
) -> None:
    """The same endpoint under /api/rooms/{id}/uploads (where browsers' cookies go)."""
    owner = create_room(fhttp)
    path, data = source(tmp_path)
    client = tus_client.TusClient(
        f"{fserver.base}/api/rooms/{owner.room_id}/uploads", headers=owner.auth
    )
    with opened(path) as stream:
        uploader = client.uploader(
            file_stream=stream, chunk_size=4 * CHUNK, metadata={"name": path.name}
        )
        uploader.upload()
    assert f"/api/rooms/{owner.room_id}/uploads/" in str(uploader.url)
    [entry] = fhttp.get(f"/api/rooms/{owner.room_id}/files", headers=owner.auth).json()["files"]
    assert sha(fhttp.get(entry["url"], headers=owner.auth).content) == sha(data)


def test_share_upload_resumed(fserver: ServerProcess, fhttp: httpx.Client, tmp_path: Path) -> None:
    created = fhttp.post("/api/shares", json={"ttl": 3600, "max_downloads": 3}).json()
    token = created["link"].split("#", 1)[1]
    path, data = source(tmp_path)
    manage = {"Authorization": f"Bearer {created['manage_token']}"}
    upload_with_a_break(
        created["upload_url"], manage, path, {"share": created["id"], "name": path.name}
    )
    listing = fhttp.post("/api/shares/open", json={"token": token}).json()
    [entry] = listing["files"]
    assert (entry["name"], entry["size"], entry["downloads"]) == (path.name, SIZE, 0)
    assert entry["root"] == root_of_bytes(data)
    assert entry["verified"] is False  # no root was declared, so none was checked
    got = fhttp.get(entry["url"])  # the secret in the URL is all it takes
    assert sha(got.content) == sha(data)
