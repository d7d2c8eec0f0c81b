"""peer/server_copy.py in an end-to-end encrypted room, against a real server process: the
terminal uploads a file's sealed blocks with nothing about it in the tus metadata (as
the browser does), the server's copy is those blocks end to end, and a Range download
from a sealed block resumes a partial file whose first blocks are verified already."""

from __future__ import annotations

import http.client
import os
import sqlite3
import urllib.request
from pathlib import Path

import httpx
import pytest

from peerlane.core import e2e, e2e_file
from peerlane.core.integrity import BLOCK_SIZE, root_of_bytes
from peerlane.core.transfer_blocks import Verified, Write
from peerlane.peer import http_api, server_copy
from peerlane.peer.partial_file import PartialFile
from support import ServerProcess

MARKER = b"canary-sealed-" + os.urandom(6).hex().encode()


def _encrypted_room(server: ServerProcess) -> http_api.Membership:
    """A room made as the browser makes one (its name sealed), joined by its creator."""
    key = e2e.RoomKey(os.urandom(32))
    body = {
        "display_name": "alice",
        "name": e2e.seal_room_name(key, os.urandom(12), "Drop"),
        "session": "bearer",
    }
    answer = httpx.post(f"{server.base}/api/rooms", json=body)
    assert answer.status_code == 201, answer.text
    return http_api._membership(server.base, answer.json())


def test_the_sealed_copy_goes_up_and_a_range_download_resumes_it(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = _encrypted_room(server)
    content = MARKER * 1000 + os.urandom(3 * BLOCK_SIZE + 7)
    source = tmp_path / f"{MARKER.decode()}.bin"
    source.write_bytes(content)
    key = e2e_file.FileKey(os.urandom(32))
    sent: list[int] = []
    # Chunks that end inside a sealed block: the next one starts from the same block.
    monkeypatch.setattr(server_copy, "CHUNK_BYTES", 3 * BLOCK_SIZE // 2)
    file_id = server_copy.upload(member, source, {"room": member.room_id}, sent.append, key)
    count = e2e_file.block_count(len(content))
    sealed = [
        e2e_file.seal_block(key, i, count, content[i * BLOCK_SIZE : (i + 1) * BLOCK_SIZE])
        for i in range(count)
    ]
    assert sum(sent) == e2e_file.sealed_size(len(content)) == sum(map(len, sealed))

    # The server holds the sealed blocks end to end, and nothing of the name or contents.
    stored = [p for p in (server.data_dir / "files").rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in stored] == [b"".join(sealed)]
    hits = [p for p in server.data_dir.rglob("*") if p.is_file() and MARKER in p.read_bytes()]
    assert hits == []
    with sqlite3.connect(server.data_dir / "peerlane.db") as db:
        [(metadata,)] = db.execute("SELECT upload_metadata FROM files").fetchall()
    assert "name" not in metadata
    assert "root" not in metadata

    # A receiver that has blocks 0 and 1 (a run killed midway) fetches from sealed block 2.
    partial = PartialFile(tmp_path / "got" / "file.bin", root_of_bytes(content), len(content))
    first = partial.receiver(key.encoded())
    for block in (0, 1):
        [write] = first.on_block(block, sealed[block])
        assert isinstance(write, Write)
        partial.write(write.block, write.data)
    partial.save(first)
    receiver = partial.receiver(key.encoded())
    assert receiver.have == 2
    fetched: list[int] = []

    def take(block: int, data: bytes) -> bool:
        fetched.append(block)
        for out in receiver.on_block(block, data):
            if isinstance(out, Write):
                partial.write(out.block, out.data)
            elif isinstance(out, Verified):
                partial.finish(overwrite=False)
            else:
                raise AssertionError(out)
        return not receiver.finished

    server_copy.download(member, file_id, "", receiver.have, take, sealed=True)
    assert fetched == [2, 3]
    assert receiver.finished
    assert partial.target.read_bytes() == content


def test_a_sealed_upload_broken_midway_goes_on_from_the_servers_offset(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = _encrypted_room(server)
    content = os.urandom(4 * BLOCK_SIZE + 9)
    source = tmp_path / "film.bin"
    source.write_bytes(content)
    key = e2e_file.FileKey(os.urandom(32))
    monkeypatch.setattr(server_copy, "CHUNK_BYTES", 3 * BLOCK_SIZE // 2)
    monkeypatch.setattr(server_copy, "BACKOFF_S", (0, 0, 0, 0, 0))
    real_open, patches = server_copy._open, []

    def lossy(request: urllib.request.Request) -> http.client.HTTPResponse:
        # The second PATCH reaches the server, but its answer is lost: the uploader
        # asks the server's offset (HEAD) and goes on from there, mid sealed block.
        answer = real_open(request)
        if request.get_method() == "PATCH":
            patches.append(request.headers.get("Upload-offset"))
            if len(patches) == 2:
                answer.close()
                raise ConnectionResetError("the answer was lost")
        return answer

    monkeypatch.setattr(server_copy, "_open", lossy)
    server_copy.upload(member, source, {"room": member.room_id}, lambda n: None, key)
    count = e2e_file.block_count(len(content))
    sealed = b"".join(
        e2e_file.seal_block(key, i, count, content[i * BLOCK_SIZE : (i + 1) * BLOCK_SIZE])
        for i in range(count)
    )
    chunk = 3 * BLOCK_SIZE // 2
    assert patches == [str(n * chunk) for n in range(len(patches))]  # none sent twice
    stored = [p for p in (server.data_dir / "files").rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in stored] == [sealed]
