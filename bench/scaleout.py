"""Scale-out benchmark: one, two and three peerlane instances behind nginx, relaying
PeerJS CANDIDATE frames, in the same run (issue #14).

Per instance count: a fresh Redis (tests/balancer.py's RedisProcess), ``N`` peerlane
instances on it (each ``python -m peerlane serve``, its own SQLite: the PeerJS relay
needs only Redis), nginx in front with the operators' configuration
(deploy/nginx/peerlane-lb.conf, tests/balancer.py's Nginx). The load generator of
bench/signaling.py then connects ``--peers`` PeerJS sockets through nginx (round-robin:
with ``N`` instances about (N-1)/N of the pairs are split across instances and their
frames go through Redis) and runs the same phases: a closed loop of pairs ping-ponging
CANDIDATEs, then fixed total rates (``--rates``).

Columns as in bench/signaling.py; "server CPU" is the whole serving side: every
instance, nginx (master and worker) and Redis. The last line is one JSON object with
each count's throughput and p99 as ratios to one instance behind the same nginx.
Everything runs on this machine's loopback, so the instances share its cores with nginx,
Redis and the generators: the ratios say what more instances cost or give here, not
what separate machines would.

    python bench/scaleout.py --quick       # 200 peers, 3 s phases, 1k/s
    python bench/scaleout.py               # 500 peers, closed loop + 500/s + 1k/s

(signaling.py's 5k/s is past what a Redis-backed instance relays on this 2-core machine:
each frame costs two Redis round trips for the shared rate limits.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from _stats import descendants, process_table
from signaling import (
    measure_phases,
    print_table,
    raise_open_files_limit,
    start_generators,
    start_server,
    stop_generators,
    stop_process,
)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the scale-out test rig: nginx and Redis

from balancer import Nginx, RedisProcess  # noqa: E402


def run_count(count: int, args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    redis_server = RedisProcess().start()
    servers = []
    nginx: Nginx | None = None
    pipes: list[Any] = []
    procs: list[Any] = []
    try:
        for i in range(count):
            env = {"PEERLANE_REDIS_URL": redis_server.url}
            servers.append(start_server("peerlane", workdir, env, name=f"n{count}-i{i}"))
        nginx = Nginx(SimpleNamespace(port=port) for _, port in servers).start()  # type: ignore[misc]
        assert nginx.proc is not None
        assert redis_server.proc is not None
        serving = {proc.pid for proc, _ in servers} | {redis_server.proc.pid, nginx.proc.pid}
        serving |= descendants(process_table(), nginx.proc.pid)  # its master and worker
        pipes, procs = start_generators(nginx.port, args)
        label = f"{count} instance" + ("s" if count > 1 else "")
        return measure_phases(label, pipes, sorted(serving), args)
    finally:
        stop_generators(pipes, procs)
        if nginx is not None:
            nginx.stop()
        for proc, _ in servers:
            stop_process(proc)
        redis_server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--peers", type=int, default=500)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--rates", type=int, nargs="*", default=[500, 1000])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="200 peers, 3 s, 1k/s only")
    args = parser.parse_args(argv)
    raise_open_files_limit()
    if args.quick:
        args.peers, args.duration, args.rates = 200, 3.0, [1000]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="peerlane-bench-scaleout-") as tmp:
        for count in args.counts:
            rows += run_count(count, args, Path(tmp))
    print_table(rows)
    ratios: dict[str, Any] = {}
    by = {(r["server"], r["phase"]): r for r in rows}
    one = "1 instance"
    for row in rows:
        base = by.get((one, row["phase"]))
        if row["server"] == one or base is None:
            continue
        for field in ("relayed_per_s", "p99_ms", "cpu_s_per_1000"):
            if row[field] and base[field]:
                key = f"{row['server']} {row['phase']} {field}"
                ratios[key] = round(row[field] / base[field], 2)
    print(json.dumps({"rows": rows, "ratios": ratios, "loadavg": os.getloadavg()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
