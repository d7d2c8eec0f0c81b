"""PeerJS signaling benchmark: peerjs-server (``peer`` from npm) against peerlane's
PeerJS endpoint, one after the other in the same run, with the same load generator.

Each server is started on 127.0.0.1 (peerjs-server: ``node_modules/.bin/peerjs --path
/peerjs``; peerlane: ``python -m peerlane serve`` with its per-IP limits lifted, since
every client comes from 127.0.0.1). ``--peers`` PeerJS sockets (1,000) are spread over
``--procs`` load-generator processes (asyncio + ``websockets``) and paired inside each
process. Phases, each ``--duration`` seconds after ``--warmup``:

  closed      every pair ping-pongs CANDIDATE frames (a receipt triggers the reply)
  <N>/s       a fixed total rate of CANDIDATEs from the first peer of each pair to the
              second (message i is due at start + i / rate), for each of ``--rates``
  idle        ``--idle`` more sockets that only connect: server RSS per connection

Every CANDIDATE carries its send time (``time.time_ns()``: one clock for every
process on this machine); the receiver records send -> receive latency.

Columns: relayed msg/s (received by peers, in the window), p50 / p99 in ms, server CPU
seconds per 1,000 relayed frames (utime + stime of the server process from /proc),
lag p99 (how late the generators sent against the schedule: the generator, not the
server, is the bottleneck if it grows). The last line is one JSON object with the
ratios peerlane / peerjs-server (targets: CPU per message <= 1.0, p99 at 5k/s <= 1.0,
memory per connection <= 1.0).

    python bench/signaling.py --quick          # 200 peers, 3 s phases
    python bench/signaling.py                  # 1,000 peers, closed + 1k/5k/10k, 2,000 idle
    python bench/signaling.py --idle 10000     # the issue's 10,000 idle sockets
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from _stats import cpu_seconds, percentile

REPO = Path(__file__).resolve().parents[1]
PEER_SERVER = REPO / "node_modules" / ".bin" / "peerjs"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    kind: str, workdir: Path, extra_env: dict[str, str] | None = None, name: str | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """``kind`` on a free loopback port (``extra_env``: more PEERLANE_ settings; ``name``:
    its log and data directory, for several of one kind); the process and its port."""
    port = free_port()
    name = name or kind
    log = (workdir / f"{name}.log").open("ab")
    if kind == "peerjs-server":
        cmd = [str(PEER_SERVER), "--port", str(port), "--host", "127.0.0.1", "--path",
               "/peerjs", "--alive_timeout", "600000", "--concurrent_limit", "100000"]  # fmt: skip
        env = dict(os.environ)
    else:
        cmd = [sys.executable, "-m", "peerlane", "serve"]
        big = "10000000"
        env = {
            **os.environ,
            "PEERLANE_DATA_DIR": str(workdir / f"{name}-data"),
            "PEERLANE_HOST": "127.0.0.1",
            "PEERLANE_PORT": str(port),
            "PEERLANE_LOG_LEVEL": "warning",
            "PEERLANE_PEERJS_ALIVE_TIMEOUT": "600",
            "PEERLANE_PEERJS_CONCURRENT_LIMIT": "100000",
            "PEERLANE_PEERJS_IP_CONNECTS_PER_MINUTE": big,
            "PEERLANE_PEERJS_IP_MESSAGES_PER_SECOND": big,
            "PEERLANE_PEERJS_IP_MESSAGE_BURST": big,
            "PEERLANE_PEERJS_MESSAGES_PER_SECOND": big,
            "PEERLANE_PEERJS_MESSAGE_BURST": big,
            **(extra_env or {}),
        }
    proc = subprocess.Popen(cmd, env=env, cwd=workdir, stdout=log, stderr=log)
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/peerjs/", timeout=1).status_code == 200:
                return proc, port
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{kind} did not start: see {workdir}")
        time.sleep(0.05)  # the port is not bound yet: nothing to wait on but the port


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a server drains its sockets), SIGKILL if it is not gone in 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# ---------------------------------------------------------------- generator ----


class Generator:
    def __init__(self, port: int, name: str, peers: int) -> None:
        self.url = f"ws://127.0.0.1:{port}/peerjs/peerjs?key=peerjs&token=t&id="
        self.name = name
        self.count = peers - peers % 2
        self.socks: list[Any] = []
        self.idle: list[Any] = []
        self.mode = "off"
        self.readers: list[asyncio.Task[None]] = []
        self.latencies: list[float] = []
        self.received = 0

    async def connect(self, peer_id: str) -> Any:
        from websockets.asyncio.client import connect

        # No keepalive pings: an overloaded server late with a pong would end the run;
        # the servers are started with a long alive timeout instead.
        ws = await connect(self.url + peer_id, max_queue=None, compression=None, ping_interval=None)
        opened = json.loads(await ws.recv())
        assert opened["type"] == "OPEN", opened
        return ws

    async def open_all(self) -> None:
        for start in range(0, self.count, 50):  # 50 handshakes at a time
            batch = [self.connect(f"{self.name}-{i}") for i in range(start, start + 50)
                     if i < self.count]  # fmt: skip
            self.socks.extend(await asyncio.gather(*batch))
        for i, ws in enumerate(self.socks):
            peer = f"{self.name}-{i ^ 1}"
            self.readers.append(asyncio.create_task(self.read(ws, peer)))

    async def read(self, ws: Any, peer: str) -> None:
        prefix = '{"type":"CANDIDATE","dst":' + json.dumps(peer) + ',"payload":{"t":'
        async for text in ws:
            t = json.loads(text)["payload"]["t"]
            now = time.time_ns()
            if self.mode != "off":
                self.received += 1
                self.latencies.append((now - t) / 1e6)
            if self.mode == "closed":
                await ws.send(f"{prefix}{now}}}}}")

    def frame(self, dst: int) -> str:
        return (f'{{"type":"CANDIDATE","dst":"{self.name}-{dst}",'
                f'"payload":{{"t":{time.time_ns()}}}}}')  # fmt: skip

    async def closed(self, seconds: float) -> dict[str, Any]:
        self.mode = "closed"
        self.received, self.latencies = 0, []
        for i in range(0, len(self.socks), 2):
            await self.socks[i].send(self.frame(i + 1))
        await asyncio.sleep(seconds)
        self.mode = "off"
        return {"received": self.received, "latencies": self.latencies, "lag": [0.0]}

    async def paced(self, rate: float, seconds: float) -> dict[str, Any]:
        self.mode = "paced"
        self.received, self.latencies = 0, []
        lags: list[float] = []
        pairs = len(self.socks) // 2
        start = time.monotonic()
        total = int(rate * seconds)
        for i in range(total):
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                lags.append(-delay * 1000)
            sender = 2 * (i % pairs)
            await self.socks[sender].send(self.frame(sender + 1))
        await asyncio.sleep(0.5)  # the last frames' flight time
        self.mode = "off"
        return {"received": self.received, "latencies": self.latencies, "lag": lags or [0.0]}

    async def open_idle(self, count: int) -> dict[str, Any]:
        for start in range(0, count, 100):
            batch = [self.connect(f"{self.name}-idle-{i}") for i in range(start, start + 100)
                     if i < count]  # fmt: skip
            self.idle.extend(await asyncio.gather(*batch))
        return {"idle": len(self.idle)}


def raise_open_files_limit() -> None:
    """Soft limit on open files up to the hard one: 10,000 idle sockets need more than
    the usual 1,024, in the generators and in the servers (which inherit it)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def generator_main(port: int, name: str, peers: int, pipe: Connection) -> None:
    raise_open_files_limit()

    async def run() -> None:
        gen = Generator(port, name, peers)
        await gen.open_all()
        pipe.send({"ready": len(gen.socks)})
        loop = asyncio.get_running_loop()
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            if command[0] == "stop":
                break
            if command[0] == "closed":
                pipe.send(await gen.closed(command[1]))
            elif command[0] == "paced":
                pipe.send(await gen.paced(command[1], command[2]))
            else:
                pipe.send(await gen.open_idle(command[1]))

    asyncio.run(run())


