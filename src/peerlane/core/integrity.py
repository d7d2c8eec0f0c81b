"""The file integrity scheme shared by the server, the browser and the CLI (sans-I/O).

A file is cut into blocks of :data:`BLOCK_SIZE` bytes (1 MiB; the last block is shorter,
an empty file has no blocks). Each block is hashed with SHA-256, and the file's **root**
is the SHA-256 of the block hashes concatenated in order (32 raw bytes each), written as
64 lowercase hex digits::

    block_hashes = [sha256(block) for block in blocks]
    root = sha256(b"".join(block_hashes)).hexdigest()

so an empty file's root is ``sha256(b"")``. Block hashes let a receiver check a transfer
block by block (a peer-to-peer transfer can re-fetch one bad block); the root names the
whole file. ``docs/protocol.md`` ("Files → integrity") is the normative text and carries
the test vector, whose input :func:`pattern` makes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

BLOCK_SIZE = 1024 * 1024
DIGEST_SIZE = 32
ROOT_PATTERN = re.compile(r"^[0-9a-f]{64}$")

# The published test vector: TEST_VECTOR_SIZE bytes where byte i is (i * 31 + 7) % 251.
TEST_VECTOR_SIZE = 2 * BLOCK_SIZE + BLOCK_SIZE // 2


def root_of(block_hashes: Iterable[bytes]) -> str:
    """The root (hex) of a file with these block hashes, in order."""
    digest = hashlib.sha256()
    for block_hash in block_hashes:
        digest.update(block_hash)
    return digest.hexdigest()


def is_root(text: str) -> bool:
    """True if ``text`` is written like a root: 64 lowercase hex digits."""
    return ROOT_PATTERN.fullmatch(text) is not None


class TreeHasher:
    """Hashes a stream fed in pieces of any size; equal to hashing it at once.

    ``resume`` rebuilds the state of a stream that was cut off: pass the hashes of the
    whole blocks already seen and then :meth:`update` with the bytes of the unfinished
    block (at most ``BLOCK_SIZE - 1``), so a restarted upload need not re-read the file.
    """

    def __init__(self) -> None:
        self._blocks: list[bytes] = []
        self._current = hashlib.sha256()
        self._filled = 0  # bytes in the current, unfinished block
        self._length = 0

    @classmethod
    def resume(cls, block_hashes: Sequence[bytes]) -> TreeHasher:
        hasher = cls()
        for block_hash in block_hashes:
            if len(block_hash) != DIGEST_SIZE:
                raise ValueError("a block hash is 32 bytes")
        hasher._blocks = list(block_hashes)
        hasher._length = len(block_hashes) * BLOCK_SIZE
        return hasher

    @property
    def length(self) -> int:
        """Bytes hashed so far."""
        return self._length

    @property
    def block_hashes(self) -> list[bytes]:
        """Hashes of the whole blocks so far (not the unfinished one); a copy."""
        return list(self._blocks)

    @property
    def block_count(self) -> int:
        return len(self._blocks)

    def blocks_since(self, index: int) -> list[bytes]:
        """Hashes of the whole blocks from ``index`` on (to persist new ones cheaply)."""
        return self._blocks[index:]

    def update(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            take = min(len(view), BLOCK_SIZE - self._filled)
            self._current.update(view[:take])
            self._filled += take
            self._length += take
            view = view[take:]
            if self._filled == BLOCK_SIZE:
                self._blocks.append(self._current.digest())
                self._current = hashlib.sha256()
                self._filled = 0

    @property
    def at_block_start(self) -> bool:
        """True when the next byte starts a block (nothing of the current one is seen)."""
        return self._filled == 0

    def add_block_hash(self, block_hash: bytes) -> None:
        """Count a whole block hashed elsewhere (so blocks can be hashed in parallel);
        only at a block start, as :meth:`update` would otherwise mix it in."""
        if self._filled:
            raise ValueError("a block hash can only be added at a block start")
        if len(block_hash) != DIGEST_SIZE:
            raise ValueError("a block hash is 32 bytes")
        self._blocks.append(block_hash)
        self._length += BLOCK_SIZE

    def final_block_hashes(self) -> list[bytes]:
        """Every block hash, the unfinished block included; the hasher is unchanged."""
        if self._filled:
            return [*self._blocks, self._current.copy().digest()]
        return list(self._blocks)

    def root(self) -> str:
        """The root of everything hashed so far; the hasher can go on afterwards."""
        return root_of(self.final_block_hashes())


def block_hashes_of(data: bytes) -> list[bytes]:
    """The block hashes of a whole file held in memory (for tests and small files)."""
    hasher = TreeHasher()
    hasher.update(data)
    return hasher.final_block_hashes()


def root_of_bytes(data: bytes) -> str:
    """The root of a whole file held in memory."""
    return root_of(block_hashes_of(data))


def pattern(size: int = TEST_VECTOR_SIZE) -> bytes:
    """The deterministic bytes of the published test vector: byte i is (31 i + 7) % 251."""
    pattern = bytes((i * 31 + 7) % 251 for i in range(251))
    repeats, rest = divmod(size, 251)
    return pattern * repeats + pattern[:rest]
