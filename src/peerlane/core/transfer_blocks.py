"""One file over one data channel, both ends, sans-I/O: the terminal peer's counterpart of
web/transfer-receive.js (BlockReceiver) and web/transfer-send.js (SendSession), speaking
the frames of core/transfer_wire.py (docs/file-transfer.md, "Peer-to-peer data channel").

Receiver: :meth:`BlockReceiver.start` asks ``want {from: have, hashes}``; the hash list is
checked against the offer's root before any block is trusted; each block, once complete,
is verified and handed out to be written (:class:`Write`), then confirmed ``ok`` — or
``bad`` (sent again; more than 3 times fails). Blocks verified earlier that come again are
confirmed without being written. ``end`` with blocks still missing asks again.

Sender: ``want`` sets where to go from (blocks before it count as confirmed) and whether
to send the hashes first; :meth:`BlockSender.next_block` says which block the driver
should read and send now, at most :data:`WINDOW_BLOCKS` unconfirmed at a time, blocks
answered ``bad`` first; ``end`` once everything asked for is confirmed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from peerlane.core.integrity import BLOCK_SIZE, root_of
from peerlane.core.transfer_wire import Control, Data, hashes_frames, split_hashes

WINDOW_BLOCKS = 4
MAX_BAD = 3
DAMAGED = "A block kept arriving damaged: was the file changed while sending?"
NOT_THE_OFFER = "The server's copy does not match the offered file; ask the sender to send again."


def block_count(size: int) -> int:
    return -(-size // BLOCK_SIZE)


def block_length(size: int, block: int) -> int:
    return min(BLOCK_SIZE, size - block * BLOCK_SIZE)


@dataclass(frozen=True, slots=True)
class Send:
    control: Control


@dataclass(frozen=True, slots=True)
class Write:
    """A verified block: write it at ``block * BLOCK_SIZE``."""

    block: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Verified:
    """Every block verified: the file is the offer's root."""

    root: str


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str  # in plain words


Output = Send | Write | Verified | Failed


