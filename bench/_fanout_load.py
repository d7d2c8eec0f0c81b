"""chat_fanout.py's load generator: the shared paced schedule, each participant's
connection recording what it received, and the entry point of a generator process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from array import array
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from _e2e_bodies import Sealer
from _fanout_server import Member

DRAIN_GRACE = 10.0  # seconds after the last send; later deliveries count as lost


@dataclass
class Plan:
    """The shared schedule: message i is due at start_ns + i / rate, sent by i % clients."""

    start_ns: int
    rate: float
    clients: int
    first_measured: int  # index of the first message sent after the warm-up
    total: int  # messages sent in all (warm-up included)
    body_pad: str

    def due_ns(self, i: int) -> int:
        return self.start_ns + round(i * 1e9 / self.rate)


class Client:
    """One participant's connection, with what it received."""

    def __init__(self, index: int, member: Member, sealer: Sealer | None = None) -> None:
        self.index = index
        self.member = member
        # An encrypted room: bodies are sealed before sending and opened on arrival.
        self.sealer = sealer
        self.key = sealer.key() if sealer else None
        self.ws: Any = None
        self.plan: Plan | None = None
        self.received_all = 0  # messages of this run (any index)
        self.received = 0  # messages sent in the measured window
        self.latency_us = array("q")
        self.latency_index = array("q")  # the message index of each latency sample
        self.last_seq: int | None = None
        self.gaps = 0  # seqs skipped
        self.disorder = 0  # seqs repeated or going backwards
        self.errors: list[str] = []
        self.closed: str | None = None
        self.done = asyncio.Event()

    async def connect(self, url: str, compression: str | None) -> None:
        from websockets.asyncio.client import connect

        headers = {"Authorization": f"Bearer {self.member.token}"} if self.member.token else {}
        self.ws = await connect(
            url, additional_headers=headers, max_size=None, compression=compression
        )
        await self.ws.send(json.dumps({"type": "hello", "v": 1}))
        while json.loads(await self.ws.recv())["type"] != "synced":
            pass  # welcome, presence of others joining

    async def read(self, acks: dict[int, int], ack_us: array[int]) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                now = time.time_ns()
                msg = json.loads(raw)
                if msg["type"] == "message":
                    self._message(msg, now)
                elif msg["type"] == "ack":
                    i = int(msg["id"][1:])
                    sent = acks.pop(i, None)
                    if sent is not None and self.plan and i >= self.plan.first_measured:
                        ack_us.append((now - sent) // 1000)
                elif msg["type"] == "error":
                    self.errors.append(msg["error"]["code"])
        except ConnectionClosed as exc:
            self.closed = f"{exc.rcvd.code if exc.rcvd else 'no close frame'}"
        finally:
            self.done.set()

    def _message(self, msg: dict[str, Any], now: int) -> None:
        seq = msg["seq"]
        if self.last_seq is not None:
            if seq > self.last_seq + 1:
                self.gaps += seq - self.last_seq - 1
            elif seq <= self.last_seq:
                self.disorder += 1
        self.last_seq = max(seq, self.last_seq or 0)
        body, plan = msg["body"], self.plan
        if self.sealer is not None and self.key is not None:
            body = self.sealer.open(self.key, body, sender=msg["sender"], content_id=msg["id"])
        if plan is None or not isinstance(body, dict) or "i" not in body:
            return
        self.received_all += 1
        if body["i"] >= plan.first_measured:
            self.received += 1
            self.latency_us.append((now - body["t"]) // 1000)
            self.latency_index.append(body["i"])
        if self.received_all >= plan.total:
            self.done.set()


async def generate(
    pipe: Connection,
    url: str,
    members: list[tuple[int, Member]],
    compression: str | None,
    sealer: Sealer | None = None,
) -> dict[str, Any]:
    clients = [Client(i, m, sealer) for i, m in members]
    await asyncio.gather(*(c.connect(url, compression) for c in clients))
    acks: dict[int, int] = {}
    ack_us: array[int] = array("q")
    readers = [asyncio.create_task(c.read(acks, ack_us)) for c in clients]
    loop = asyncio.get_running_loop()
    pipe.send("ready")
    plan: Plan = await loop.run_in_executor(None, pipe.recv)
    for c in clients:
        c.plan = plan
    mine = {c.index: c for c in clients}
    lag_us = array("q")
    sent = sent_measured = 0
    for i in range(plan.total):
        client = mine.get(i % plan.clients)
        if client is None:
            continue
        due = plan.due_ns(i)
        if (wait := due - time.time_ns()) > 0:
            await asyncio.sleep(wait / 1e9)
        now = time.time_ns()
        lag_us.append((now - due) // 1000)
        if client.closed is not None:
            continue
        body: Any = {"t": now, "i": i, "pad": plan.body_pad}
        if client.sealer is not None and client.key is not None:
            sender = client.member.participant_id
            body = client.sealer.seal(client.key, body, sender=sender, content_id=f"b{i}")
        acks[i] = now
        await client.ws.send(json.dumps({"type": "chat", "id": f"b{i}", "body": body}))
        sent += 1
        sent_measured += i >= plan.first_measured
    pipe.send(("sent", sent))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_GRACE):
            await asyncio.gather(*(c.done.wait() for c in clients))
    for task in readers:
        task.cancel()
    await asyncio.gather(*(c.ws.close() for c in clients), return_exceptions=True)
    latency, index = array("q"), array("q")
    for c in clients:
        latency.extend(c.latency_us)
        index.extend(c.latency_index)
    return {
        "deflate": any(c.ws.protocol.extensions for c in clients),
        "sent": sent,
        "sent_measured": sent_measured,
        "received": sum(c.received for c in clients),
        "latency_us": latency,
        "latency_index": index,
        "ack_us": ack_us,
        "lag_us": lag_us,
        "gaps": sum(c.gaps for c in clients),
        "disorder": sum(c.disorder for c in clients),
        "errors": [e for c in clients for e in c.errors],
        "closed": [c.closed for c in clients if c.closed is not None],
    }


def generator_main(
    pipe: Connection,
    url: str,
    members: list[tuple[int, Member]],
    compression: str | None,
    sealer: Sealer | None = None,
) -> None:
    """Entry point of one load-generator process (spawned: a fresh interpreter)."""
    coro = generate(pipe, url, members, compression, sealer)
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(coro)
    else:
        result = uvloop.run(coro)
    pipe.send(("result", result))
