"""A chat client that keeps going through failures, for the scale-out tests.

Each :class:`Chatter` is one participant behind the load balancer: it sends its own
messages one at a time and waits for each ``ack``; when its socket closes or breaks (an
instance killed, draining, or a back-end down) it reconnects through the balancer with
``last_seq`` and resends the message in flight under the same id, as the browser client
does. It records every ``message`` it receives, so a test can check that each client saw
the room's messages once, in seq order, without gaps, and every acked one was stored once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from support import TIMEOUT, Member

# Called before each send: may wait (a random schedule) and may ask for a reconnect
# (True: close the socket and come back through the balancer, likely elsewhere).
Pause = Callable[[], Awaitable[bool]]


async def no_pause() -> bool:
    return False


@dataclass
class Chatter:
    ws_url: Callable[[str], str]
    member: Member
    name: str
    count: int
    source: str = "127.0.0.2"
    pause: Pause = no_pause
    acked: dict[str, int] = field(default_factory=dict)
    seen: list[int] = field(default_factory=list)
    closes: list[int | None] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    connections: int = 0

    @property
    def ids(self) -> list[str]:
        return [f"{self.name}-{i}" for i in range(self.count)]

    @property
    def last_seq(self) -> int:
        return self.seen[-1] if self.seen else 0

    async def run(self, total: Callable[[], int], deadline: float) -> None:
        """Until all of its messages are acked and it has seen seq ``total()``."""
        backoff = 0.05
        while len(self.acked) < self.count or self.last_seq < total():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: acked {len(self.acked)}, seen {self.last_seq}")
            try:
                await self._connected(total, deadline)
                backoff = 0.05
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                self.closes.append(code)
                # A client's reconnect backoff (as the browser's), not a wait for a result.
                await asyncio.sleep(backoff)
                backoff = min(1.0, backoff * 2)

    async def _connected(self, total: Callable[[], int], deadline: float) -> None:
        url = self.ws_url(self.member.room_id) + f"?v=1&last_seq={self.last_seq}"
        async with connect(
            url,
            additional_headers=self.member.auth,
            local_addr=(self.source, 0),
            open_timeout=TIMEOUT,
            max_queue=None,
        ) as ws:
            self.connections += 1
            synced = False
            in_flight: str | None = None
            while len(self.acked) < self.count or self.last_seq < total():
                if synced and in_flight is None and len(self.acked) < self.count:
                    if await self.pause():
                        break  # reconnect: the balancer may pick another instance
                    in_flight = self.ids[len(self.acked)]
                    await ws.send(json.dumps({"type": "chat", "id": in_flight, "body": 1}))
                left = deadline - time.monotonic()
                frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, left)))
                kind = frame["type"]
                if kind == "synced":
                    synced = True
                elif kind == "message":
                    seq = frame["seq"]
                    if seq <= self.last_seq:
                        self.errors.append(f"seq {seq} again after {self.last_seq}")
                    self.seen.append(seq)
                elif kind == "ack" and frame["id"] == in_flight:
                    self.acked[in_flight] = frame["seq"]
                    in_flight = None
                elif kind == "error":
                    self.errors.append(frame["error"]["code"])
            await ws.close()


def check_room(chatters: list[Chatter], stored: list[dict[str, Any]]) -> None:
    """Every acked message stored exactly once with its acked seq, seqs 1..n without
    gaps, and every client saw exactly 1..n in order."""
    seqs = [m["seq"] for m in stored]
    n = sum(c.count for c in chatters)
    assert seqs == list(range(1, n + 1)), seqs
    ids = [m["id"] for m in stored]
    assert len(set(ids)) == len(ids) == n
    by_id = {m["id"]: m["seq"] for m in stored}
    for chatter in chatters:
        assert chatter.acked == {i: by_id[i] for i in chatter.ids}, chatter.name
        assert chatter.seen == list(range(1, n + 1)), (chatter.name, chatter.seen)
        unexpected = [e for e in chatter.errors if e != "unavailable"]
        assert not unexpected, (chatter.name, chatter.errors)


def stored_messages(http: httpx.Client, member: Member) -> list[dict[str, Any]]:
    """The room's whole history, through the HTTP API."""
    out: list[dict[str, Any]] = []
    after = 0
    while True:
        r = http.get(
            f"/api/rooms/{member.room_id}/messages",
            params={"after": after, "limit": 200},
            headers=member.auth,
        )
        assert r.status_code == 200, r.text
        page = r.json()
        out.extend(page["messages"])
        if not page["has_more"]:
            return out
        after = int(out[-1]["seq"])
