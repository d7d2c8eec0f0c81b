"""LocalFileStore: ids only, unfinished vs complete, atomic completion, ranges."""

from __future__ import annotations

from pathlib import Path

import pytest

from peerlane.files.local import READ_CHUNK, LocalFileStore
from peerlane.files.store import BlobLost

ID = "abcdefghijklmnopqrstuv"


@pytest.fixture
async def files(tmp_path: Path) -> LocalFileStore:
    store = LocalFileStore(tmp_path / "files")
    await store.start()
    return store


async def test_lifecycle(files: LocalFileStore) -> None:
    await files.create(ID)
    assert await files.size(ID) is None  # unfinished: not there for readers
    writer = await files.open_append(ID, 0)
    writer.write(b"hello ")
    writer.write(b"world, and more")
    writer.truncate(11)  # bytes past the saved offset are dropped
    writer.sync()
    writer.close()
    assert await files.read_unfinished(ID, 6, 11) == b"world"
    writer = await files.open_append(ID, 5)  # cut back to the recorded offset
    writer.write(b"!")
    writer.close()
    await files.complete(ID)
    assert await files.size(ID) == 6
    assert b"".join([c async for c in files.read_range(ID, 0, 6)]) == b"hello!"
    assert b"".join([c async for c in files.read_range(ID, 2, 4)]) == b"ll"
    assert await files.blob_ids() == [ID]
    assert await files.usage() == 6
    assert (files.root / ID[:2] / ID).is_file()
    await files.delete(ID)
    await files.delete(ID)  # nothing left: no error
    assert await files.blob_ids() == []


async def test_lost_bytes(files: LocalFileStore) -> None:
    with pytest.raises(BlobLost):
        await files.open_append(ID, 0)
    await files.create(ID)
    with pytest.raises(BlobLost):
        await files.open_append(ID, 10)  # shorter than the recorded offset
    with pytest.raises(BlobLost):
        await files.read_unfinished(ID, 0, 10)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a/b", "short", "x" * 65, "a\x00" * 10, ""])
async def test_only_ids_become_paths(files: LocalFileStore, bad: str) -> None:
    with pytest.raises(ValueError, match="blob id"):
        await files.create(bad)
    with pytest.raises(ValueError, match="blob id"):
        await files.delete(bad)


async def test_large_ranges_stream_in_bounded_chunks(files: LocalFileStore) -> None:
    data = bytes(range(256)) * (3 * READ_CHUNK // 256 + 7)
    await files.create(ID)
    writer = await files.open_append(ID, 0)
    writer.write(data)
    writer.close()
    await files.complete(ID)
    chunks = [c async for c in files.read_range(ID, 1, len(data))]
    assert max(len(c) for c in chunks) <= READ_CHUNK
    assert b"".join(chunks) == data[1:]


async def test_foreign_files_are_not_blobs(files: LocalFileStore) -> None:
    (files.root / "filler").write_bytes(b"x")
    (files.root / "zz").mkdir()
    (files.root / "zz" / "not-a-blob").write_bytes(b"x")
    assert await files.blob_ids() == []
    free = await files.free_bytes()
    assert free is not None
    assert free > 0
