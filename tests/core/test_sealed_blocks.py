"""core/sealed_blocks.py: an encrypted room's blocks, opened and verified on their own,
the file checked by the offer's root; resume from the verified blocks."""

from __future__ import annotations

import os

from peerlane.core import e2e_file
from peerlane.core.integrity import BLOCK_SIZE, TreeHasher
from peerlane.core.sealed_blocks import SealedBlockReceiver
from peerlane.core.transfer_blocks import (
    DAMAGED,
    MAX_BAD,
    NOT_THE_OFFER,
    Failed,
    Send,
    Verified,
    Write,
)
from peerlane.core.transfer_wire import Control, Data

KEY = e2e_file.FileKey(bytes(range(32)))
CONTENT = os.urandom(2 * BLOCK_SIZE + 5)


def _root(content: bytes) -> str:
    hasher = TreeHasher()
    hasher.update(content)
    return hasher.root()


def _sealed(index: int) -> bytes:
    plain = CONTENT[index * BLOCK_SIZE : (index + 1) * BLOCK_SIZE]
    return e2e_file.seal_block(KEY, index, 3, plain)


def _receiver(**more: object) -> SealedBlockReceiver:
    return SealedBlockReceiver(len(CONTENT), _root(CONTENT), key=KEY, **more)  # type: ignore[arg-type]


def test_sealed_blocks_in_pieces_open_and_the_root_checks_the_file() -> None:
    r = _receiver()
    assert r.start() == [Send(Control("want", 0, False))]  # never the plaintext hashes
    written = b""
    for index in range(3):
        sealed = _sealed(index)
        cut = len(sealed) // 2
        assert r.on_data(Data(index, 0, sealed[:cut])) == []
        out = r.on_data(Data(index, cut, sealed[cut:]))
        assert isinstance(out[0], Write)
        assert out[1] == Send(Control("ok", index))
        written += out[0].data
    assert written == CONTENT
    assert isinstance(out[-1], Verified)
    assert r.finished
    assert r.on_data(Data(0, 0, _sealed(0))) == []


def test_a_tampered_block_is_asked_again_then_fails() -> None:
    r = _receiver()
    bad = bytearray(_sealed(0))
    bad[5] ^= 1
    for _ in range(MAX_BAD):
        assert r.on_data(Data(0, 0, bytes(bad))) == [Send(Control("bad", 0))]
    assert r.on_data(Data(0, 0, bytes(bad))) == [Failed(DAMAGED)]


def test_order_range_hashes_and_a_block_again() -> None:
    assert isinstance(_receiver().on_data(Data(3, 0, b"x"))[0], Failed)
    assert isinstance(_receiver().on_data(Data(0, 7, b"x"))[0], Failed)
    assert isinstance(_receiver().on_control(Control("hashes", 0, "ab" * 32))[0], Failed)
    r = _receiver()
    r.on_data(Data(0, 0, _sealed(0)))
    assert r.on_data(Data(0, 0, _sealed(0))) == [Send(Control("ok", 0))]
    assert r.on_control(Control("end", 0)) == [Send(Control("want", 1, False))]
    r.finished = True
    assert r.on_control(Control("hashes", 0, "")) == []


def test_resume_asks_from_the_first_missing_block_and_a_wrong_root_fails() -> None:
    r = _receiver()
    out = r.on_data(Data(0, 0, _sealed(0)))
    again = _receiver(verified=set(r.verified), unlisted=dict(r.unlisted))
    assert again.start() == [Send(Control("want", 1, False))]
    assert out[0] == Write(0, CONTENT[:BLOCK_SIZE])
    wrong = SealedBlockReceiver(len(CONTENT), "00" * 32, key=KEY)
    for index in range(3):
        last = wrong.on_data(Data(index, 0, _sealed(index)))
    assert isinstance(last[-1], Failed)
    done = _receiver(verified={0, 1, 2}, unlisted=dict.fromkeys(range(3), "00" * 32))
    assert isinstance(done.start()[0], Failed)


def test_the_server_copy_opens_block_by_block_and_a_bad_one_fails() -> None:
    r = _receiver()
    assert r.on_block(1, _sealed(1)) == [Write(1, CONTENT[BLOCK_SIZE : 2 * BLOCK_SIZE])]
    assert r.on_block(1, _sealed(1)) == []  # already written
    assert r.on_block(0, _sealed(0))[0] == Write(0, CONTENT[:BLOCK_SIZE])
    out = r.on_block(2, _sealed(2))
    assert out[0] == Write(2, CONTENT[2 * BLOCK_SIZE :])
    assert isinstance(out[-1], Verified)
    assert r.on_block(0, _sealed(0)) == []  # finished: nothing more
    tampered = bytearray(_sealed(0))
    tampered[0] ^= 1
    assert _receiver().on_block(0, bytes(tampered)) == [Failed(NOT_THE_OFFER)]
    assert _receiver().on_block(0, _sealed(1)) == [Failed(NOT_THE_OFFER)]  # moved
    assert _receiver().on_block(3, _sealed(2)) == [Failed(NOT_THE_OFFER)]  # past the end
    assert _receiver().on_block(0, CONTENT[:BLOCK_SIZE]) == [Failed(NOT_THE_OFFER)]  # clear
