"""The upload write pipeline: order, backpressure, and hashes that match the blob even
when a write fails part-way."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peerlane.core.integrity import BLOCK_SIZE, TreeHasher, block_hashes_of, root_of_bytes
from peerlane.files.pipeline import WritePipeline

PATTERN = os.urandom(12 * 1024 * 1024)


class RecordingWriter:
    """A blob in memory that fails with ENOSPC once it holds ``capacity`` bytes, and
    can be held still (``gate``) to see what the loop does meanwhile."""

    def __init__(self, capacity: int | None = None) -> None:
        self.data = bytearray()
        self.capacity = capacity
        self.gate = threading.Event()
        self.gate.set()

    @property
    def position(self) -> int:
        return len(self.data)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.gate.wait()
        if self.capacity is not None and len(self.data) + len(data) > self.capacity:
            self.data += bytes(data)[: self.capacity - len(self.data)]
            raise OSError(errno.ENOSPC, "no space left on device")
        self.data += data

    def sync(self) -> None: ...

    def truncate(self, size: int) -> None:
        del self.data[size:]

    def close(self) -> None: ...


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def test_writes_and_hashes_everything_in_order() -> None:
    data = os.urandom(3 * BLOCK_SIZE + 12_345)
    writer, hasher, digest = RecordingWriter(), TreeHasher(), hashlib.sha256()

    async with WritePipeline(writer, hasher, digest, max_queued=256 * 1024) as pipeline:
        for batch in pieces(data, 100_000):
            await pipeline.put(pieces(batch, 30_000))
        await pipeline.drain()

    assert bytes(writer.data) == data
    assert hasher.root() == root_of_bytes(data)
    assert digest.digest() == hashlib.sha256(data).digest()


async def test_a_failed_write_leaves_hashes_of_exactly_what_reached_the_blob() -> None:
    data = os.urandom(2 * BLOCK_SIZE)
    capacity = BLOCK_SIZE + 777
    writer, hasher = RecordingWriter(capacity), TreeHasher()

    async def upload() -> None:
        async with WritePipeline(writer, hasher, None, max_queued=BLOCK_SIZE) as pipeline:
            for batch in pieces(data, 256 * 1024):
                await pipeline.put([batch])
            await pipeline.drain()

    with pytest.raises(OSError, match="no space left") as failed:
        await upload()

    assert failed.value.errno == errno.ENOSPC
    assert writer.position == capacity  # later batches were not written after the gap
    assert hasher.length == capacity
    assert hasher.root() == root_of_bytes(data[:capacity])


async def test_the_loop_waits_only_when_too_much_is_queued() -> None:
    writer, hasher = RecordingWriter(), TreeHasher()
    writer.gate.clear()  # the disk is stuck
    async with WritePipeline(writer, hasher, None, max_queued=100) as pipeline:
        await pipeline.put([b"a" * 60])  # under the limit: returns at once
        blocked = asyncio.ensure_future(pipeline.put([b"b" * 60]))
        await asyncio.sleep(0.05)
        assert not blocked.done()  # 120 bytes queued: the loop waits
        writer.gate.set()
        await asyncio.wait_for(blocked, 5)
    assert bytes(writer.data) == b"a" * 60 + b"b" * 60


async def test_leaving_early_still_waits_for_what_was_handed_over() -> None:
    writer, hasher = RecordingWriter(), TreeHasher()
    writer.gate.clear()

    async def upload() -> None:
        async with WritePipeline(writer, hasher, None) as pipeline:
            await pipeline.put([b"x" * 1000])
            raise ConnectionResetError

    task = asyncio.ensure_future(upload())
    await asyncio.sleep(0.05)
    assert not task.done()  # the write is not abandoned behind the caller's back
    writer.gate.set()
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(task, 5)
    assert writer.position == 1000
    assert hasher.length == 1000


class RecordingPool(ThreadPoolExecutor):
    """A real pool that counts the blocks it was given."""

    def __init__(self) -> None:
        super().__init__(2)
        self.blocks = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.blocks += 1
        return super().submit(fn, *args, **kwargs)


async def test_whole_blocks_are_hashed_by_the_pool_and_applied_in_order() -> None:
    data = os.urandom(6 * BLOCK_SIZE + 4321)
    writer, hasher, pool = RecordingWriter(), TreeHasher(), RecordingPool()
    with pool:
        async with WritePipeline(writer, hasher, None, pool=pool) as pipeline:
            for batch in pieces(data, 300_000):  # batches cut across block boundaries
                await pipeline.put(pieces(batch, 70_000))
            await pipeline.drain()
    assert pool.blocks == 6  # every whole block; the last, short one is hashed in order
    assert hasher.block_hashes == block_hashes_of(data)[:6]
    assert hasher.root() == root_of_bytes(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    resumed_at=st.integers(0, 3 * BLOCK_SIZE),
    cuts=st.lists(st.integers(1, 3 * BLOCK_SIZE), min_size=1, max_size=12),
    drains=st.sets(st.integers(0, 11)),
)
def test_any_batches_resumes_and_drains_give_the_hashes_of_the_whole_stream(
    resumed_at: int, cuts: list[int], drains: set[int]
) -> None:
    """An upload resumed anywhere (even mid-block), cut into batches of any size, with a
    drain (a checkpoint) after any of them: the same block hashes, root and checksum as
    hashing the whole stream at once."""
    data = PATTERN[: resumed_at + sum(cuts)]
    before, body = data[:resumed_at], data[resumed_at:]
    whole = resumed_at // BLOCK_SIZE * BLOCK_SIZE
    hasher = TreeHasher.resume(block_hashes_of(before[:whole])[: whole // BLOCK_SIZE])
    hasher.update(before[whole:])
    writer, digest = RecordingWriter(), hashlib.sha256()

    async def upload() -> None:
        async with WritePipeline(writer, hasher, digest, max_queued=2 * BLOCK_SIZE) as pipeline:
            start = 0
            for i, size in enumerate(cuts):
                await pipeline.put(pieces(body[start : start + size], 100_000))
                start += size
                if i in drains:
                    await pipeline.drain()
                    assert hasher.length == resumed_at + start  # a drain means hashed
            await pipeline.drain()

    asyncio.run(upload())
    assert bytes(writer.data) == body
    assert digest.digest() == hashlib.sha256(body).digest()
    assert hasher.final_block_hashes() == block_hashes_of(data)
    assert hasher.length == len(data)


def test_a_block_hash_is_added_only_at_a_block_start() -> None:
    hasher = TreeHasher()
    hasher.add_block_hash(hashlib.sha256(PATTERN[:BLOCK_SIZE]).digest())
    assert hasher.at_block_start
    assert hasher.length == BLOCK_SIZE
    hasher.update(b"x")
    with pytest.raises(ValueError, match="block start"):
        hasher.add_block_hash(bytes(32))
    with pytest.raises(ValueError, match="32 bytes"):
        TreeHasher().add_block_hash(b"short")
