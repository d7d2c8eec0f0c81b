"""core.transfer_blocks: a sender and a receiver joined by an in-memory ordered channel,
every frame going through core.transfer_wire's encoding, as on a real data channel."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable

from peerlane.core import transfer_blocks as tb
from peerlane.core import transfer_wire as tw
from peerlane.core.integrity import BLOCK_SIZE, block_hashes_of, root_of_bytes

SIZE = 5 * BLOCK_SIZE + 12345
FILE = bytes((i * 31 + 7) % 251 for i in range(SIZE))
HASHES = [h.hex() for h in block_hashes_of(FILE)]
ROOT = root_of_bytes(FILE)

Tamper = Callable[[int, bytes], bytes]


class Wire:
    """Both ends and the channel between them; counts the file bytes sent."""

    def __init__(self, receiver: tb.BlockReceiver, tamper: Tamper = lambda _b, p: p) -> None:
        self.receiver = receiver
        self.sender = tb.BlockSender(HASHES)
        self.tamper = tamper
        self.to_sender: deque[str] = deque()
        self.to_receiver: deque[str | bytes] = deque()
        self.disk = bytearray(SIZE)
        self.outputs: list[tb.Output] = []
        self.sent_bytes = 0

    def take(self, outputs: list[tb.Output]) -> None:
        for out in outputs:
            self.outputs.append(out)
            if isinstance(out, tb.Send):
                self.to_sender.append(out.control.encode())
            elif isinstance(out, tb.Write):
                self.disk[out.block * BLOCK_SIZE : out.block * BLOCK_SIZE + len(out.data)] = (
                    out.data
                )

    def run(self, max_frames: int | None = None) -> None:
        self.take(self.receiver.start())
        frames = 0
        while self.to_sender or self.to_receiver:
            while self.to_sender:
                control = tw.decode_control(self.to_sender.popleft())
                assert control is not None
                self.to_receiver.extend(c.encode() for c in self.sender.on_control(control))
            while (block := self.sender.next_block()) is not None:
                start = block * BLOCK_SIZE
                payload = self.tamper(block, FILE[start : start + tb.block_length(SIZE, block)])
                for at in range(0, len(payload), tw.CHUNK_BYTES):
                    chunk = payload[at : at + tw.CHUNK_BYTES]
                    self.sent_bytes += len(chunk)
                    self.to_receiver.append(tw.encode_data(block, at, chunk))
            while self.to_receiver:
                if max_frames is not None and frames >= max_frames:
                    return  # the channel drops here
                frames += 1
                frame = self.to_receiver.popleft()
                if isinstance(frame, bytes):
                    data = tw.decode_data(frame)
                    assert data is not None
                    self.take(self.receiver.on_data(data))
                else:
                    control = tw.decode_control(frame)
                    assert control is not None
                    self.take(self.receiver.on_control(control))


def test_a_whole_file_arrives_verified() -> None:
    wire = Wire(tb.BlockReceiver(SIZE, ROOT))
    wire.run()
    assert wire.outputs[-1] == tb.Verified(ROOT)
    assert hashlib.sha256(wire.disk).digest() == hashlib.sha256(FILE).digest()
    assert wire.sent_bytes == SIZE
    assert wire.receiver.hashes == HASHES  # kept for a resume


def test_a_dropped_channel_resumes_from_the_first_unverified_block() -> None:
    receiver = tb.BlockReceiver(SIZE, ROOT)
    first = Wire(receiver)
    first.run(max_frames=1 + 3 * (BLOCK_SIZE // tw.CHUNK_BYTES) + 5)  # hashes, 3 blocks, a bit
    assert receiver.have == 3
    assert not receiver.finished
    second = Wire(receiver)
    second.disk[:] = first.disk
    second.run()
    assert second.outputs[-1] == tb.Verified(ROOT)
    assert bytes(second.disk) == FILE
    assert first.sent_bytes + second.sent_bytes <= 1.1 * SIZE + 4 * BLOCK_SIZE
    assert second.sent_bytes == SIZE - 3 * BLOCK_SIZE  # only the unverified blocks, no hashes


def test_a_damaged_block_is_sent_again_and_too_many_fail() -> None:
    damaged: dict[int, int] = {}

    def once(block: int, payload: bytes) -> bytes:
        if block == 2 and not damaged.get(block):
            damaged[block] = 1
            return b"x" + payload[1:]
        return payload

    wire = Wire(tb.BlockReceiver(SIZE, ROOT), once)
    wire.run()
    assert tb.Send(tw.Control("bad", 2)) in wire.outputs
    assert wire.outputs[-1] == tb.Verified(ROOT)
    assert bytes(wire.disk) == FILE

    always = Wire(tb.BlockReceiver(SIZE, ROOT), lambda b, p: b"x" + p[1:] if b == 1 else p)
    always.run()
    assert tb.Failed(tb.DAMAGED) in always.outputs
    assert [o for o in always.outputs if o == tb.Send(tw.Control("bad", 1))] == [
        tb.Send(tw.Control("bad", 1))
    ] * tb.MAX_BAD


def hashes_frame(start: int, hashes: list[str]) -> tw.Control:
    return tw.Control("hashes", start, "".join(hashes))


def test_the_receiver_refuses_what_it_cannot_trust() -> None:
    wrong_root = tb.BlockReceiver(SIZE, "0" * 64)
    [failed] = wrong_root.on_control(hashes_frame(0, HASHES))
    assert isinstance(failed, tb.Failed)
    assert "does not match" in failed.reason
    assert wrong_root.on_data(tw.Data(0, 0, b"x")) == []  # finished: ignores the rest

    too_many = tb.BlockReceiver(SIZE, ROOT)
    [failed] = too_many.on_control(hashes_frame(0, [*HASHES, HASHES[0]]))
    assert isinstance(failed, tb.Failed)

    gap = tb.BlockReceiver(SIZE, ROOT)
    assert gap.on_control(hashes_frame(0, HASHES[:2])) == []
    [failed] = gap.on_control(hashes_frame(3, HASHES[3:]))
    assert "out of order" in failed.reason

    early = tb.BlockReceiver(SIZE, ROOT)
    [failed] = early.on_data(tw.Data(0, 0, b"x"))
    assert "before the block list" in failed.reason

    def trusted() -> tb.BlockReceiver:
        receiver = tb.BlockReceiver(SIZE, ROOT)
        assert receiver.on_control(hashes_frame(0, HASHES)) == []
        return receiver

    [failed] = trusted().on_data(tw.Data(6, 0, b"x"))
    assert "does not have" in failed.reason
    [failed] = trusted().on_data(tw.Data(0, 5, b"x"))
    assert "out of order" in failed.reason
    late = trusted()
    assert late.on_control(tw.Control("nofile")) == []
    assert late.on_control(tw.Control("ok", 1)) == []
    # "end" with blocks missing (frames lost with a channel): ask again, hashes known.
    assert late.on_control(tw.Control("end")) == [tb.Send(tw.Control("want", 0, False))]


def test_a_block_verified_before_is_confirmed_not_written() -> None:
    receiver = tb.BlockReceiver(SIZE, ROOT)
    receiver.on_control(hashes_frame(0, HASHES))
    block0 = FILE[:BLOCK_SIZE]
    first = receiver.on_data(tw.Data(0, 0, block0))
    assert first[0] == tb.Write(0, block0)
    assert receiver.on_data(tw.Data(0, 0, block0)) == [tb.Send(tw.Control("ok", 0))]
    assert receiver.on_data(tw.Data(0, 0, block0 + b"!")) == [tb.Send(tw.Control("bad", 0))]


def test_an_empty_file_is_verified_at_once() -> None:
    empty = tb.BlockReceiver(0, root_of_bytes(b""))
    assert empty.start() == [tb.Verified(root_of_bytes(b""))]
    assert empty.on_control(tw.Control("end")) == []
    sender = tb.BlockSender([])
    assert sender.on_control(tw.Control("want", 0, True)) == [tw.Control("end")]
    assert sender.next_block() is None


def test_the_sender_keeps_its_window_and_resends_bad_blocks_first() -> None:
    sender = tb.BlockSender(HASHES)
    assert [c.t for c in sender.on_control(tw.Control("want", 0, True))] == ["hashes"]
    assert [sender.next_block() for _ in range(5)] == [0, 1, 2, 3, None]
    assert sender.on_control(tw.Control("bad", 1)) == []
    assert sender.on_control(tw.Control("bad", 5)) == []  # not in flight: ignored
    assert sender.next_block() == 1
    assert sender.on_control(tw.Control("ok", 5)) == []  # verified earlier: skipped
    assert sender.on_control(tw.Control("ok", 0)) == []
    assert sender.next_block() == 4
    assert sender.next_block() is None
    for block in (1, 2, 3):
        assert sender.on_control(tw.Control("ok", block)) == []
    assert sender.on_control(tw.Control("ok", 4)) == [tw.Control("end")]
    assert sender.on_control(tw.Control("ok", 4)) == []  # once
    again = sender.on_control(tw.Control("want", 9, False))  # past the end: nothing to send
    assert again == [tw.Control("end")]


def test_a_download_without_the_hash_list_is_checked_by_the_root() -> None:
    data = bytes(range(256)) * (BLOCK_SIZE // 128 + 3)  # 2 blocks and a bit
    size, root = len(data), root_of_bytes(data)
    parts = [data[i : i + BLOCK_SIZE] for i in range(0, size, BLOCK_SIZE)]
    receiver = tb.BlockReceiver(size, root)
    outputs = [o for i, part in enumerate(parts) for o in receiver.on_block(i, part)]
    assert [o.block for o in outputs if isinstance(o, tb.Write)] == [0, 1, 2]
    assert outputs[-1] == tb.Verified(root)
    assert receiver.hashes == [h.hex() for h in block_hashes_of(data)]
    assert receiver.on_block(0, parts[0]) == []  # finished: nothing more

    wrong = tb.BlockReceiver(size, "0" * 64)
    outputs = [o for i, part in enumerate(parts) for o in wrong.on_block(i, part)]
    assert outputs[-1] == tb.Failed(tb.NOT_THE_OFFER)


def test_a_download_block_is_checked_against_a_known_list_and_its_shape() -> None:
    data = b"x" * (BLOCK_SIZE + 10)
    hashes = [h.hex() for h in block_hashes_of(data)]
    receiver = tb.BlockReceiver(len(data), root_of_bytes(data), hashes=list(hashes))
    assert receiver.on_block(1, data[BLOCK_SIZE:]) == [tb.Write(1, data[BLOCK_SIZE:])]
    assert receiver.on_block(1, data[BLOCK_SIZE:]) == []  # already written
    assert receiver.on_block(0, b"y" * BLOCK_SIZE) == [tb.Failed(tb.NOT_THE_OFFER)]
    assert tb.BlockReceiver(5, root_of_bytes(b"abcde")).on_block(3, b"abcde") == [
        tb.Failed(tb.NOT_THE_OFFER)
    ]
    assert tb.BlockReceiver(5, root_of_bytes(b"abcde")).on_block(0, b"abc") == [
        tb.Failed(tb.NOT_THE_OFFER)
    ]


def test_downloaded_blocks_that_the_hash_list_contradicts_travel_again() -> None:
    data = b"a" * BLOCK_SIZE + b"b" * BLOCK_SIZE
    hashes = [h.hex() for h in block_hashes_of(data)]
    receiver = tb.BlockReceiver(len(data), root_of_bytes(data))
    receiver.on_block(0, b"a" * BLOCK_SIZE)
    receiver.unlisted[0] = "f" * 64  # as if block 0 had come from another file
    receiver.unlisted[1], _ = hashes[1], receiver.verified.add(1)  # and block 1 from this one
    receiver.on_control(hashes_frame(0, hashes))
    assert receiver.verified == {1}
    assert receiver.unlisted == {}
    assert receiver.start() == [tb.Send(tw.Control("want", 0, False))]
