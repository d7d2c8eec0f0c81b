"""The receiving end of an encrypted room's transfer (sans-I/O): blocks come sealed
(core/e2e_file.py, each 1 MiB block plus its 16-byte tag), framed ``[u32 block][u32
offset in the sealed block][payload]``; there is no plaintext block hash list (``want
{from, hashes: false}``: the hashes of plaintext would name the file to whoever sees the
channel's peer). Each block is opened on its own (a block that fails its tag is asked for
again with ``bad``, as a hash mismatch is), its plaintext hash kept as an unlisted one,
and the offer's root (inside the sealed offer) checks the whole file at the end. The
server's copy is the same sealed blocks end to end (a Range download from sealed block
``have``: :meth:`SealedBlockReceiver.on_block`); one that does not open fails the
transfer, as a clear copy that does not match its hash does."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from peerlane.core import e2e_file
from peerlane.core.e2e import TAG_SIZE, E2EError
from peerlane.core.transfer_blocks import (
    NOT_THE_OFFER,
    BlockReceiver,
    Output,
    Send,
    Write,
    block_length,
)
from peerlane.core.transfer_wire import Control, Data


@dataclass
class SealedBlockReceiver(BlockReceiver):
    key: e2e_file.FileKey | None = field(default=None, kw_only=True)

    def start(self) -> list[Output]:
        self._block, self._buffer = None, bytearray()
        if self.have >= self.blocks:
            return self._check_done()
        return [Send(Control("want", self.have, False))]

    def on_control(self, control: Control) -> list[Output]:
        if control.t == "hashes":  # never asked for: a sender that would name the file
            return [] if self.finished else [self._fail("The sender sent plaintext hashes.")]
        return super().on_control(control)

    def on_data(self, data: Data) -> list[Output]:
        if self.finished:
            return []
        if data.block >= self.blocks:
            return [self._fail("The sender sent a block the file does not have.")]
        whole = self._gather(data, block_length(self.size, data.block) + TAG_SIZE)
        if not isinstance(whole, tuple):
            return whole
        block, sealed = whole
        content = self._open(block, sealed)
        if content is None:  # tampered, or too long: asked for again, as a bad hash is
            return self._refused(block)
        if block in self.verified:
            return [Send(Control("ok", block))]
        return [*self._keep(block, content), Send(Control("ok", block)), *self._check_done()]

    def on_block(self, block: int, sealed: bytes) -> list[Output]:
        """A whole sealed block of the server's copy (``size + 16`` bytes a block)."""
        if self.finished:
            return []
        content = self._open(block, sealed) if block < self.blocks else None
        if content is None:  # no asking again: the server's copy is what it is
            return [self._fail(NOT_THE_OFFER)]
        if block in self.verified:
            return []
        return [*self._keep(block, content), *self._check_done()]

    def _open(self, block: int, sealed: bytes) -> bytes | None:
        assert self.key is not None
        try:
            return e2e_file.open_block(self.key, block, self.blocks, sealed)
        except E2EError:
            return None

    def _keep(self, block: int, content: bytes) -> list[Output]:
        self.unlisted[block] = hashlib.sha256(content).hexdigest()
        self.verified.add(block)
        return [Write(block, content)]
