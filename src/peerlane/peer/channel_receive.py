"""The receiving end of a ``file:<transfer>`` data channel (docs/file-transfer.md,
"Peer-to-peer data channel"), the one ``peerlane receive`` opened on its direct link to
the sender: the file's frames until the channel closes or the file is whole."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiortc import RTCDataChannel

from peerlane.core import transfer_blocks as tb
from peerlane.peer.incoming import Incoming

OPEN_WITHIN_S = 15.0  # a channel that does not open by then is given up (and tried again)
_OPEN = object()

Reply = Callable[[str], None]
Handle = Callable[[Incoming, list[tb.Output], Reply], None]
OnFrame = Callable[[Incoming, object, Reply], bool]  # whether the frame brought bytes


async def over_channel(
    channel: RTCDataChannel,
    item: Incoming,
    handle: Handle,
    on_frame: OnFrame,
    opened: Callable[[], None] = lambda: None,
) -> bool | None:
    """Whether bytes came; ``None`` when the channel never opened (closed again).
    ``opened`` is called once the channel is up (the link's path is known then)."""
    frames: asyncio.Queue[object] = asyncio.Queue()
    channel.on("open", lambda: frames.put_nowait(_OPEN))
    channel.on("message", frames.put_nowait)
    channel.on("close", lambda: frames.put_nowait(None))
    heard = False
    try:
        frame = await asyncio.wait_for(frames.get(), OPEN_WITHIN_S)
    except TimeoutError:
        channel.close()
        return None
    opened()

    def reply(text: str) -> None:
        if channel.readyState == "open":
            channel.send(text)

    while frame is not None and not item.receiver.finished and not item.flow.over:
        if frame is _OPEN:
            handle(item, item.receiver.start(), reply)
        else:
            heard = on_frame(item, frame, reply) or heard
        if not item.receiver.finished:
            frame = await frames.get()
    channel.close()
    return heard
