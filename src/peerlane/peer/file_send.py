"""``peerlane send``'s side of a transfer (the terminal's web/transfer-outgoing.js): offer
each file, serve each receiver's ``file:<transfer>`` channel with core.transfer_blocks'
BlockSender, and when no channel comes within the P2P timeout, upload the file to the
room with tus and say ``uploaded`` (once per transfer), as the browser does.

Done when one receiver has verified every file (``done`` for each); a receiver's
``decline`` or ``cancel`` ends the send.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from aiortc import RTCDataChannel

from peerlane.core import fast_path as fp
from peerlane.core import protocol as p
from peerlane.core import transfer_flow as tf
from peerlane.core.integrity import BLOCK_SIZE, TreeHasher
from peerlane.core.transfer_blocks import BlockSender, block_length
from peerlane.core.transfer_wire import (
    HIGH_WATER,
    LOW_WATER,
    chunk_bytes_for,
    decode_control,
    encode_data,
    transfer_of_label,
)
from peerlane.peer import EXIT_DECLINED, EXIT_FAILED, EXIT_USAGE, PeerError, server_copy
from peerlane.peer.fast_link import FastListener, FastStream, new_identity
from peerlane.peer.transfer_room import TransferRoom, p2p_words

DEFAULT_P2P_TIMEOUT_S = 10.0  # the browser's p2p_timeout
READ_BYTES = 8 * 1024 * 1024

Advance = Callable[[int], None]


@dataclass
class Outgoing:
    path: Path
    offer: tf.Offer
    hashes: list[str]
    flow: tf.Flow = field(default_factory=lambda: tf.Flow(tf.OUTGOING))
    serving: dict[str, asyncio.Task[None]] = field(default_factory=dict)  # participant →
    fallback: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    upload: asyncio.Task[None] | None = None
    file_id: str | None = None
    fast_certs: dict[bytes, str] = field(default_factory=dict)  # accepted cert → participant
    fast_accepted: asyncio.Event = field(default_factory=asyncio.Event)  # a new accept
    fast_served: set[bytes] = field(default_factory=set)  # certs that have connected


def files_to_send(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """Each file with the name it is offered under: a file's own name; for a directory,
    every file inside with its path from the directory's name on (``photos/2024/a.jpg``)."""
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_file():
            found.append((path, path.name))
        elif path.is_dir():
            base = path.resolve()
            for root, dirs, files in os.walk(base):
                dirs.sort()
                for name in sorted(files):
                    full = Path(root) / name
                    if full.is_file():
                        found.append((full, f"{base.name}/{full.relative_to(base).as_posix()}"))
        else:
            raise PeerError(
                f"{path} is neither a file nor a directory; check the path.", EXIT_USAGE
            )
    if not found:
        raise PeerError("There are no files to send in what you named.", EXIT_USAGE)
    return found


def hash_file(path: Path) -> tuple[int, str, list[str]]:
    """The size, root and block hashes of a file (docs/protocol.md, "Integrity")."""
    hasher = TreeHasher()
    with path.open("rb") as file:
        while chunk := file.read(READ_BYTES):
            hasher.update(chunk)
    return hasher.length, hasher.root(), [h.hex() for h in hasher.final_block_hashes()]


async def prepare(files: list[tuple[Path, str]], batch: str) -> list[Outgoing]:
    out = []
    for path, name in files:
        try:
            size, root, hashes = await asyncio.to_thread(hash_file, path)
        except OSError as exc:
            raise PeerError(f"{path} cannot be read ({exc.strerror}).", EXIT_FAILED) from exc
        offer = tf.Offer(
            transfer=uuid.uuid4().hex,
            name=name,
            size=size,
            type=mimetypes.guess_type(name)[0] or "",
            root=root,
            batch=batch,
            count=len(files),
        )
        out.append(Outgoing(path, offer, hashes))
    return out