# ---------------------------------------------------------------------- run ----


def start_generators(
    port: int, args: argparse.Namespace
) -> tuple[list[Connection], list[mp.process.BaseProcess]]:
    """``args.procs`` load generators with ``args.peers`` sockets in all, connected."""
    pipes: list[Connection] = []
    procs: list[mp.process.BaseProcess] = []
    ctx = mp.get_context("spawn")
    for n in range(args.procs):
        parent, child = ctx.Pipe()
        p = ctx.Process(
            target=generator_main, args=(port, f"g{n}", args.peers // args.procs, child)
        )
        p.start()
        pipes.append(parent)
        procs.append(p)
    for pipe in pipes:
        pipe.recv()
    return pipes, procs


def stop_generators(pipes: list[Connection], procs: list[mp.process.BaseProcess]) -> None:
    for pipe in pipes:
        with contextlib.suppress(OSError):
            pipe.send(("stop",))
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()


def measure_phases(
    server: str, pipes: list[Connection], pids: list[int], args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The closed loop, then each of ``args.rates``: a row each. Server CPU is the sum
    over ``pids`` (every process serving: instances, balancer)."""
    rows = []
    phases: list[tuple[str, tuple[Any, ...]]] = [("closed", ())]
    phases += [(f"{rate}/s", (rate,)) for rate in args.rates]
    for label, extra in phases:
        for _part, seconds in (("warmup", args.warmup), ("measure", args.duration)):
            cpu0, t0 = sum(cpu_seconds(pid) for pid in pids), time.monotonic()
            for pipe in pipes:
                if extra:
                    pipe.send(("paced", extra[0] / args.procs, seconds))
                else:
                    pipe.send(("closed", seconds))
            results = [pipe.recv() for pipe in pipes]
            cpu = sum(cpu_seconds(pid) for pid in pids) - cpu0
            wall = time.monotonic() - t0
        received = sum(r["received"] for r in results)
        # Paced phases end with a short tail for frames in flight: msg/s is over
        # the phase's own length, CPU over the whole wall time (tail included).
        lat = sorted(x for r in results for x in r["latencies"])
        lag = sorted(x for r in results for x in r["lag"])
        rows.append({
            "server": server, "phase": label, "relayed_per_s": received / seconds,
            "p50_ms": percentile(lat, 50) if lat else None,
            "p99_ms": percentile(lat, 99) if lat else None,
            "cpu_s_per_1000": 1000 * cpu / received if received else None,
            "server_cpu_pct": 100 * cpu / wall, "lag_p99_ms": percentile(lag, 99),
        })  # fmt: skip
    return rows


def run_server(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    extra_env = {}
    if args.burst is not None:  # realistic bursts: the rate-limit buckets get used
        burst = str(args.burst)
        extra_env = {
            "PEERLANE_PEERJS_MESSAGE_BURST": burst,
            "PEERLANE_PEERJS_IP_MESSAGE_BURST": burst,
        }
    proc, port = start_server(kind, workdir, extra_env)
    pipes: list[Connection] = []
    procs: list[mp.process.BaseProcess] = []
    try:
        pipes, procs = start_generators(port, args)
        rows = measure_phases(kind, pipes, [proc.pid], args)
        before = rss_bytes(proc.pid)
        for pipe in pipes:
            pipe.send(("idle", args.idle // args.procs))
        opened = sum(pipe.recv()["idle"] for pipe in pipes)
        after = rss_bytes(proc.pid)
        rows.append({"server": kind, "phase": "idle", "connections": opened,
                     "rss_per_conn_bytes": (after - before) / opened if opened else None,
                     "rss_mib": after / 2**20})  # fmt: skip
        return {"rows": rows}
    finally:
        stop_generators(pipes, procs)
        stop_process(proc)


def fmt(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'server':14} {'phase':8} {'msg/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'cpu s/1k':>9} {'srv %':>6} {'lag p99':>8} {'B/conn':>8}")  # fmt: skip
    for r in rows:
        print(f"{r['server']:14} {r['phase']:8} {fmt(r.get('relayed_per_s'), 0):>8} "
              f"{fmt(r.get('p50_ms')):>8} {fmt(r.get('p99_ms')):>8} "
              f"{fmt(r.get('cpu_s_per_1000'), 3):>9} {fmt(r.get('server_cpu_pct'), 0):>6} "
              f"{fmt(r.get('lag_p99_ms')):>8} "
              f"{fmt(r.get('rss_per_conn_bytes'), 0):>8}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", type=int, default=1000)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--rates", type=int, nargs="*", default=[1000, 5000, 10000])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="200 peers, 3 s, 1k/s only")
    parser.add_argument("--only", choices=["peerlane", "peerjs-server"])
    parser.add_argument(
        "--burst",
        type=float,
        help="peerlane's PeerJS frame bursts (per peer, per IP; rates stay lifted): "
        "the default lifts them too, so a limit's bucket is never short",
    )
    args = parser.parse_args(argv)
    raise_open_files_limit()
    if args.quick:
        args.peers, args.duration, args.rates, args.idle = 200, 3.0, [1000], 500
    kinds = [args.only] if args.only else ["peerjs-server", "peerlane"]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="peerlane-bench-signaling-") as tmp:
        for kind in kinds:
            workdir = Path(tmp) / kind
            workdir.mkdir()
            rows += run_server(kind, args, workdir)["rows"]
    print_table(rows)
    ratios: dict[str, Any] = {}
    if len(kinds) == 2:
        by = {(r["server"], r["phase"]): r for r in rows}
        for phase in ["closed", *[f"{rate}/s" for rate in args.rates]]:
            ours, theirs = by[("peerlane", phase)], by[("peerjs-server", phase)]
            for field in ("cpu_s_per_1000", "p99_ms"):
                if ours[field] and theirs[field]:
                    ratios[f"{phase} {field}"] = round(ours[field] / theirs[field], 2)
        ours, theirs = by[("peerlane", "idle")], by[("peerjs-server", "idle")]
        if ours["rss_per_conn_bytes"] and theirs["rss_per_conn_bytes"]:
            ratios["rss_per_conn"] = round(
                ours["rss_per_conn_bytes"] / theirs["rss_per_conn_bytes"], 2
            )
    print(json.dumps({"rows": rows, "ratios": ratios, "loadavg": os.getloadavg()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
