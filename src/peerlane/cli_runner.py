"""Running a terminal command (``send``, ``receive``, ``chat``) so that Ctrl-C always ends
the process, promptly and with exit 130 (docs/cli.md, "Exit codes").

``asyncio.run`` turns Ctrl-C into a cancel of its main task, then, before it returns,
waits without any bound for every other task to end once cancelled and for every thread
of its executor (``asyncio.to_thread``) to finish; the interpreter's exit joins those
threads again. One task of a library (aiortc, aioice, websockets) that does not end on
its cancel, or one blocking call in a thread, holds the exit for ever. So the work runs
in a task of its own under a shield: the cancel reaches this wrapper at once, which arms
a backstop (a timer thread that ends the process with 130 if it is still there after
:data:`LEAVE_WITHIN_S`), then cancels the work and waits for it as before (telling the
peer: ``cancel`` messages stored by the server, links closed).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine
from typing import Any

from peerlane.peer import EXIT_INTERRUPTED

# After Ctrl-C: the cancels stored (peer/transfer_room.py waits up to 5 s of the server's
# silence), the WebSocket closed (its close handshake), the links closed (5 s at most).
LEAVE_WITHIN_S = 15.0
FORCED = b"Cancelled; some connections did not close in time (the other side was told).\n"


def run(work: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run(work)``; Ctrl-C raises KeyboardInterrupt as there, or ends the
    process with :data:`EXIT_INTERRUPTED` when the way out takes longer than
    :data:`LEAVE_WITHIN_S`."""
    asyncio.run(_cancel_seen_at_once(work))


async def _cancel_seen_at_once(work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(work)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        if task.done():
            raise
        _leave_by(LEAVE_WITHIN_S)  # whatever holds the way out from here
        task.cancel()
        await task  # its cleanup; raises its CancelledError (asyncio.run: KeyboardInterrupt)
        raise


def _leave_by(seconds: float) -> None:
    def leave() -> None:
        os.write(2, FORCED)  # (not sys.stderr: the main thread may hold its lock)
        os._exit(EXIT_INTERRUPTED)

    timer = threading.Timer(seconds, leave)
    timer.daemon = True  # (it does not hold the exit itself)
    timer.start()
