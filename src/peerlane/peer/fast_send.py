"""``peerlane send``'s side of the direct-TCP fast path (core/fast_path.py,
peer/fast_link.py): a listener offered with the files, and each accepted receiver's
connection served one transfer after the other. In an end-to-end encrypted room the
blocks go out sealed under the file's key ``F`` (core/e2e_file.py), the same bytes as on
the data channel: TLS with a pinned key protects the link, the sealing keeps the file
closed to anyone but the room's members whatever carries it (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from peerlane.core import e2e_file
from peerlane.core import fast_path as fp
from peerlane.core.integrity import BLOCK_SIZE
from peerlane.core.transfer_blocks import BlockSender, block_length
from peerlane.core.transfer_wire import decode_control, encode_data
from peerlane.peer import EXIT_FAILED, PeerError
from peerlane.peer.fast_link import HELLO_WITHIN_S, FastListener, FastStream, new_identity
from peerlane.peer.outgoing import Outgoing
from peerlane.peer.transfer_room import TransferRoom


def block_bytes(fd: int, item: Outgoing, block: int, keys: dict[str, e2e_file.FileKey]) -> bytes:
    """Block ``block`` of the file as it travels: sealed when the room is encrypted
    (offsets on the wire then count in the sealed block)."""
    length = block_length(item.offer.size, block)
    data = os.pread(fd, length, block * BLOCK_SIZE)
    if key := keys.get(item.offer.transfer):
        return e2e_file.seal_block(key, block, item.offer.blocks, data)
    return data


class FastSending:
    """The fast path's part of peer/file_send.py's Sender (which sets these)."""

    room: TransferRoom
    files: dict[str, Outgoing]
    keys: dict[str, e2e_file.FileKey]
    paths: set[str]
    bytes_sent: int
    advance: Callable[[int], None]
    _listener: FastListener | None
    _fast_tasks: set[asyncio.Task[str | None]]
    _serving: Callable[[Outgoing, str, asyncio.Task[Any]], None]

    async def listen_fast(self, hosts: list[str]) -> None:
        """Offer the direct-TCP fast path (core/fast_path.py) on these addresses: a
        listener each, named with this process's certificate fingerprint in the offers."""
        self._listener = FastListener(new_identity(), self._fast_authorize, self._serve_fast)
        await self._listener.start(hosts)
        candidates = self._listener.candidates()
        for item in self.files.values():
            item.offer = replace(item.offer, fast=candidates)

    async def _fast_authorize(self, transfer: str, fingerprint: str | None) -> list[bytes]:
        """The certificates of the receivers that accepted ``transfer``, once the one with
        ``fingerprint`` (else anyone) is among them: the accept may reach the server after
        the receiver's connection reaches us, and a receiver run again (a new key) comes
        after the first run's accept."""
        item = self.files.get(transfer)
        if item is None or item.flow.over:
            return []

        def there() -> bool:
            if fingerprint is None:
                return bool(item.fast_certs)
            return any(fp.fingerprint(c) == fingerprint for c in item.fast_certs)

        while not there():  # (each accept sets the event; cleared only when not there)
            item.fast_accepted.clear()
            if there():
                break
            await item.fast_accepted.wait()
        return list(item.fast_certs)

    async def _serve_fast(self, transfer: str | None, cert: bytes, stream: FastStream) -> None:
        """This connection's transfers, one after the other (the receiver names the next
        one with a ``next`` frame: core/fast_path.py), each in a task of its own that
        the transfer's ``done`` or cancel may end."""
        while transfer is not None:
            item = self.files.get(transfer)
            if item is None or item.flow.over or cert not in item.fast_certs:
                return  # (a next transfer this receiver did not accept: the end)
            task = asyncio.create_task(self._serve_fast_one(item, stream))
            self._fast_tasks.add(task)
            task.add_done_callback(self._fast_tasks.discard)
            self._serving(item, item.fast_certs[cert], task)
            try:
                transfer = await task
            except asyncio.CancelledError:
                if task.cancelled() and not _cancelling():
                    return  # the transfer ended under it: this connection too
                raise
            finally:
                if item.serving.get(item.fast_certs[cert]) is task:
                    del item.serving[item.fast_certs[cert]]
            if transfer is not None:
                try:
                    async with asyncio.timeout(HELLO_WITHIN_S):
                        await self._fast_authorize(transfer, fp.fingerprint(cert))
                except TimeoutError:
                    return

    async def _serve_fast_one(self, item: Outgoing, stream: FastStream) -> str | None:
        """One transfer until the stream ends (``None``) or names the next transfer."""
        self.paths.add("fast path")
        sender = BlockSender(list(item.hashes))
        wake = asyncio.Event()
        following: list[str] = []

        async def read() -> None:
            while isinstance(frame := await stream.read_frame(), str):
                if (after := fp.parse_next(frame)) is not None:
                    following.append(after)
                    return
                control = decode_control(frame)
                if control is None:
                    return
                for out in sender.on_control(control):
                    stream.send_control(out.encode())
                wake.set()

        reading = asyncio.create_task(read())
        try:
            with item.path.open("rb") as file:
                while not reading.done():
                    block = sender.next_block()
                    if block is None:
                        wake.clear()
                        await first_of(wake.wait(), asyncio.shield(reading))
                        continue
                    data = block_bytes(file.fileno(), item, block, self.keys)
                    stream.send_data(encode_data(block, 0, data))
                    self.bytes_sent += len(data)
                    self.advance(len(data))
                    await stream.drain()
        except ConnectionError:
            pass  # the receiver went away: it takes the data channel, or comes again
        except OSError as exc:
            self.room.finish(PeerError(f"{item.path} cannot be read ({exc}).", EXIT_FAILED))
        finally:
            reading.cancel()
        return following[0] if following else None


def _cancelling() -> bool:
    """Whether the running task itself is being cancelled (not just one it awaited)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def first_of(*waits: object) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
