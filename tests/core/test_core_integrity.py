"""The integrity scheme (core/integrity.py): blocks of 1 MiB, root = sha256 of the
concatenated block hashes. Plain functions, no event loop."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peerlane.core import integrity
from peerlane.core.integrity import BLOCK_SIZE, TreeHasher, block_hashes_of, root_of_bytes

# The test vector published in docs/protocol.md ("Files → integrity").
VECTOR_ROOT = "933018179a539dfcd9b82a0799438882080b97dfc7afc0743e68e0667cac5ada"
VECTOR_BLOCKS = [
    "1c59b8670027384143781a8a8bff2f3b44bd8818d0f53b13b064c2375a1afe38",
    "d50d98efacff4cc59dedce2c1b0add120d2c6264418cc699883fa1fd389ac7a9",
    "1447f357acdcb902cdbec4063c62e72fedab69627d838ed546678f766e79f5e7",
]


def reference_root(data: bytes) -> str:
    """The scheme written out the slow, obvious way."""
    blocks = [data[i : i + BLOCK_SIZE] for i in range(0, len(data), BLOCK_SIZE)]
    hashes = b"".join(hashlib.sha256(block).digest() for block in blocks)
    return hashlib.sha256(hashes).hexdigest()


def test_published_vector() -> None:
    data = integrity.pattern()
    assert len(data) == 2 * BLOCK_SIZE + BLOCK_SIZE // 2 == 2_621_440
    assert data[:4] == bytes([7, 38, 69, 100])
    assert data[251] == 7  # the pattern repeats every 251 bytes
    assert [h.hex() for h in block_hashes_of(data)] == VECTOR_BLOCKS
    assert root_of_bytes(data) == VECTOR_ROOT == reference_root(data)


def test_published_vector_in_docs() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    assert VECTOR_ROOT in doc
    for block in VECTOR_BLOCKS:
        assert block in doc


def test_empty_file_has_no_blocks_and_the_empty_root() -> None:
    assert block_hashes_of(b"") == []
    assert root_of_bytes(b"") == hashlib.sha256(b"").hexdigest()
    assert TreeHasher().root() == hashlib.sha256(b"").hexdigest()


def test_exact_multiple_has_no_empty_last_block() -> None:
    data = bytes(2 * BLOCK_SIZE)
    assert len(block_hashes_of(data)) == 2
    assert root_of_bytes(data) == reference_root(data)


def test_one_byte_more_makes_a_short_block() -> None:
    data = bytes(BLOCK_SIZE + 1)
    hashes = block_hashes_of(data)
    assert len(hashes) == 2
    assert hashes[1] == hashlib.sha256(b"\0").digest()


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(0, 3 * BLOCK_SIZE + 17),
    cuts=st.lists(st.integers(1, 700_000), max_size=12),
)
def test_incremental_equals_one_shot(size: int, cuts: list[int]) -> None:
    data = integrity.pattern(size)
    hasher = TreeHasher()
    at = 0
    for cut in cuts:
        hasher.update(data[at : at + cut])
        at += cut
    hasher.update(data[at:])
    assert hasher.length == size
    assert hasher.root() == reference_root(data)


def test_root_does_not_end_the_hasher() -> None:
    hasher = TreeHasher()
    hasher.update(b"abc")
    first = hasher.root()
    hasher.update(b"def")
    assert first == root_of_bytes(b"abc")
    assert hasher.root() == root_of_bytes(b"abcdef")


def test_resume_from_saved_block_hashes() -> None:
    data = integrity.pattern(3 * BLOCK_SIZE + 1234)
    cut = 2 * BLOCK_SIZE + 999
    first = TreeHasher()
    first.update(data[:cut])
    saved = first.block_hashes
    assert len(saved) == 2
    resumed = TreeHasher.resume(saved)
    resumed.update(data[2 * BLOCK_SIZE : cut])  # the unfinished block is re-read
    resumed.update(data[cut:])
    assert resumed.root() == root_of_bytes(data)
    assert first.blocks_since(1) == saved[1:]


def test_is_root() -> None:
    assert integrity.is_root(VECTOR_ROOT)
    assert not integrity.is_root(VECTOR_ROOT.upper())
    assert not integrity.is_root(VECTOR_ROOT[:-1])
    assert not integrity.is_root("g" * 64)


def test_resume_refuses_a_block_hash_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TreeHasher.resume([bytes(32), bytes(31)])


def test_blocks_hashed_elsewhere_give_the_same_root() -> None:
    # The server hashes whole blocks in parallel and adds their hashes in order.
    data = integrity.pattern(2 * BLOCK_SIZE + 10)
    hasher = TreeHasher()
    assert hasher.at_block_start
    for start in (0, BLOCK_SIZE):
        hasher.add_block_hash(hashlib.sha256(data[start : start + BLOCK_SIZE]).digest())
    assert hasher.block_count == 2
    assert hasher.length == 2 * BLOCK_SIZE
    hasher.update(data[2 * BLOCK_SIZE :])
    assert not hasher.at_block_start
    assert hasher.block_count == 2  # the unfinished block is not counted yet
    assert hasher.root() == root_of_bytes(data)


def test_a_block_hash_is_added_only_at_a_block_start_and_only_whole() -> None:
    hasher = TreeHasher()
    with pytest.raises(ValueError, match="32 bytes"):
        hasher.add_block_hash(bytes(16))
    hasher.update(b"x")
    with pytest.raises(ValueError, match="block start"):
        hasher.add_block_hash(bytes(32))
    # Neither refusal changed the state.
    assert hasher.block_count == 0
    assert hasher.length == 1
    assert hasher.root() == root_of_bytes(b"x")
