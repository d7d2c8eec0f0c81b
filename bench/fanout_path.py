"""The chat fan-out's per-delivery CPU, in process: one room event to N connections.

chat_fanout.py measures the whole server on a machine shared with other work, where the
CPU per message moves with how starved the server is (docs/benchmarks.md). This measures
only the path a room message takes from ``bus.publish`` to each socket's write, in one
process, with CPU time (``time.process_time``), so it is steady on a busy machine:

- peerlane: ``--connections`` real :class:`~peerlane.server.ws_connection.Connection`
  objects (open sessions, a shared MemoryBus, their events tasks running), each on a
  socket whose writes only count (no syscall). The socket offers the scope's direct
  write (``ws_transport.SEND_NOW``) as uvicorn's protocol does under peerlane, so a
  version that uses it takes that path; an older one awaits ``send_text`` (Starlette's
  and uvicorn's layers below it are not included: that figure is a lower bound).
- websockets: what ``websockets.asyncio.server.broadcast`` (the bare baseline of
  chat_fanout.py) does per connection, ``send_text`` and ``data_to_send`` of its
  sans-I/O protocol, without the transport write.

``--compare-with REV`` also measures a git revision (a temporary worktree, as
chat_fanout.py does), in a process of its own with that tree's ``src`` first.

    python bench/fanout_path.py
    python bench/fanout_path.py --compare-with HEAD~3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]
from _variants import add_worktree, remove_worktree  # noqa: E402


class CountingSocket:
    """A connected socket whose writes only count."""

    def __init__(self, send_now_key: str) -> None:
        from starlette.websockets import WebSocketState

        self.client_state = WebSocketState.CONNECTED
        self.application_state = WebSocketState.CONNECTED
        self.scope = {"extensions": {send_now_key: self._send_now}}
        self.written = 0

    def _send_now(self, text: str) -> int:
        self.written += 1
        return len(text)

    async def send_text(self, text: str) -> None:
        self.written += 1


async def peerlane_path(connections: int, events: int, rounds: int) -> list[float]:
    """µs of CPU per delivery, per round, through the tree on sys.path."""
    from peerlane.core import protocol as p
    from peerlane.core import session as core
    from ws_fakes import fake_connection

    send_now_key = "peerlane.send_text_now"  # ws_transport.SEND_NOW, absent in old trees
    with tempfile.TemporaryDirectory() as tmp:
        sockets = [CountingSocket(send_now_key) for _ in range(connections)]
        conns = [fake_connection(Path(tmp) / str(i), ws) for i, ws in enumerate(sockets)]
        services = conns[0].services
        for conn in conns:
            conn.services = services  # one app: one bus
            conn.session.receive('{"type":"hello","v":1}', conn.session.now)
            conn.session.joined(core.RoomSnapshot("Room", 0, [], [], {}), None)
        bus = services.bus
        subscriptions = [bus.subscribe("r1") for _ in conns]
        tasks = []
        for conn, cm in zip(conns, subscriptions, strict=True):
            sub = await cm.__aenter__()
            tasks.append(asyncio.create_task(conn._events(sub)))
        await asyncio.sleep(0)  # the events tasks start (and listen, where they do)
        results, seq = [], 0
        for _ in range(rounds):
            batch = []
            for _ in range(events):
                seq += 1
                body = {"t": seq, "pad": "x" * 100}
                chat = p.Message(
                    seq=seq, id=f"b{seq}", sender="u2", sender_name="c", ts=1.0, body=body
                )
                batch.append(core.RoomEvent("r1", chat))
            want = seq
            started = time.process_time()
            for event in batch:
                await bus.publish(event)
            while min(ws.written for ws in sockets) < want:
                await asyncio.sleep(0)  # queued deliveries: the events tasks run
            results.append((time.process_time() - started) / events / connections * 1e6)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return results


def websockets_path(connections: int, events: int, rounds: int) -> list[float]:
    from websockets.protocol import OPEN, Protocol, Side

    protocols = [Protocol(Side.SERVER, state=OPEN) for _ in range(connections)]
    results = []
    for r in range(rounds):
        texts = [
            json.dumps({"type": "message", "seq": r * events + i, "pad": "x" * 100})
            for i in range(events)
        ]
        started = time.process_time()
        for text in texts:
            data = text.encode()  # broadcast() encodes once
            for protocol in protocols:
                protocol.send_text(data)
                protocol.data_to_send()
        results.append((time.process_time() - started) / events / connections * 1e6)
    return results


def measure_in_subprocess(src: Path, args: argparse.Namespace) -> list[float]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    cmd = [sys.executable, __file__, "--inner", "--connections", str(args.connections)]
    cmd += ["--events", str(args.events), "--rounds", str(args.rounds)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=True)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--events", type=int, default=500, help="room messages per round (500)")
    ap.add_argument("--rounds", type=int, default=7, help="rounds; the median is reported (7)")
    ap.add_argument("--compare-with", metavar="REV", help="also measure this git revision")
    ap.add_argument("--quick", action="store_true", help="smoke run: 100 events, 3 rounds")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.events, args.rounds = 100, 3
    if args.inner:
        print(json.dumps(asyncio.run(peerlane_path(args.connections, args.events, args.rounds))))
        return 0
    report: dict[str, Any] = {"bench": "fanout_path", "connections": args.connections}
    rows = [("peerlane", measure_in_subprocess(HERE.parent / "src", args))]
    with tempfile.TemporaryDirectory(prefix="peerlane-bench-") as tmp:
        worktree = Path(tmp) / "worktree"
        try:
            if args.compare_with:
                variant = add_worktree(args.compare_with, worktree)
                rows.append(
                    (
                        f"peerlane@{args.compare_with}",
                        measure_in_subprocess(variant.tree / "src", args),
                    )
                )
        finally:
            remove_worktree(worktree)
    rows.append(
        ("websockets broadcast", websockets_path(args.connections, args.events, args.rounds))
    )
    print(f"CPU per delivery, {args.connections} connections, median of {args.rounds} rounds:")
    for name, values in rows:
        each = ", ".join(f"{v:.2f}" for v in values)
        print(f"  {name:28s} {median(values):6.2f} µs  (rounds: {each})")
        report[name] = round(median(values), 2)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
