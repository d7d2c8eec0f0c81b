"""The receiving end of the direct-TCP fast path (peer/fast_link.py): a file's frames
from the sender's listener, over a connection kept for the next file when this one ends
cleanly (the sender's ``end`` came): core/fast_path.py's ``next`` frame then names the
next transfer, and many small files cost no TCP and TLS handshake each."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from peerlane.core import fast_path as fp
from peerlane.core import transfer_blocks as tb
from peerlane.core.transfer_wire import Data, decode_control
from peerlane.peer.fast_link import FastPathRefused, FastStream, Identity, close_quietly, connect
from peerlane.peer.incoming import Incoming, take_data

READ_AHEAD = 8  # frames read while a block is hashed and written
END_WITHIN_S = 5.0  # after the last block, the sender's `end` (else the connection goes)

Reply = Callable[[str], None]
Handle = Callable[[Incoming, list[tb.Output], Reply], None]
AfterData = Callable[[Incoming, Data | None, list[tb.Output], Reply], bool]
OnFrame = Callable[[Incoming, object, Reply], bool]


@dataclass
class _Connection:
    stream: FastStream
    frames: asyncio.Queue[str | bytes | None] = field(
        default_factory=lambda: asyncio.Queue(READ_AHEAD)
    )
    pump: asyncio.Task[None] | None = None

    def start(self) -> _Connection:
        self.pump = asyncio.create_task(self.stream.pump(self.frames))
        return self

    async def close(self) -> None:
        if self.pump is not None:
            self.pump.cancel()
        await close_quietly(self.stream)

    async def until_end(self) -> bool:
        """Whether the sender's ``end`` comes (and nothing else): the connection is then
        free for the next transfer."""
        try:
            async with asyncio.timeout(END_WITHIN_S):
                frame = await self.frames.get()
        except TimeoutError:
            return False
        control = decode_control(frame) if isinstance(frame, str) else None
        return control is not None and control.t == "end"


class FastReceive:
    def __init__(
        self, identity: Identity, handle: Handle, after_data: AfterData, on_frame: OnFrame
    ) -> None:
        self.identity = identity
        self._handle, self._after_data, self._on_frame = handle, after_data, on_frame
        self._idle: dict[str, list[_Connection]] = {}  # sender's fingerprint → connections

    async def over(self, item: Incoming) -> bool:
        """The file's frames until it is whole, the connection drops or cannot be had
        (then ``item.fast_failed``: the data channel takes over); whether it was used."""
        assert item.offer.fast is not None
        key = item.offer.fast.fingerprint
        conn = self._idle.get(key, []).pop() if self._idle.get(key) else None
        reused = conn is not None
        if conn is None:
            try:
                stream = await connect(self.identity, item.offer.fast, item.offer.transfer)
            except (OSError, TimeoutError, FastPathRefused):
                item.fast_failed = True
                return False
            conn = _Connection(stream).start()
        else:
            conn.stream.send_control(fp.next_frame(item.offer.transfer))
        item.fast_now = True
        keep = heard = False
        reply = conn.stream.send_control
        try:
            self._handle(item, item.receiver.start(), reply)
            while not item.receiver.finished and not item.flow.over:
                frame = await conn.frames.get()
                if frame is None:  # (a reused connection the sender would not go on
                    item.fast_failed = heard or not reused  # with: a fresh one next)
                    break
                if isinstance(frame, bytes):  # hashed and written in a thread meanwhile
                    heard = True
                    taken = await asyncio.to_thread(take_data, item, frame)  # the next
                    self._after_data(item, *taken, reply)  # block is read
                else:
                    self._on_frame(item, frame, reply)
            keep = item.receiver.finished and await conn.until_end()
        finally:
            item.fast_now = False
            if keep:
                self._idle.setdefault(key, []).append(conn)
            else:
                await conn.close()
        return True

    async def close(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                with contextlib.suppress(Exception):
                    await conn.close()
        self._idle.clear()
