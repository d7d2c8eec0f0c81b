"""End-to-end encrypted files (core/e2e_file.py): the checked-in vectors, each block
checked on its own, every failure as its typed error, sizes and Range spans."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from e2e_vectors import VECTORS_PATH, fixed
from peerlane.core import e2e, e2e_file, integrity

FILES: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))["files"]
KEY = e2e_file.FileKey(fixed("file key a"))
MIB = e2e_file.BLOCK_SIZE
ERRORS = {
    "malformed": e2e.Malformed,
    "wrong_key": e2e.WrongKey,
    "auth_failed": e2e.AuthFailed,
    "bad_key": e2e.BadKey,
}


def test_file_key_vectors() -> None:
    for case in FILES["keys"]:
        key = e2e_file.FileKey.decode(case["secret"])
        assert key.encoded() == case["secret"]
        assert key.kid == case["kid"]
        assert key.block_key.hex() == case["block_key"]
        assert key.metadata_key.hex() == case["metadata_key"]


@pytest.mark.parametrize("case", FILES["sizes"], ids=lambda c: str(c["size"]))
def test_size_vectors(case: dict[str, int]) -> None:
    assert e2e_file.block_count(case["size"]) == case["blocks"]
    assert e2e_file.sealed_size(case["size"]) == case["sealed"]
    assert e2e_file.plain_size(case["sealed"]) == case["size"]


@pytest.mark.parametrize("case", FILES["blocks"], ids=lambda c: f"{c['size']}#{c['index']}")
def test_block_vectors(case: dict[str, Any]) -> None:
    key = e2e_file.FileKey.decode(case["key"])
    index, count = case["index"], case["count"]
    plain = integrity.pattern(case["size"])[index * MIB : (index + 1) * MIB]
    assert e2e_file.block_nonce(index).hex() == case["nonce"]
    assert e2e_file.block_aad(index, count).hex() == case["aad"]
    assert e2e_file.sealed_block_span(index, case["size"]) == (case["offset"], case["length"])
    sealed = e2e_file.seal_block(key, index, count, plain)
    assert len(sealed) == case["length"]
    assert hashlib.sha256(sealed).hexdigest() == case["sealed_sha256"]
    assert sealed[-16:].hex() == case["tag"]
    if "sealed" in case:
        assert sealed.hex() == case["sealed"]
    assert e2e_file.open_block(key, index, count, sealed) == plain


@pytest.mark.parametrize("case", FILES["metadata"], ids=lambda c: c["nonce"])
def test_metadata_vectors(case: dict[str, Any]) -> None:
    key = e2e_file.FileKey.decode(case["key"])
    nonce = e2e.b64u_decode(case["nonce"])
    assert e2e_file.seal_file_metadata(key, nonce, case["metadata"]) == case["envelope"]
    assert e2e_file.open_file_metadata(key, case["envelope"]) == case["metadata"]


def run_file_error(case: dict[str, Any]) -> object:
    if case["op"] == "decode_key":
        return e2e_file.FileKey.decode(case["key"])
    key = e2e_file.FileKey.decode(case["key"])
    if case["op"] == "open_metadata":
        return e2e_file.open_file_metadata(key, case["envelope"])
    assert case["op"] == "open_block"
    return e2e_file.open_block(key, case["index"], case["count"], bytes.fromhex(case["sealed"]))


@pytest.mark.parametrize("case", FILES["errors"], ids=lambda c: f"{c['op']}: {c['label']}")
def test_file_error_vectors(case: dict[str, Any]) -> None:
    with pytest.raises(ERRORS[case["code"]]) as info:
        run_file_error(case)
    assert info.value.code == case["code"]


def test_a_whole_block_moved_to_another_block_count_fails() -> None:
    # A whole block can stand anywhere, so only the AAD's block count tells a file
    # cut short (or grown) from the real one.
    block = integrity.pattern(MIB)
    sealed = e2e_file.seal_block(KEY, 0, 2, block)
    assert e2e_file.open_block(KEY, 0, 2, sealed) == block
    with pytest.raises(e2e.AuthFailed):
        e2e_file.open_block(KEY, 0, 1, sealed)
    with pytest.raises(e2e.AuthFailed):
        e2e_file.open_block(KEY, 0, 3, sealed)


@given(size=st.integers(0, 10 * MIB + 17))
def test_sizes_round_trip(size: int) -> None:
    sealed = e2e_file.sealed_size(size)
    assert e2e_file.plain_size(sealed) == size
    count = e2e_file.block_count(size)
    spans = [e2e_file.sealed_block_span(i, size) for i in range(count)]
    assert sum(length for _, length in spans) == sealed
    assert all(a[0] + a[1] == b[0] for a, b in itertools.pairwise(spans))


@pytest.mark.parametrize("sealed", [-1, 1, 16, e2e_file.SEALED_BLOCK_SIZE + 16])
def test_impossible_sealed_sizes(sealed: int) -> None:
    with pytest.raises(e2e.Malformed):
        e2e_file.plain_size(sealed)


def test_bad_inputs() -> None:
    with pytest.raises(e2e.Malformed):
        e2e_file.block_count(-1)
    with pytest.raises(e2e.BadKey):
        e2e_file.FileKey(bytes(31))
    with pytest.raises(e2e.Malformed):
        e2e_file.sealed_block_span(1, 5)
    with pytest.raises(e2e.Malformed):  # an empty last block: an empty file has none
        e2e_file.seal_block(KEY, 0, 1, b"")
    with pytest.raises(e2e.Malformed):
        e2e_file.seal_block(KEY, 0, 1, bytes(MIB + 1))
    with pytest.raises(e2e.Malformed):
        e2e_file.seal_block(KEY, 0, 2**64, b"x")
    with pytest.raises(e2e.Malformed):
        e2e_file.open_block(KEY, -1, 1, bytes(20))


def test_metadata_that_is_not_json_is_malformed() -> None:
    bad = e2e.seal(KEY.metadata_key, KEY.kid, bytes(12), b"\xff", e2e_file.FILE_METADATA_AAD)
    with pytest.raises(e2e.Malformed, match="JSON"):
        e2e_file.open_file_metadata(KEY, bad)
    # A room's chat envelope is not a file's metadata, even under the same kid's form.
    with pytest.raises(e2e.Malformed):
        e2e_file.open_file_metadata(KEY, "not sealed")
