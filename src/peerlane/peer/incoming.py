"""One file ``peerlane receive`` takes (peer/file_receive.py): the offer it came with,
its partial file and block intake, and its state; a block's verifying and writing,
which touch nothing of the event loop's (the fast path runs them in a thread while it
reads the next block); and the download of its server copy (clear, or an encrypted
room's sealed blocks) from the first block it lacks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from peerlane.core import transfer_blocks as tb
from peerlane.core import transfer_flow as tf
from peerlane.core.transfer_wire import Data, decode_data
from peerlane.peer import EXIT_FAILED, PeerError, server_copy
from peerlane.peer.http_api import Membership
from peerlane.peer.partial_file import PartialFile


@dataclass(frozen=True, slots=True)
class Candidate:
    offer: tf.Offer
    sender: str  # participant id
    sender_name: str


@dataclass
class Incoming:
    candidate: Candidate
    partial: PartialFile
    receiver: tb.BlockReceiver
    flow: tf.Flow = field(default_factory=lambda: tf.Flow(tf.INCOMING))
    file_id: str | None = None
    saved_at: float = 0.0
    saved_blocks: int = 0  # verified blocks the saved resume state names
    fast_failed: bool = False
    fast_now: bool = False  # the bytes come over the fast path now

    @property
    def offer(self) -> tf.Offer:
        return self.candidate.offer


def take_data(item: Incoming, frame: bytes) -> tuple[Data | None, list[tb.Output]]:
    """A data frame verified and its block written (no event loop state: the fast path
    runs it in a thread)."""
    data = decode_data(frame)
    return data, written(item, item.receiver.on_data(data)) if data else []


def written(item: Incoming, outputs: list[tb.Output]) -> list[tb.Output]:
    for out in outputs:
        if isinstance(out, tb.Write):
            item.partial.write(out.block, out.data)
    return outputs


async def download_copy(
    member: Membership,
    item: Incoming,
    take: Callable[[Incoming, int, bytes], Coroutine[Any, Any, bool]],
) -> None:
    """The server's copy of ``item`` from its first unverified block, each whole block to
    ``take`` on the event loop (False: stop); the download itself blocks, in a thread."""
    loop = asyncio.get_running_loop()

    def take_block(block: int, data: bytes) -> bool:
        return asyncio.run_coroutine_threadsafe(take(item, block, data), loop).result()

    assert item.file_id is not None
    await asyncio.to_thread(
        server_copy.download,
        member,
        item.file_id,
        item.offer.root,
        item.receiver.have,
        take_block,
        sealed=item.offer.key is not None,  # an encrypted room's copy: its sealed blocks
    )
    if not item.receiver.finished and not item.flow.over:
        raise PeerError(
            f"The server's copy of {item.offer.name} ended early; run the command again to resume.",
            EXIT_FAILED,
        )
