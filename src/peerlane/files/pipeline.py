"""Writing and hashing an upload's bytes on threads of their own, behind a bounded queue.

The event loop receives the body and hands each buffer to the upload's writer thread,
which appends it to the blob and passes what reached the file on to the upload's hasher
thread. The hasher cuts the bytes into integrity blocks and has each whole block hashed
by a small process-wide pool (one thread per core: block hashes are independent, and
SHA-256 is the most expensive stage, so one thread would leave the second core idle
while the loop receives), then adds the hashes in order. Bytes that do not start or
complete a block on their own -- an upload resumed mid-block, the last part before a
:meth:`WritePipeline.drain` -- are hashed in order by the hasher itself. The loop does
not wait for any of them until :data:`MAX_QUEUED` bytes are queued (backpressure, so
memory stays constant; 16 MiB absorbs a writer's stall of a few tens of milliseconds, a
sync or the kernel reclaiming page cache, without pausing the receive). Compared with
two ``asyncio.to_thread`` calls per buffer, the threads save about 20 % of the server's
CPU per GB (docs/benchmarks.md, "File upload").

Because the hasher sees only bytes that were written, the hashes always describe the
blob exactly, even after a failed write: the first error stops all later writes and is
raised by the next :meth:`WritePipeline.put` or :meth:`WritePipeline.drain`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from peerlane.core.integrity import BLOCK_SIZE, TreeHasher
from peerlane.files.store import BlobWriter

MAX_QUEUED = 16 * 1024 * 1024

# What the queues carry: a batch (its parts, and the size the loop counted), FLUSH (hash
# everything held back: drain() is waiting) or None (the end).
_Batch = tuple[list[bytes], int]
FLUSH = "flush"

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def block_pool() -> ThreadPoolExecutor:
    """The threads that hash whole blocks, shared by every upload (one per core)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(os.cpu_count() or 2, thread_name_prefix="peerlane-hash")
        return _pool


def _hash_block(views: list[memoryview]) -> bytes:
    digest = hashlib.sha256()
    for view in views:
        digest.update(view)
    return digest.digest()


