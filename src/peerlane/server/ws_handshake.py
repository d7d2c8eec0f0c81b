"""The WebSocket handshake's helpers: the hello in the socket's URL, and refusing a
socket (rate limits, authentication, a server shutting down) with a reason."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping

from starlette.websockets import WebSocket, WebSocketDisconnect

from peerlane.bus.base import Limiter
from peerlane.core import session as core
from peerlane.errors import ErrorCode
from peerlane.server import error_replies as replies
from peerlane.server.services import Services


def url_hello(query: Mapping[str, str]) -> str | None:
    """The hello a client gave in the socket's URL (``?v=1&last_seq=N&resume=T``) as the frame it
    stands for, or None when the URL has none and the client sends hello itself.

    With it the server says welcome as soon as the socket is up, one round trip sooner
    than after a hello frame. The frame goes through the same parser as any other, so a
    bad value gets the same error as in a hello frame: a value that is not a plain
    decimal integer is passed on as a string, which the parser refuses.
    """
    if "v" not in query:
        return None
    hello: dict[str, str | int] = {"type": "hello"}
    for key in ("v", "last_seq"):
        raw = query.get(key)
        if raw is not None:
            hello[key] = int(raw) if raw.isdecimal() and len(raw) <= 18 else raw
    if (resume := query.get("resume")) is not None:
        hello["resume"] = resume  # a string always: the parser checks its shape
    return json.dumps(hello)


async def refuse_open(ws: WebSocket, svc: Services, limiter: Limiter, key: str) -> bool:
    """Spend one socket open from ``key``'s budget; past it, refuse the socket.

    A reconnect storm (a flooder closed with 1008 coming straight back, or a client in
    a loop) is refused with ``rate_limited`` and close code 1013, which clients answer
    with their usual growing backoff: the refusal never syncs, so it does not reset it.
    """
    wait = await limiter.take(key, svc.clock())
    if wait is None:
        return False
    seconds = max(1, math.ceil(wait))
    message = f"Too many connections; try again in {seconds} s."
    await refuse(
        ws,
        replies.websocket_error(svc.metrics, ErrorCode.RATE_LIMITED, message),
        core.CLOSE_TRY_AGAIN_LATER,
        "too many connections; retry later",
    )
    return True


async def refuse(ws: WebSocket, error: str | None, code: int, reason: str) -> None:
    """Say why (``error``, a frame) and close. A client that is gone already -- it may
    close right after the handshake, or have sent something that closed the connection
    -- needs neither: that is no failure of the server (and no traceback in its log)."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        if error is not None:
            await ws.send_text(error)
        await ws.close(code, reason)
