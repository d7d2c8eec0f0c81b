"""Flood benchmark: what one flooding participant costs everyone else in the room.

A real ``python -m peerlane serve`` on 127.0.0.1 (free port, temporary data directory,
SQLite, default limits except the per-IP ones: every client here is 127.0.0.1, while a
real flooder's neighbours have addresses of their own). One room; ``--clients``
participants connect, and ``--senders`` of them send paced chat (``--rate`` msg/s in
all, the send time in the body). Every client records the latency of every message it
receives from the paced senders.

Two phases of ``--phase`` seconds in the same run, on the same server and connections:

  baseline   the paced chat alone
  flood      the same, while one more participant (its own process) sends chat frames as
             fast as its socket takes them, never waiting for an answer, and reconnects at
             once whenever the server closes or refuses its socket

Printed: p50/p99/max latency per phase and the p99 ratio (target <= 2x), the flooder's
frames sent, sockets opened and refused, and the messages of its that were stored
against its budget (participant burst + rate x flood time). The last line is JSON.

    python bench/flood.py                  # 10 clients, 20 msg/s, 8 s per phase
    python bench/flood.py --phase 5        # shorter
    python bench/flood.py --quick          # smoke run: 3 s per phase
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "tests")]
from _stats import cpu_seconds, percentile  # noqa: E402
from support import ServerProcess  # noqa: E402

DEFAULTS = {  # peerlane's defaults, stated so the printed budget matches the server's
    "participant_messages_per_second": 10.0,
    "participant_message_burst": 40.0,
}


SERVER_ENV = {
    "PEERLANE_LOG_LEVEL": "warning",
    # Everyone here is 127.0.0.1: lift the per-IP limits only.
    "PEERLANE_ROOMS_PER_HOUR": "100000",
    "PEERLANE_JOINS_PER_MINUTE": "100000",
    "PEERLANE_IP_MESSAGES_PER_SECOND": "100000",
    "PEERLANE_IP_MESSAGE_BURST": "100000",
    "PEERLANE_IP_CONNECTS_PER_MINUTE": "100000",
}


# -- the flooder (its own process, so its loop does not slow the measured clients) --


async def _flood(url: str, token: str, seconds: float) -> dict[str, float]:
    stats = {"sent": 0, "opened": 0, "refused": 0, "closed_1008": 0, "first": 0.0, "last": 0.0}
    headers = {"Authorization": f"Bearer {token}"}
    stats["first"] = time.time()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ws: ClientConnection | None = None
        try:
            async with connect(url, additional_headers=headers, max_queue=None) as ws:
                stats["opened"] += 1
                closed = asyncio.ensure_future(ws.wait_closed())
                try:
                    while time.monotonic() < deadline and not closed.done():
                        n = int(stats["sent"])
                        await ws.send(json.dumps({"type": "chat", "id": f"x{n}", "body": n}))
                        stats["sent"] += 1
                        stats["last"] = time.time()
                        if n % 50 == 0:
                            await asyncio.sleep(0)  # let the socket read the replies
                finally:
                    closed.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await closed
        except (ConnectionClosed, InvalidHandshake, OSError):
            pass
        code = ws.close_code if ws is not None else None
        stats["refused"] += code == 1013
        stats["closed_1008"] += code == 1008
    return stats


def flooder(url: str, token: str, seconds: float, out: Any) -> None:
    # A real flooder runs on its own machine; here it shares the server's cores, so it
    # runs at the lowest priority: what is measured is its cost to the server, not its
    # competition for this machine's CPU.
    os.nice(19)
    out.put(asyncio.run(_flood(url, token, seconds)))


# -- the measured clients --


class Client:
    def __init__(self, ws: ClientConnection, name: str) -> None:
        self.ws = ws
        self.name = name
        self.latencies: list[tuple[float, float]] = []  # (receive time, latency in s)

    async def read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                now = time.time()
                msg = json.loads(raw)
                body = msg.get("body")
                if msg.get("type") == "message" and isinstance(body, dict) and "t" in body:
                    self.latencies.append((now, now - body["t"]))


async def paced(clients: list[Client], senders: int, rate: float, until: float, tag: str) -> int:
    start, sent = time.monotonic(), 0
    while time.monotonic() < until:
        due = start + sent / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        client = clients[sent % senders]
        body = {"t": time.time(), "pad": "x" * 80}
        await client.ws.send(json.dumps({"type": "chat", "id": f"{tag}{sent}", "body": body}))
        sent += 1
    return sent


def summary(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(latencies)
    return {
        "n": len(ordered),
        "p50": statistics.median(ordered) * 1000,
        "p99": percentile(ordered, 99) * 1000,
        "max": ordered[-1] * 1000,
    }


async def run(args: argparse.Namespace, base: str, ws_base: str, server_pid: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.post("/api/rooms", json={"display_name": "c0"})
        room = r.json()
        room_id, link = room["room"]["id"], room["invite"]["link"]
        invite = link.split("#", 1)[1]
        tokens = [room["token"]]
        for i in range(1, args.clients + 1):  # the last one is the flooder
            j = await http.post("/api/join", json={"display_name": f"c{i}", "token": invite})
            tokens.append(j.json()["token"])
    url = f"{ws_base}/api/rooms/{room_id}/ws?v=1"
    clients = []
    for i, token in enumerate(tokens[:-1]):
        ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"})
        clients.append(Client(ws, f"c{i}"))
    readers = [asyncio.create_task(c.read()) for c in clients]
    await asyncio.sleep(0.5)  # welcome and synced in; no latency is measured yet

    c0, t0 = cpu_seconds(server_pid), time.time()
    await paced(clients, args.senders, args.rate, time.monotonic() + args.phase, "b")
    c1, t1 = cpu_seconds(server_pid), time.time()
    queue: Any = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(
        target=flooder, args=(url, tokens[-1], args.phase, queue), daemon=True
    )
    proc.start()
    await asyncio.sleep(0.2)  # the flooder's interpreter starting up
    c2, t2 = cpu_seconds(server_pid), time.time()
    await paced(clients, args.senders, args.rate, time.monotonic() + args.phase, "f")
    c3, t3 = cpu_seconds(server_pid), time.time()
    flood = await asyncio.to_thread(queue.get, True, 60)
    proc.join(10)
    await asyncio.sleep(2.0)  # the last paced messages arrive
    closes = [c.ws.close_code for c in clients]
    for c in clients:
        await c.ws.close()
    for task in readers:
        task.cancel()

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        stored = 0
        before = None
        auth = {"Authorization": f"Bearer {tokens[0]}"}
        parts = (await http.get(f"/api/rooms/{room_id}/participants", headers=auth)).json()
        flooder_id = next(p["id"] for p in parts["participants"] if p["name"] == f"c{args.clients}")
        while True:  # walk the history back, counting the flooder's messages
            params: dict[str, int] = {"limit": 100}
            if before is not None:
                params["before"] = before
            r = await http.get(f"/api/rooms/{room_id}/messages", params=params, headers=auth)
            page = r.json()
            stored += sum(m["sender"] == flooder_id for m in page["messages"])
            if not page["has_more"] or not page["messages"]:
                break
            before = page["messages"][0]["seq"]

    def window(a: float, b: float) -> list[float]:
        """Latencies of the messages sent between a and b (by their send time)."""
        return [lat for c in clients for (at, lat) in c.latencies if a <= at - lat <= b]

    timeline = []  # the worst latency per half second of the flood phase (by send time)
    for k in range(int(2 * (t3 - t2)) + 1):
        part = window(t2 + k / 2, t2 + (k + 1) / 2)
        timeline.append(round(max(part) * 1000, 1) if part else None)
    flood_seconds = flood["last"] - flood["first"]
    budget = (
        DEFAULTS["participant_message_burst"]
        + DEFAULTS["participant_messages_per_second"] * flood_seconds
    )
    base_stats, flood_stats = summary(window(t0, t1)), summary(window(t2, t3))
    return {
        "clients": args.clients,
        "senders": args.senders,
        "rate": args.rate,
        "phase_s": args.phase,
        "baseline": base_stats,
        "flood": flood_stats,
        "p99_ratio": flood_stats["p99"] / base_stats["p99"],
        "server_cpu_pct": {
            "baseline": round(100 * (c1 - c0) / (t1 - t0), 1),
            "flood": round(100 * (c3 - c2) / (t3 - t2), 1),
        },
        "flooder": {k: round(v, 3) for k, v in flood.items() if k not in ("first", "last")},
        "flooder_seconds": round(flood_seconds, 2),
        "flooder_stored": stored,
        "flooder_budget": round(budget, 1),
        "client_closes": closes,
        "flood_worst_ms_per_half_second": timeline,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--clients", type=int, default=10, help="measured participants (10)")
    ap.add_argument("--senders", type=int, default=5, help="of them, paced senders (5)")
    ap.add_argument("--rate", type=float, default=20, help="paced messages/s in all (20)")
    ap.add_argument("--phase", type=float, default=8, help="seconds per phase (8)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 3 s per phase")
    args = ap.parse_args()
    if args.quick:
        args.phase = 3.0
    with tempfile.TemporaryDirectory(prefix="peerlane-flood-") as tmp:
        server = ServerProcess(Path(tmp) / "data", env=SERVER_ENV).start()
        assert server.proc is not None
        try:
            ws_base = server.base.replace("http://", "ws://", 1)
            result = asyncio.run(run(args, server.base, ws_base, server.proc.pid))
        finally:
            server.stop()
    b, f, fl = result["baseline"], result["flood"], result["flooder"]
    print(f"{'phase':<10}{'received':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, s in (("baseline", b), ("flood", f)):
        print(f"{name:<10}{s['n']:>10}{s['p50']:>10.1f}{s['p99']:>10.1f}{s['max']:>10.1f}")
    print(f"p99 ratio flood/baseline: {result['p99_ratio']:.2f} (target <= 2)")
    cpu = result["server_cpu_pct"]
    print(f"server CPU (% of one core): baseline {cpu['baseline']}, flood {cpu['flood']}")
    print(
        f"flooder: {int(fl['sent'])} frames sent, {int(fl['opened'])} sockets opened, "
        f"{int(fl['refused'])} refused (1013), {int(fl['closed_1008'])} closed (1008); "
        f"{result['flooder_stored']} stored, budget {result['flooder_budget']} "
        f"({result['flooder_seconds']} s)"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