class WritePipeline:
    """Appends buffers to ``writer`` and feeds the same bytes to ``hasher`` (and
    ``digest``, the tus checksum of this request, if any), in order, off the loop.

    Use it as an async context manager: leaving it waits for the queued work, so no
    write is ever left running behind the caller's back.
    """

    def __init__(
        self,
        writer: BlobWriter,
        hasher: TreeHasher,
        digest: hashlib._Hash | None,
        *,
        max_queued: int = MAX_QUEUED,
        pool: ThreadPoolExecutor | None = None,
    ) -> None:
        self._writer = writer
        self._hasher = hasher
        self._digest = digest
        self._max_queued = max_queued
        self._pool = pool if pool is not None else block_pool()
        self._queue: queue.SimpleQueue[_Batch | str | None] = queue.SimpleQueue()
        self._written: queue.SimpleQueue[_Batch | str | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._queued = 0  # bytes handed over and not yet written and hashed
        # Of those, the bytes the hasher holds back until their block is whole: they wait
        # for the loop's next bytes, so the loop must not wait for them (see put).
        self._held = 0
        self._waiter: asyncio.Future[None] | None = None
        self._wake_at = 0
        self._wake_counts_held = False
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> WritePipeline:
        self._loop = asyncio.get_running_loop()
        for work, name in ((self._write_all, "write"), (self._hash_all, "hash")):
            threading.Thread(target=work, name=f"peerlane-upload-{name}", daemon=True).start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._queue.put(None)
        # Shielded: even a cancelled request waits for the bytes it handed over.
        await asyncio.shield(self._wait_below(1, held_counts=True))

    async def put(self, parts: list[bytes]) -> None:
        """Queue ``parts`` for writing; wait while too much is queued already."""
        self._raise_error()
        if not parts:
            return
        size = sum(len(part) for part in parts)
        with self._lock:
            self._queued += size
        self._queue.put((parts, size))
        if self._queued - self._held > self._max_queued:
            await self._wait_below(self._max_queued // 2 + 1, held_counts=False)
            self._raise_error()

    async def drain(self) -> None:
        """Wait until everything queued is written and hashed; raise a failed write."""
        self._queue.put(FLUSH)
        await self._wait_below(1, held_counts=True)
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    async def _wait_below(self, limit: int, *, held_counts: bool) -> None:
        """Wait until fewer than ``limit`` bytes are queued (not counting the held-back
        ones unless ``held_counts``: a flush hashes those)."""
        assert self._loop is not None, "use the pipeline as an async context manager"
        while True:
            with self._lock:
                if self._queued - (0 if held_counts else self._held) < limit:
                    return
                waiter = self._waiter = self._loop.create_future()
                self._wake_at, self._wake_counts_held = limit, held_counts
            await waiter

    # -- on the worker threads --

    def _write_all(self) -> None:
        """The writer: appends each batch, then passes what reached the file on."""
        while (item := self._queue.get()) is not None:
            if isinstance(item, str):
                self._written.put(item)
                continue
            parts, size = item
            written: list[bytes] = []
            if self._error is None:
                try:
                    for part in parts:
                        before = self._writer.position
                        try:
                            self._writer.write(part)
                        except OSError:
                            written.append(part[: self._writer.position - before])
                            raise
                        written.append(part)
                except BaseException as exc:
                    self._error = exc
            self._written.put((written, size))
        self._written.put(None)

    def _hash_all(self) -> None:
        """The hasher: hashes what was written, while the writer goes on."""
        BlockHashing(self._hasher, self._digest, self._pool, self._fail, self._account).run(
            self._written
        )

    def _fail(self, exc: BaseException) -> None:
        self._error = self._error or exc

    def _account(self, hashed: int, held: int) -> None:
        """``hashed`` bytes are done; ``held`` more (or fewer) are held back."""
        assert self._loop is not None
        with self._lock:
            self._queued -= hashed
            self._held += held
            waiter = self._waiter
            counted = self._queued - (0 if self._wake_counts_held else self._held)
            if waiter is None or counted >= self._wake_at:
                return
            self._waiter = None
        self._loop.call_soon_threadsafe(_wake, waiter)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class BlockHashing:
    """The hasher thread's work: cut the written bytes into blocks, have whole blocks
    hashed by the pool, and apply everything to the :class:`TreeHasher` in order.

    A block is hashed by the pool only if all its bytes arrive before anyone waits for
    it; a block begun with :meth:`TreeHasher.update` (an upload resumed mid-block, or
    bytes flushed for a drain) is finished the same way. Bytes are reported done to the
    loop (``account``) once applied to the hasher, and as held while they wait for the
    rest of their block.
    """

    def __init__(
        self,
        hasher: TreeHasher,
        digest: hashlib._Hash | None,
        pool: ThreadPoolExecutor,
        fail: Callable[[BaseException], None],
        account: Callable[[int, int], None],
    ) -> None:
        self._hasher = hasher
        self._digest = digest
        self._pool = pool
        self._fail = fail
        self._account = account
        self._offset = hasher.length % BLOCK_SIZE  # into the current block
        self._sequential = self._offset != 0  # the current block goes through update()
        self._held: list[memoryview] = []  # the current block's bytes, for the pool
        self._held_size = 0
        # In order, with their size: a block's hash to come, or bytes to update with.
        self._steps: deque[tuple[Future[bytes] | list[memoryview], int]] = deque()

    def run(self, source: queue.SimpleQueue[_Batch | str | None]) -> None:
        while True:
            if self._steps:
                try:
                    item = source.get_nowait()
                except queue.Empty:
                    self._apply(wait=True)  # nothing new: wait for the oldest block
                    continue
            else:
                item = source.get()
            if item is None:
                break
            if isinstance(item, str):
                self._flush()
            else:
                self._take(*item)
            self._apply(wait=False)
        self._flush()
        while self._steps:
            self._apply(wait=True)

    def _take(self, parts: list[bytes], size: int) -> None:
        held = self._held_size
        for part in parts:
            size -= len(part)
            if self._digest is not None:
                self._digest.update(part)
            view = memoryview(part)
            while view:
                piece, view = view[: BLOCK_SIZE - self._offset], view[BLOCK_SIZE - self._offset :]
                if self._sequential:
                    self._steps.append(([piece], len(piece)))
                else:
                    self._held.append(piece)
                    self._held_size += len(piece)
                self._offset += len(piece)
                if self._offset == BLOCK_SIZE:
                    if not self._sequential:
                        block = self._pool.submit(_hash_block, self._held)
                        self._steps.append((block, self._held_size))
                        self._held, self._held_size = [], 0
                    self._offset, self._sequential = 0, False
        # What was not written (a failed write) is never hashed: done at once.
        self._account(size, self._held_size - held)

    def _flush(self) -> None:
        """Someone waits for everything: what is held is hashed here, in order."""
        if self._held:
            self._steps.append((self._held, self._held_size))
            self._account(0, -self._held_size)
            self._held, self._held_size, self._sequential = [], 0, True

    def _apply(self, *, wait: bool) -> None:
        """Apply the steps at the head that are ready (waiting for the first, if
        ``wait``)."""
        while self._steps:
            step, size = self._steps[0]
            try:
                if isinstance(step, Future):
                    if not wait and not step.done():
                        return
                    self._hasher.add_block_hash(step.result())
                else:
                    for view in step:
                        self._hasher.update(view)
            except BaseException as exc:
                self._fail(exc)
            self._steps.popleft()
            self._account(size, 0)
            wait = False