class Sender:
    def __init__(
        self, room: TransferRoom, files: list[Outgoing], advance: Advance, p2p_timeout: float
    ) -> None:
        self.room = room
        self.files = {f.offer.transfer: f for f in files}
        self.advance = advance
        self.p2p_timeout = p2p_timeout
        self.paths: set[str] = set()  # "peer to peer (direct)", "fast path", "server"
        self.bytes_sent = 0
        self.accepted_at: float | None = None  # the summary's time counts from here
        self._offered = False
        self._listener: FastListener | None = None

    async def listen_fast(self, hosts: list[str]) -> None:
        """Offer the direct-TCP fast path (core/fast_path.py) on these addresses: a
        listener each, named with this process's certificate fingerprint in the offers."""
        self._listener = FastListener(new_identity(), self._fast_authorize, self._serve_fast)
        await self._listener.start(hosts)
        candidates = self._listener.candidates()
        for item in self.files.values():
            item.offer = replace(item.offer, fast=candidates)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()

    # --- Side ----------------------------------------------------------------------------

    def on_synced(self) -> None:
        if self._offered:
            return
        self._offered = True
        for item in self.files.values():
            item.offer = replace(item.offer, peer=self.room.peer_id)
            self.room.send_control(item.offer.body())

    def on_file_message(self, message: p.Message) -> None:
        transfer = tf.transfer_id(message.body)
        item = self.files.get(transfer or "")
        if item is None or item.flow.over or not isinstance(message.body, dict):
            return
        op, who = message.body.get("op"), message.sender
        if op == "accept" and (cert := fp.accepted_cert(message.body)):
            item.fast_certs[cert] = who
            item.fast_accepted.set()
        if op == "accept" and item.flow.step("receiver-accept"):
            self.accepted_at = self.accepted_at or asyncio.get_running_loop().time()
            self._arm_fallback(item, who)
        elif op == "done" and item.flow.step("receiver-done"):
            self._stop(item)
            if all(f.flow.state == "done" for f in self.files.values()):
                self.room.finish()
        elif op in ("decline", "cancel") and item.flow.step("receiver-declined"):
            self._stop(item)
            verb = "declined" if op == "decline" else "cancelled"
            self.room.finish(
                PeerError(f"{message.sender_name} {verb} {item.offer.name}.", EXIT_DECLINED)
            )

    def on_channel(self, peer_id: str, channel: RTCDataChannel) -> None:
        item = self.files.get(transfer_of_label(channel.label) or "")
        participant = self.room.peers.get(peer_id)
        if item is None or item.flow.over or participant is None:
            channel.close()
            return
        who = participant.participant_id
        chunk = chunk_bytes_for(self.room.links.remote_sdp(peer_id))
        self.paths.add(p2p_words(self.room.links.path_of(peer_id)))
        self._serving(item, who, asyncio.create_task(self._serve(item, channel, chunk)))

    def _serving(self, item: Outgoing, who: str, task: asyncio.Task[None]) -> None:
        """The one way this participant gets the file now: no server copy meanwhile."""
        if handle := item.fallback.pop(who, None):
            handle.cancel()
        if (old := item.serving.pop(who, None)) and old is not task:
            old.cancel()
        item.serving[who] = task

    def on_links_changed(self) -> None:
        pass

    # --- a channel ---------------------------------------------------------------------

    async def _serve(self, item: Outgoing, channel: RTCDataChannel, chunk: int) -> None:
        sender = BlockSender(list(item.hashes))
        wake = asyncio.Event()
        closed = asyncio.Event()

        @channel.on("message")
        def frame(data: str | bytes) -> None:
            control = decode_control(data) if isinstance(data, str) else None
            if control is not None:
                for out in sender.on_control(control):
                    channel.send(out.encode())
                wake.set()

        channel.on("close", closed.set)
        channel.on("bufferedamountlow", wake.set)
        channel.bufferedAmountLowThreshold = LOW_WATER
        try:
            with item.path.open("rb") as file:
                while not closed.is_set():
                    block = sender.next_block()
                    if block is None:
                        wake.clear()
                        await _first(wake.wait(), closed.wait())
                        continue
                    await self._send_block(item, file, block, channel, chunk, wake, closed)
        except OSError as exc:
            self.room.finish(PeerError(f"{item.path} cannot be read ({exc}).", EXIT_FAILED))

    async def _send_block(
        self,
        item: Outgoing,
        file: object,
        block: int,
        channel: RTCDataChannel,
        chunk: int,
        wake: asyncio.Event,
        closed: asyncio.Event,
    ) -> None:
        length = block_length(item.offer.size, block)
        data = os.pread(file.fileno(), length, block * BLOCK_SIZE)  # type: ignore[attr-defined]
        for offset in range(0, length, chunk):
            while channel.bufferedAmount > HIGH_WATER and not closed.is_set():
                wake.clear()
                await _first(wake.wait(), closed.wait())
            if closed.is_set() or channel.readyState != "open":
                return
            payload = data[offset : offset + chunk]
            channel.send(encode_data(block, offset, payload))
            self.bytes_sent += len(payload)
            self.advance(len(payload))
        await asyncio.sleep(0)  # let the channel's frames go out between blocks

    # --- the fast path -----------------------------------------------------------------

    async def _fast_authorize(self, transfer: str) -> list[bytes]:
        """The certificates of the receivers that accepted ``transfer``, once there is one
        (the accept may reach the server after the receiver's connection reaches us)."""
        item = self.files.get(transfer)
        if item is None or item.flow.over:
            return []
        # A receiver run again (its first run killed) connects with a new certificate,
        # maybe before its accept arrives: wait for an accept no connection has used yet.
        while not set(item.fast_certs) - item.fast_served:
            item.fast_accepted.clear()
            await item.fast_accepted.wait()
        return list(item.fast_certs)

    async def _serve_fast(self, transfer: str, cert: bytes, stream: FastStream) -> None:
        item = self.files[transfer]
        task = asyncio.current_task()
        if item.flow.over or task is None:
            return
        item.fast_served.add(cert)
        self._serving(item, item.fast_certs[cert], task)
        self.paths.add("fast path")
        sender = BlockSender(list(item.hashes))
        wake = asyncio.Event()

        async def read() -> None:
            while isinstance(frame := await stream.read_frame(), str):
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
                        await _first(wake.wait(), asyncio.shield(reading))
                        continue
                    length = block_length(item.offer.size, block)
                    data = os.pread(file.fileno(), length, block * BLOCK_SIZE)
                    stream.send_data(encode_data(block, 0, data))
                    self.bytes_sent += length
                    self.advance(length)
                    await stream.drain()
        except ConnectionError:
            pass  # the receiver went away: it takes the data channel, or comes again
        except OSError as exc:
            self.room.finish(PeerError(f"{item.path} cannot be read ({exc}).", EXIT_FAILED))
        finally:
            reading.cancel()

    # --- the fallback: the server ------------------------------------------------------

    def _arm_fallback(self, item: Outgoing, participant: str) -> None:
        if item.file_id is not None:  # a copy is there: say so to the one accepting now
            self.room.send_control(
                tf.control_body("uploaded", item.offer.transfer, file_id=item.file_id)
            )
            return
        if participant in item.serving or participant in item.fallback:
            return
        wait = self.p2p_timeout if self.room.direct_possible(participant) else 0.0
        loop = asyncio.get_running_loop()
        item.fallback[participant] = loop.call_later(wait, self._fallback, item, participant)

    def _fallback(self, item: Outgoing, participant: str) -> None:
        item.fallback.pop(participant, None)
        if participant in item.serving or item.upload is not None or item.flow.over:
            return
        item.upload = asyncio.create_task(self._upload(item))

    async def _upload(self, item: Outgoing) -> None:
        self.paths.add("server")
        loop = asyncio.get_running_loop()

        def sent(n: int) -> None:
            self.bytes_sent += n
            loop.call_soon_threadsafe(self.advance, n)

        metadata: dict[str, str | None] = {
            "room": self.room.member.room_id,
            "name": item.offer.name,
            "type": item.offer.type,
            "root": item.offer.root,
        }
        try:
            file_id = await asyncio.to_thread(
                server_copy.upload, self.room.member, item.path, metadata, sent
            )
        except PeerError as exc:
            self.room.finish(exc)
            return
        except OSError as exc:
            self.room.finish(PeerError(f"The upload failed ({exc}); try again.", EXIT_FAILED))
            return
        item.file_id = file_id
        if item.flow.step("uploaded"):
            self.room.send_control(
                tf.control_body("uploaded", item.offer.transfer, file_id=file_id)
            )

    def _stop(self, item: Outgoing) -> None:
        for handle in item.fallback.values():
            handle.cancel()
        item.fallback.clear()
        for task in item.serving.values():
            task.cancel()

    def cancel_unfinished(self) -> None:
        """Ctrl-C: tell the receivers (the message is stored for them)."""
        for item in self.files.values():
            if not item.flow.over and item.flow.step("cancel"):
                self._stop(item)
                if item.upload:
                    item.upload.cancel()
                self.room.send_control(tf.control_body("cancel", item.offer.transfer))


async def _first(*waits: object) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