@dataclass
class BlockReceiver:
    size: int
    root: str
    hashes: list[str] = field(default_factory=list)  # known block hashes (kept for resume)
    verified: set[int] = field(default_factory=set)
    # Blocks of a download taken before the hash list was known: their hashes, checked by
    # the root once all are in (or against the list, should it come over a channel).
    unlisted: dict[int, str] = field(default_factory=dict)
    _pending: list[str] = field(default_factory=list)  # a hash list still arriving
    _block: int | None = None
    _buffer: bytearray = field(default_factory=bytearray)
    _bad: dict[int, int] = field(default_factory=dict)
    finished: bool = False

    @property
    def blocks(self) -> int:
        return block_count(self.size)

    @property
    def have(self) -> int:
        """The first unverified block (what a resume asks from)."""
        n = 0
        while n in self.verified:
            n += 1
        return n

    def start(self) -> list[Output]:
        """Ask for what is missing: on a new channel, and after ``end``. A block cut off
        by a dropped channel starts over (its pieces come again from offset 0)."""
        self._block, self._buffer = None, bytearray()
        if self.have >= self.blocks:
            return self._check_done()
        return [Send(Control("want", self.have, not self.hashes))]

    def on_control(self, control: Control) -> list[Output]:
        if self.finished:
            return []
        if control.t == "hashes":
            return self._hashes(control)
        if control.t == "end":
            return self.start()  # everything asked for came: ask again for what is missing
        return []  # nofile: the driver waits for the offer to come again

    def _hashes(self, control: Control) -> list[Output]:
        if self.hashes or control.number != len(self._pending):
            return [self._fail("The sender's block list came out of order.")]
        self._pending += split_hashes(str(control.hashes))
        if len(self._pending) < self.blocks:
            return []
        raw = [bytes.fromhex(h) for h in self._pending]
        if len(self._pending) != self.blocks or root_of(raw) != self.root:
            return [self._fail("The sender's block list does not match the offered file.")]
        self.hashes, self._pending = self._pending, []
        for block, digest in self.unlisted.items():
            if digest != self.hashes[block]:
                self.verified.discard(block)  # comes again, from the list's file
        self.unlisted.clear()
        return []

    def on_data(self, data: Data) -> list[Output]:
        if self.finished:
            return []
        if not self.hashes:
            return [self._fail("File data came before the block list.")]
        if data.block >= self.blocks:
            return [self._fail("The sender sent a block the file does not have.")]
        length = block_length(self.size, data.block)
        whole = self._gather(data, length)
        if not isinstance(whole, tuple):
            return whole
        block, content = whole
        if len(content) > length or hashlib.sha256(content).hexdigest() != self.hashes[block]:
            return self._refused(block)
        if block in self.verified:
            return [Send(Control("ok", block))]
        self.verified.add(block)
        return [Write(block, content), Send(Control("ok", block)), *self._check_done()]

    def on_block(self, block: int, content: bytes) -> list[Output]:
        """A whole block of the server's copy (a Range download): checked against the hash
        list when there is one, else kept and checked by the root when all are in."""
        if self.finished:
            return []
        if block >= self.blocks or len(content) != block_length(self.size, block):
            return [self._fail(NOT_THE_OFFER)]
        digest = hashlib.sha256(content).hexdigest()
        if self.hashes and digest != self.hashes[block]:
            return [self._fail(NOT_THE_OFFER)]
        if block in self.verified:
            return []
        if not self.hashes:
            self.unlisted[block] = digest
        self.verified.add(block)
        return [Write(block, content), *self._check_done()]

    def _check_done(self) -> list[Output]:
        if len(self.verified) < self.blocks:
            return []
        if not self.hashes:
            listed = [self.unlisted[n] for n in range(self.blocks)]
            if root_of(bytes.fromhex(h) for h in listed) != self.root:
                return [self._fail(NOT_THE_OFFER)]
            self.hashes, self.unlisted = listed, {}
        self.finished = True
        return [Verified(self.root)]

    def _gather(self, data: Data, length: int) -> tuple[int, bytes] | list[Output]:
        """The block ``data`` completes, ``length`` bytes long, from its frames; else what
        to do now (nothing yet, or fail: a frame out of order)."""
        if data.offset == 0 and len(data.payload) >= length:
            # A whole block in one frame (the fast path's): no copy into the buffer and out.
            self._block, self._buffer = None, bytearray()
            return data.block, bytes(data.payload)
        if self._block != data.block:
            self._block, self._buffer = data.block, bytearray()
        if data.offset != len(self._buffer):
            return [self._fail("File data came out of order.")]
        self._buffer += data.payload
        if len(self._buffer) < length:
            return []
        block, content = data.block, bytes(self._buffer)
        self._block, self._buffer = None, bytearray()
        return block, content

    def _refused(self, block: int) -> list[Output]:
        """A block that did not check out: asked for again, until it has failed too often."""
        self._bad[block] = self._bad.get(block, 0) + 1
        if self._bad[block] > MAX_BAD:
            return [self._fail(DAMAGED)]
        return [Send(Control("bad", block))]

    def _fail(self, reason: str) -> Failed:
        self.finished = True
        return Failed(reason)


@dataclass
class BlockSender:
    block_hashes: list[str]  # hex, one per block
    queue: list[int] = field(default_factory=list)  # blocks to send, in order
    in_flight: set[int] = field(default_factory=set)  # sent, not yet ok / bad
    confirmed: set[int] = field(default_factory=set)
    ended: bool = False

    def on_control(self, control: Control) -> list[Control]:
        """The receiver's frame; the control frames to send back now."""
        if control.t == "want":
            start = min(control.number, len(self.block_hashes))
            self.confirmed = set(range(start))
            self.queue = list(range(start, len(self.block_hashes)))
            self.in_flight.clear()
            self.ended = False
            out = hashes_frames(self.block_hashes, 0) if control.hashes else []
            return out + self._end_if_done()
        if control.t == "ok" and control.number in self.in_flight:
            self.in_flight.discard(control.number)
            self.confirmed.add(control.number)
            return self._end_if_done()
        if control.t == "ok" and control.number in self.queue:
            self.queue.remove(control.number)  # verified earlier: it need not travel again
            self.confirmed.add(control.number)
            return self._end_if_done()
        if control.t == "bad" and control.number in self.in_flight:
            self.in_flight.discard(control.number)
            self.queue.insert(0, control.number)  # before new ones
        return []

    def next_block(self) -> int | None:
        """The block to read and send now; ``None`` while the window is full or all is out."""
        if not self.queue or len(self.in_flight) >= WINDOW_BLOCKS:
            return None
        block = self.queue.pop(0)
        self.in_flight.add(block)
        return block

    def _end_if_done(self) -> list[Control]:
        if self.ended or self.queue or self.in_flight:
            return []
        self.ended = True
        return [Control("end")]
