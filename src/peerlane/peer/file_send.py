"""``peerlane send``'s side of a transfer (the terminal's web/transfer-outgoing.js): offer
each file, serve each receiver's ``file:<transfer>`` channel with core.transfer_blocks'
BlockSender, and when no channel comes within the P2P timeout, upload the file to the
room with tus and say ``uploaded`` (once per transfer), as the browser does; between two
terminals, the direct-TCP fast path when it connects (peer/fast_send.py).

Done when one receiver has verified every file (``done`` for each); a receiver's
``decline`` or ``cancel`` ends the send. The offers go out batched (``offers``, as few
chat messages as the body limit allows: core/transfer_batch.py), and the sender takes
batched ``accepts`` and ``dones`` (expanded by peer/transfer_room.py).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from aiortc import RTCDataChannel

from peerlane.core import e2e_file
from peerlane.core import fast_path as fp
from peerlane.core import protocol as p
from peerlane.core import transfer_batch as tbatch
from peerlane.core import transfer_flow as tf
from peerlane.core.transfer_blocks import BlockSender
from peerlane.core.transfer_wire import (
    HIGH_WATER,
    LOW_WATER,
    chunk_bytes_for,
    decode_control,
    encode_data,
    transfer_of_label,
)
from peerlane.peer import EXIT_DECLINED, EXIT_FAILED, PeerError, server_copy
from peerlane.peer.fast_link import FastListener
from peerlane.peer.fast_send import FastSending, block_bytes, first_of
from peerlane.peer.outgoing import Outgoing
from peerlane.peer.send_state import SendState
from peerlane.peer.transfer_room import TransferRoom, p2p_words

DEFAULT_P2P_TIMEOUT_S = 10.0  # the browser's p2p_timeout
READ_BYTES = 8 * 1024 * 1024

Advance = Callable[[int], None]


class Sender(FastSending):
    def __init__(
        self,
        room: TransferRoom,
        files: list[Outgoing],
        advance: Advance,
        p2p_timeout: float,
        state: SendState | None = None,
    ) -> None:
        self.room = room
        self.files = {f.offer.transfer: f for f in files}
        self.advance = advance
        self.p2p_timeout = p2p_timeout
        self.paths: set[str] = set()  # "peer to peer (direct)", "fast path", "server"
        self.bytes_sent = 0
        self.accepted_at: float | None = None  # the summary's time counts from here
        self._offered = False
        self._rerun = False
        self._listener: FastListener | None = None
        self._done = 0
        self._fast_tasks: set[asyncio.Task[str | None]] = set()
        # participant -> when a file last started or finished for them: while files keep
        # coming peer to peer, the others they accepted wait for their turn, not the server
        self._progress_at: dict[str, float] = {}
        # An encrypted room: a random key F per file, sent inside the sealed offer; the
        # blocks travel sealed (core/e2e_file.py), as the browser's do
        self.keys: dict[str, e2e_file.FileKey] = {}
        # What a rerun of a killed send resumes from (peer/send_state.py): its F keys,
        # whether it offered, its uploads
        self.state = state
        kept = state.keys() if state else {}
        if room.encrypted:
            self.keys = {
                t: e2e_file.FileKey.decode(kept[t])
                if t in kept
                else e2e_file.FileKey(os.urandom(32))
                for t in self.files
            }
        if state is not None:
            self._offered = state.offered  # the receiver has the offers: not again
            self._rerun = state.offered  # (but with this run's fast path: _offer_again)
            roots = {t: f.offer.root for t, f in self.files.items()}
            encoded = {t: k.encoded() for t, k in self.keys.items()}
            state.set_batch(next(iter(self.files.values())).offer.batch or "", roots, encoded)
            for transfer, item in self.files.items():  # uploaded before the kill
                item.file_id = state.file_id(transfer)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()

    # --- Side ----------------------------------------------------------------------------

    def on_synced(self) -> None:
        if self._offered and not self._offer_again():
            return
        self._offered = True
        offers = [f.offer for f in self.files.values()]
        files = [(o.name, o.size, o.root, o.type) for o in offers]
        fast = offers[0].fast.body() if offers[0].fast else None
        for body in tbatch.offers_bodies(
            offers[0].batch or "",
            files,
            peer=self.room.peer_id,
            fast=fast,
            keys=[self.keys[o.transfer].encoded() for o in offers] if self.keys else None,
            max_bytes=self.room.max_body_bytes,
        ):
            self.room.send_control(body)
        if self.state is not None:
            self.state.set_offered()

    def _offer_again(self) -> bool:
        """Whether a rerun offers its files again, once (the same transfers, roots and
        keys): the earlier run's offers name its fast-path listener, gone with it, and
        this run listens elsewhere under another key. A receiver takes an offer of a
        transfer it knows from the same sender as "offered again" (web/transfer.js
        does too): the new address and peer, nothing asked again (docs/cli.md)."""
        again = self._rerun and self._listener is not None
        self._rerun = False
        return again

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
            self._progressed(who)
            self._done += 1
            if self._done == len(self.files):
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

    def _serving(self, item: Outgoing, who: str, task: asyncio.Task[Any]) -> None:
        """The one way this participant gets the file now: no server copy meanwhile."""
        if handle := item.fallback.pop(who, None):
            handle.cancel()
        self._progressed(who)
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
                        await first_of(wake.wait(), closed.wait())
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
        data = block_bytes(file.fileno(), item, block, self.keys)  # type: ignore[attr-defined]
        length = len(data)
        for offset in range(0, length, chunk):
            while channel.bufferedAmount > HIGH_WATER and not closed.is_set():
                wake.clear()
                await first_of(wake.wait(), closed.wait())
            if closed.is_set() or channel.readyState != "open":
                return
            payload = data[offset : offset + chunk]
            channel.send(encode_data(block, offset, payload))
            self.bytes_sent += len(payload)
            self.advance(len(payload))
        await asyncio.sleep(0)  # let the channel's frames go out between blocks

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

    def _progressed(self, participant: str) -> None:
        self._progress_at[participant] = asyncio.get_running_loop().time()

    def _fallback(self, item: Outgoing, participant: str) -> None:
        item.fallback.pop(participant, None)
        if participant in item.serving or item.upload is not None or item.flow.over:
            return
        loop = asyncio.get_running_loop()
        since = loop.time() - self._progress_at.get(participant, -self.p2p_timeout)
        if since < self.p2p_timeout:  # still getting others of theirs peer to peer
            wait = self.p2p_timeout - since
            item.fallback[participant] = loop.call_later(wait, self._fallback, item, participant)
            return
        item.upload = asyncio.create_task(self._upload(item))

    async def _upload(self, item: Outgoing) -> None:
        self.paths.add("server")
        loop = asyncio.get_running_loop()

        def sent(n: int) -> None:
            self.bytes_sent += n
            loop.call_soon_threadsafe(self.advance, n)

        # An encrypted room's copy: sealed blocks, and nothing about the file but its room
        key = self.keys.get(item.offer.transfer)
        metadata: dict[str, str | None] = {"room": self.room.member.room_id}
        if key is None:
            metadata |= {"name": item.offer.name, "type": item.offer.type, "root": item.offer.root}
        try:
            file_id = await asyncio.to_thread(
                server_copy.upload,
                self.room.member,
                item.path,
                metadata,
                sent,
                key,
                self._resume_of(item.offer.transfer),
            )
        except PeerError as exc:
            self.room.finish(exc)
            return
        except OSError as exc:
            self.room.finish(PeerError(f"The upload failed ({exc}); try again.", EXIT_FAILED))
            return
        item.file_id = file_id
        if self.state is not None:
            self.state.set_file_id(item.offer.transfer, file_id)
        if item.flow.step("uploaded"):
            self.room.send_control(
                tf.control_body("uploaded", item.offer.transfer, file_id=file_id)
            )

    def _resume_of(self, transfer: str) -> server_copy.Resume | None:
        state = self.state
        if state is None:
            return None
        return server_copy.Resume(
            state.upload_url(transfer), lambda url: state.set_upload(transfer, url)
        )

    def _stop(self, item: Outgoing) -> None:
        for handle in item.fallback.values():
            handle.cancel()
        item.fallback.clear()
        for task in item.serving.values():
            if task not in self._fast_tasks:  # (it ends by itself: the receiver's next
                task.cancel()  # transfer may come on its connection)

    def cancel_unfinished(self) -> None:
        """Ctrl-C: tell the receivers (the message is stored for them)."""
        for item in self.files.values():
            if not item.flow.over and item.flow.step("cancel"):
                self._stop(item)
                if item.upload:
                    item.upload.cancel()
                self.room.send_control(tf.control_body("cancel", item.offer.transfer))
