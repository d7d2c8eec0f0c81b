"""``peerlane receive``'s side of a transfer (the terminal's web/transfer-incoming.js):
read the room's offers (its history too), ask before accepting, then get each file's
bytes the way that is open — the sender's ``file:<transfer>`` channel on a direct link,
else the server's copy once the sender says ``uploaded`` — into a partial file that a
rerun resumes (peer/partial_file.py), verified block by block and by the root.

Several files are fetched at once (:data:`PARALLEL`), so many small files do not wait
for one round trip each.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiortc import RTCDataChannel

from peerlane.core import fast_path as fp
from peerlane.core import protocol as p
from peerlane.core import transfer_blocks as tb
from peerlane.core import transfer_flow as tf
from peerlane.core.integrity import BLOCK_SIZE
from peerlane.core.transfer_wire import Data, decode_control, label_of
from peerlane.peer import EXIT_DECLINED, EXIT_FAILED, PeerError
from peerlane.peer.channel_receive import over_channel
from peerlane.peer.fast_link import Identity
from peerlane.peer.fast_receive import FastReceive
from peerlane.peer.incoming import Candidate, Incoming, download_copy, take_data, written
from peerlane.peer.partial_file import PartialFile, check_target, target_for
from peerlane.peer.transfer_room import TransferRoom, p2p_words

PARALLEL = 8
SENDER_GONE_S = 60.0  # an accepted file's sender away this long (no server copy): give up
# A batch's offers still missing after this long without a new one (a browser offers the
# files picked together one by one as it hashes them; one it could not read never comes):
# what came is taken.
BATCH_GAP_S = 60.0
SAVE_EVERY_S = 0.2  # resume state of a large file: at most this often
SAVE_EACH_BLOCK_UP_TO = 1024  # blocks: smaller files record every verified block
SAVE_SHARES = 64  # and every 1/64 of the file's blocks
# (on the data channel; the fast path moves a block in milliseconds, and rewriting the
# state, hash list included, after each one took a third of the receiver's time)

Ask = Callable[[list[Candidate]], Awaitable[bool]]
Advance = Callable[[int], None]
Reply = Callable[[str], None]  # a control frame back to the sender


class Receiver:
    def __init__(
        self,
        room: TransferRoom,
        out_dir: Path,
        *,
        overwrite: bool,
        ask: Ask,
        start: Callable[[int, int], None],  # total bytes, bytes already here
        advance: Advance,
        identity: Identity | None = None,  # None: no fast path
    ) -> None:
        self.room = room
        self.out_dir = out_dir
        self.overwrite = overwrite
        self.ask = ask
        self.start = start
        self.advance = advance
        self.identity = identity
        self.offers: dict[str, Candidate] = {}
        self.ended: set[str] = set()  # cancelled by their sender
        self.uploaded: dict[str, str] = {}  # transfer → the server copy's file id
        self.decided: set[str] = set()
        self.items: dict[str, Incoming] = {}
        self.paths: set[str] = set()
        self.bytes_received = 0
        self._synced = False
        self._deciding = False
        self._consider_soon: asyncio.Handle | None = None
        self._last_offer_at = 0.0  # (the loop's clock)
        self._batch_recheck: asyncio.TimerHandle | None = None
        self._done = 0
        self._slots = asyncio.Semaphore(PARALLEL)
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._fast = (
            FastReceive(identity, self._handle, self._after_data, self._on_frame)
            if identity is not None
            else None
        )

    # --- Side ----------------------------------------------------------------------------

    def on_synced(self) -> None:
        self._synced = True
        self._consider()

    def _consider_later(self) -> None:
        """Once per turn of the loop: a batched offer brings thousands at once."""
        if self._consider_soon is None:
            self._consider_soon = asyncio.get_running_loop().call_soon(self._consider)

    def on_file_message(self, message: p.Message) -> None:
        body = message.body
        transfer = tf.transfer_id(body)
        if transfer is None or not isinstance(body, dict):
            return
        offer = tf.parse_offer(body, self.room.participant_id)
        if offer is not None and transfer not in self.offers:
            self.offers[transfer] = Candidate(offer, message.sender, message.sender_name)
            self._last_offer_at = asyncio.get_running_loop().time()
            self._consider_later()
            return
        known = self.offers.get(transfer)
        if known is None or message.sender != known.sender:
            return  # only the offer's sender can cancel it or say "uploaded"
        item = self.items.get(transfer)
        if offer is not None:
            self._offered_again(known, offer, item)
            return
        if body.get("op") == "cancel":
            self.ended.add(transfer)
            if item is not None and item.flow.step("peer-cancel"):
                self.room.finish(
                    PeerError(f"{known.sender_name} cancelled {item.offer.name}.", EXIT_DECLINED)
                )
        elif body.get("op") == "uploaded" and isinstance(body.get("file_id"), str):
            self.uploaded[transfer] = str(body["file_id"])
            if item is not None:
                item.file_id = self.uploaded[transfer]
                self._wake()

    def _offered_again(self, known: Candidate, offer: tf.Offer, item: Incoming | None) -> None:
        """The same transfer offered again by its sender (a rerun of a killed ``send``,
        web/transfer.js's offeredAgain): the same file, so nothing is asked again; its
        fast path and peer are the new run's (the old listener went with the old run)."""
        if (offer.root, offer.size) != (known.offer.root, known.offer.size):
            return
        candidate = replace(known, offer=replace(known.offer, fast=offer.fast, peer=offer.peer))
        self.offers[offer.transfer] = candidate
        if item is not None:
            item.candidate = candidate
            item.fast_failed = False  # (the old listener's refusal says nothing of the new)
            self._wake()

    def on_channel(self, peer_id: str, channel: RTCDataChannel) -> None:
        channel.close()  # a receiver opens its channels; it serves none

    def on_links_changed(self) -> None:
        self._wake()
        self._consider()  # someone came back: their offers may be taken now

    # --- which offers, and asking --------------------------------------------------------

    def _consider(self) -> None:
        self._consider_soon = None
        # Once finishing (declined, failed), nothing more is asked (closing links call back)
        if not self._synced or self._deciding or self.room.finished.done():
            return
        waiting = [
            c
            for t, c in self.offers.items()
            if t not in self.decided and t not in self.ended and self._obtainable(c)
        ]
        if not waiting:
            return
        newest = waiting[-1]
        if newest.offer.batch is not None:  # all offers of one `peerlane send`, together
            waiting = [c for c in waiting if c.offer.batch == newest.offer.batch]
            if len(waiting) < (newest.offer.count or 0) and self._batch_may_grow():
                return  # the rest of the batch is still coming
        self._deciding = True
        self._spawn(self._decide(waiting))

    def _batch_may_grow(self) -> bool:
        """Whether the rest of an incomplete batch may still come (a new offer came within
        BATCH_GAP_S); if so, it is looked at again once that has passed."""
        loop = asyncio.get_running_loop()
        quiet = loop.time() - self._last_offer_at
        if quiet >= BATCH_GAP_S:
            return False
        if self._batch_recheck is not None:
            self._batch_recheck.cancel()
        self._batch_recheck = loop.call_later(BATCH_GAP_S - quiet, self._consider_later)
        return True

    def _obtainable(self, candidate: Candidate) -> bool:
        """An offer whose sender is in the room now, or whose file is on the server: the
        room's history also holds offers of senders long gone."""
        if candidate.sender == self.room.participant_id:
            return False
        return bool(self.room.peers_of(candidate.sender)) or (
            candidate.offer.transfer in self.uploaded
        )

    async def _decide(self, candidates: list[Candidate]) -> None:
        try:
            # One file per name: of offers with the same name, the newest (sent again).
            taken = {i.partial.target for i in self.items.values()}
            newest = {target_for(self.out_dir, c.offer.name): c for c in candidates}
            for c in candidates:
                if newest.get(target_for(self.out_dir, c.offer.name)) is not c:
                    self.decided.add(c.offer.transfer)
            candidates = [c for t, c in newest.items() if t not in taken]
            if not candidates:
                return
            targets = [target_for(self.out_dir, c.offer.name) for c in candidates]
            for target in targets:
                check_target(target, overwrite=self.overwrite)
            if not await self.ask(candidates):
                for c in candidates:
                    self.decided.add(c.offer.transfer)  # declined: never asked again
                    self.room.send_control(tf.control_body("decline", c.offer.transfer))
                self.room.finish(PeerError("You declined the files.", EXIT_DECLINED))
                return
            items = []
            for c, target in zip(candidates, targets, strict=True):
                partial = PartialFile(target, c.offer.root, c.offer.size)
                item = Incoming(c, partial, partial.receiver(c.offer.key))
                item.file_id = self.uploaded.get(c.offer.transfer)
                item.flow.step("accept")
                self.decided.add(c.offer.transfer)
                self.items[c.offer.transfer] = item
                items.append(item)
                if c.offer.bulk:  # all accepted in as few messages as fit
                    self.room.send_bulk("accept", c.offer.transfer, **self._accept_fields(item))
            total = sum(i.offer.size for i in self.items.values())
            have = sum(min(len(i.receiver.verified) * BLOCK_SIZE, i.offer.size) for i in items)
            self.start(total, have)
            for item in items:
                self._spawn(self._get(item))
        finally:
            self._deciding = False
        self._consider()

    # --- getting one file ----------------------------------------------------------------

    async def _get(self, item: Incoming) -> None:
        async with self._slots:
            if not item.offer.bulk:
                self.room.send_control(
                    tf.control_body("accept", item.offer.transfer, **self._accept_fields(item))
                )
            loop = asyncio.get_running_loop()
            alone_since: float | None = None
            while not item.flow.over and not item.receiver.finished:
                if item.file_id is not None:
                    await self._download(item)
                    continue
                if self._fast_usable(item):
                    await self._over_fast(item)
                    continue
                peer = self._sender_peer(item)
                if peer is None or not await self._over_channel(item, peer):
                    gone = not self.room.peers_of(item.candidate.sender)
                    alone_since = (alone_since or loop.time()) if gone else None
                    if alone_since is not None and loop.time() - alone_since > SENDER_GONE_S:
                        raise PeerError(
                            f"{item.candidate.sender_name} left before {item.offer.name} "
                            "arrived; run the same command again when they are back: it "
                            "resumes.",
                            EXIT_FAILED,
                        )
                    self._changed.clear()
                    await _within(self._changed.wait(), 1.0)
            item.partial.close()
        self._check_all_done()

    def _accept_fields(self, item: Incoming) -> dict[str, Any]:
        fast = self.identity if self._fast_usable(item) else None
        extra = {"fast": fp.accept_fields(fast.cert_der)} if fast else {}
        return {"have": item.receiver.have, **extra}

    def _sender_peer(self, item: Incoming) -> str | None:
        peers = [
            peer
            for peer in self.room.peers_of(item.candidate.sender)
            if self.room.links.is_open(peer)
        ]
        return item.offer.peer if item.offer.peer in peers else (peers[0] if peers else None)

    async def _over_channel(self, item: Incoming, peer_id: str) -> bool:
        """One channel, until it closes or the file is whole; whether bytes came."""
        channel = self.room.links.open_channel(peer_id, label_of(item.offer.transfer))
        if channel is None:
            return False
        heard = await over_channel(
            channel,
            item,
            self._handle,
            self._on_frame,
            opened=lambda: self.paths.add(p2p_words(self.room.links.path_of(peer_id))),
        )
        if heard is None:
            return False
        self._save(item, force=True)
        item.flow.step("channel-closed")
        return heard

    def _on_frame(self, item: Incoming, frame: object, reply: Reply) -> bool:
        """A data or control frame of the sender's (channel or fast path); whether it
        brought file bytes."""
        if isinstance(frame, bytes):
            return self._after_data(item, *take_data(item, frame), reply)
        control = decode_control(frame) if isinstance(frame, str) else None
        self._handle(item, item.receiver.on_control(control) if control else [], reply)
        return False

    def _after_data(
        self, item: Incoming, data: Data | None, outputs: list[tb.Output], reply: Reply
    ) -> bool:
        if data:
            self.bytes_received += len(data.payload)
            item.flow.step("bytes-flowing")
        self._handle(item, outputs, reply)
        return data is not None

    def _fast_usable(self, item: Incoming) -> bool:
        return self.identity is not None and item.offer.fast is not None and not item.fast_failed

    async def _over_fast(self, item: Incoming) -> None:
        """The sender's direct-TCP listener (peer/fast_receive.py), until the file is
        whole; when it cannot be reached, is not who the offer named or drops before the
        end, the data channel takes over (from the first unverified block, as after any
        dropped channel)."""
        assert self._fast is not None
        if await self._fast.over(item):
            self.paths.add("fast path")
            self._save(item, force=True)
            item.flow.step("channel-closed")

    async def _download(self, item: Incoming) -> None:
        self.paths.add("server")
        item.flow.step("bytes-flowing")
        await download_copy(self.room.member, item, self._take_block)

    async def _take_block(self, item: Incoming, block: int, data: bytes) -> bool:
        self.bytes_received += len(data)
        self._handle(item, written(item, item.receiver.on_block(block, data)), None)
        return not item.receiver.finished and not item.flow.over

    def _handle(self, item: Incoming, outputs: list[tb.Output], reply: Reply | None) -> None:
        for out in outputs:
            if isinstance(out, tb.Send):
                if reply is not None:
                    reply(out.control.encode())
            elif isinstance(out, tb.Write):  # (written by incoming.written)
                self.advance(len(out.data))
                self._save(item)
            elif isinstance(out, tb.Verified):
                item.partial.finish(overwrite=self.overwrite)
                item.flow.step("verified")
                self._done += 1
                if item.offer.bulk:
                    self.room.send_bulk("done", item.offer.transfer)
                else:
                    self.room.send_control(tf.control_body("done", item.offer.transfer))
            else:
                item.flow.step("fail")
                self.room.send_control(
                    tf.control_body("cancel", item.offer.transfer, reason=out.reason)
                )
                self.room.finish(PeerError(f"{item.offer.name}: {out.reason}", EXIT_FAILED))

    def _save(self, item: Incoming, *, force: bool = False) -> None:
        if item.receiver.finished:
            return
        now = time.monotonic()
        each = item.receiver.blocks <= SAVE_EACH_BLOCK_UP_TO and not item.fast_now
        verified = len(item.receiver.verified)
        # A share of the file as well as a time: what a killed run loses stays under
        # 1/SAVE_SHARES of the file however fast it goes (the resume bound is 1.1x).
        share = verified - item.saved_blocks >= item.receiver.blocks / SAVE_SHARES
        if force or each or share or now - item.saved_at >= SAVE_EVERY_S:
            item.partial.save(item.receiver)
            item.saved_at, item.saved_blocks = now, verified

    def _check_all_done(self) -> None:
        done = self._done == len(self.items)  # (counted: thousands of files)
        if self.items and done and not self._deciding:
            if self._fast is not None:
                self._spawn(self._fast.close())
            self.room.finish()

    def cancel_unfinished(self) -> None:
        """Ctrl-C: keep what is verified (a rerun resumes) and tell the sender."""
        for item in self.items.values():
            if not item.flow.over and item.flow.step("cancel"):
                self._save(item, force=True)
                item.partial.close()
                self.room.send_control(tf.control_body("cancel", item.offer.transfer))

    def _wake(self) -> None:
        self._changed.set()

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._failed)

    def _failed(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if isinstance(error, PeerError):
            self.room.finish(error)
        elif error is not None:
            self.room.finish(PeerError(f"The transfer failed ({error}).", EXIT_FAILED))


async def _within(wait: Awaitable[object], seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wait, seconds)
