"""Chat fan-out benchmark: N participants in one room, a paced total message rate.

A real ``python -m peerlane serve`` on 127.0.0.1 (free port, temporary data directory,
SQLite), one room with ``--clients`` participants created over HTTP, and their
WebSocket clients spread over ``--procs`` load-generator processes (each one asyncio
loop, ``websockets.asyncio.client``). Message ``i`` is due at ``start + i / rate`` and is
sent by client ``i % clients``: a paced, evenly interleaved schedule, no bursts. Its body
carries the send time (``time.time_ns()``, one clock for every process on the machine).

Every client records the latency of every ``message`` it receives, its own echo included
(the sender's UI shows a message when the echo arrives), so a message sent in the
measured window is expected ``clients`` times. The first ``--warmup`` seconds are sent
but not measured. The same load also runs against ``_broadcast_baseline.py`` (a bare
websockets broadcast server, no peerlane code), so peerlane's numbers come with a ratio
to a baseline. ``--sweep`` raises the rate step by step (servers taking turns at each
rate) until p99 exceeds the target or deliveries are lost. Everything is written under
a temporary directory; the output is a table and, as the last line, one JSON object.

Columns (CPU in % of one core, over the measured window, from /proc):

  sent         messages sent in the measured window
  delivered    messages received, all receivers; expected = sent x clients
  lost         expected - delivered; a delivery later than 10 s after the last send
               counts as lost (a server that falls behind shows up here)
  gaps         seqs a receiver skipped (each receiver must see 1, 2, 3, ...)
  p50/p99/max  send -> receive latency in ms
  ack p99      send -> ack to the sender (the message is stored) in ms
  lag p99      how late the generators sent against the schedule: if this grows, the
               load generator (or the machine) is the bottleneck, not the server
  server %     server process, all threads (utime + stime)
  loop %       the server's event-loop thread alone (100 = one core: CPU-bound)
  srv us/msg   server CPU microseconds per message sent (each one goes to every client)
  srv wait %   share of the time the server's busiest thread was runnable but waiting
               for a CPU (/proc/<pid>/task/*/schedstat): starved by other processes
  gen %        all load-generator processes together
  busy %       all cores, from /proc/stat
  other %      busy CPU used by neither the server nor the generators (other processes)

    python bench/chat_fanout.py                # 200 msg/s for 30 s, peerlane + baseline
    python bench/chat_fanout.py --sweep        # 10 s per rate until p99 > 50 ms
    python bench/chat_fanout.py --quick        # 5 s smoke run
    python bench/chat_fanout.py --compare-with HEAD~1 --rounds 3   # before/after, ABA...

``--compare-with REV`` also runs REV's server (checked out in a temporary git worktree,
bench/_variants.py), labelled ``peerlane@REV``, in the same session: each round runs
every server once, in reverse order on odd rounds (``--rounds``). The ratios to the
baseline (CPU per message, p99, and with ``--sweep`` the highest passing rate) are taken
per round against the baseline of the same round; their medians are printed.

Here: the options and the session's runs (``measure_all``); the servers are in
``_fanout_server.py``, the load generator processes in ``_fanout_load.py``, one measured
run and its summary in ``_fanout_run.py``, the verdicts, table and ratios in
``_fanout_report.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from _fanout_report import crossing, passed, ratios, table
from _fanout_run import RunConfig, Target, measure
from _variants import add_worktree, remove_worktree

DEFAULT_SWEEP = (50, 75, 100, 125, 150, 200, 300, 400, 600, 800, 1000, 1500, 2000)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=200, help="messages/s in total (200)")
    ap.add_argument("--duration", type=float, default=30, help="measured seconds (30)")
    ap.add_argument("--warmup", type=float, default=3, help="unmeasured seconds first (3)")
    ap.add_argument("--clients", type=int, default=50, help="participants in the room (50)")
    ap.add_argument("--procs", type=int, default=5, help="load-generator processes (5)")
    ap.add_argument("--body-bytes", type=int, default=100, help="padding in each body (100)")
    ap.add_argument(
        "--server",
        choices=("peerlane", "baseline", "both"),
        default="both",
        help="what to measure (both: peerlane, then the bare websockets baseline)",
    )
    ap.add_argument("--sweep", action="store_true", help="raise the rate until the target fails")
    ap.add_argument(
        "--sweep-rates",
        help="comma-separated rates for --sweep (" + ",".join(map(str, DEFAULT_SWEEP)) + ")",
    )
    ap.add_argument("--sweep-duration", type=float, default=10, help="seconds per step (10)")
    ap.add_argument("--target-p99-ms", type=float, default=50, help="p99 target in ms (50)")
    ap.add_argument(
        "--no-compression",
        action="store_true",
        help="clients do not offer permessage-deflate (browsers always do)",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a peerlane setting for the server, e.g. --set ws_compression=true (repeatable)",
    )
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="S",
        help="before each run wait up to S s for the machine to be idle (shared machines)",
    )
    ap.add_argument(
        "--retries",
        type=int,
        default=0,
        help="repeat a run up to this many times while other processes disturb it",
    )
    ap.add_argument(
        "--max-other",
        type=float,
        default=15,
        metavar="PCT",
        help="CPU %% of one core other processes may use before --retries repeats a run (15)",
    )
    ap.add_argument(
        "--compare-with",
        metavar="REV",
        help="also run this git revision's server (a temporary worktree), as peerlane@REV",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="fixed rate: run every server this many times, alternating the order (1)",
    )
    ap.add_argument("--profile", type=Path, help="py-spy raw (collapsed) stacks of the server")
    ap.add_argument(
        "--e2e",
        action="store_true",
        help="also run an end-to-end encrypted room (peerlane+e2e: clients seal and open)",
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: 5 s (sweep: 3 s, 2 rates)")
    ap.add_argument(
        "--check", action="store_true", help="exit 1 if peerlane misses the target (fixed rate)"
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.sweep_duration = 5, 1, 3
    if args.sweep_rates is None:
        args.sweep_rates = "200,1000" if args.quick else ",".join(map(str, DEFAULT_SWEEP))
    if args.procs < 1 or args.clients < 1:
        ap.error("--procs and --clients must be at least 1")
    args.procs = min(args.procs, args.clients)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C: servers stopped, temp dir removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    kinds = ["peerlane", "baseline"] if args.server == "both" else [args.server]
    targets = [Target(kind, kind) for kind in kinds]
    if args.e2e and "peerlane" in kinds:
        # Side by side in the same session: the same server, the clients sealing.
        targets.insert(1, Target("peerlane+e2e", "peerlane", e2e=True))
    settings = {}
    for item in args.set:
        name, _, value = item.partition("=")
        settings["PEERLANE_" + name.strip().upper().replace("-", "_")] = value
    target = args.target_p99_ms
    base = dict(
        warmup=args.warmup,
        clients=args.clients,
        procs=args.procs,
        body_bytes=args.body_bytes,
        compression=None if args.no_compression else "deflate",
        wait_idle=args.wait_idle,
        settings=settings,
    )
    report: dict[str, Any] = {
        "bench": "chat_fanout",
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "target_p99_ms": target,
        "mode": "sweep" if args.sweep else "fixed",
    }
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="peerlane-bench-") as tmp:
        worktree = Path(tmp) / "worktree"
        try:
            if args.compare_with:
                if "peerlane" not in kinds:
                    raise ValueError("--compare-with needs --server peerlane or both")
                variant = add_worktree(args.compare_with, worktree)
                other = Target(
                    f"peerlane@{args.compare_with}", "peerlane", tuple(variant.env.items())
                )
                targets.insert(1, other)
                report["compare_with"] = {"rev": args.compare_with, "commit": variant.commit}
            runs = measure_all(args, targets, base, Path(tmp), report)
        except ValueError as exc:
            print(f"chat_fanout: {exc}", file=sys.stderr)
            return 2
        finally:
            remove_worktree(worktree)
    report["runs"] = runs
    report["ratio"] = ratios(runs, report.get("sweep"), args.sweep)
    ok = all(passed(r, target) for r in runs if r["server"] == "peerlane")
    report["peerlane_meets_target"] = ok
    print()
    print(f"chat_fanout: {args.clients} clients, {args.procs} generator processes, ", end="")
    print(f"target p99 <= {target:g} ms and no loss; CPU in % of one core ({os.cpu_count()} cores)")
    print(table(runs))
    for kind, cross in report.get("sweep", {}).items():
        print(f"{kind}: highest passing rate {cross['max_passing_rate']} msg/s, ", end="")
        print(f"first failing {cross['first_failing_rate']} msg/s")
    for key, value in report["ratio"].items():
        print(f"{key}: {value}")
    if not args.sweep:
        print(f"peerlane target: {'PASS' if ok else 'FAIL'}")
    print(json.dumps(report, separators=(",", ":")))
    return 1 if args.check and not ok and not args.sweep else 0


def measure_all(
    args: argparse.Namespace,
    targets: list[Target],
    base: dict[str, Any],
    tmp: Path,
    report: dict[str, Any],
) -> list[dict[str, Any]]:
    """Every run of the session: the fixed rate (``--rounds`` times, every target once
    per round, in reverse order on odd rounds), or the sweep (rate by rate, the targets
    in turn, so a noisy minute on a shared machine hits all of them; a target leaves the
    sweep at its first failing rate)."""
    target_ms = args.target_p99_ms
    runs: list[dict[str, Any]] = []
    if not args.sweep:
        for n in range(args.rounds):
            for t in targets if n % 2 == 0 else targets[::-1]:
                cfg = RunConfig(t, args.rate, args.duration, profile=args.profile, **base)
                workdir = tmp / f"{t.kind}-{len(runs)}"
                runs.append(measure(cfg, workdir, args.retries, args.max_other) | {"round": n})
                print(table(runs[-1:]), file=sys.stderr, flush=True)
        return runs
    steps: dict[str, list[dict[str, Any]]] = {t.label: [] for t in targets}
    for rate in (float(r) for r in args.sweep_rates.split(",")):
        active = [t for t in targets if all(passed(r, target_ms) for r in steps[t.label])]
        if not active:
            break
        for t in active:
            cfg = RunConfig(t, rate, args.sweep_duration, **base)
            run = measure(cfg, tmp / f"{t.kind}-{len(runs)}", args.retries, args.max_other)
            steps[t.label].append(run | {"round": 0})
            runs.append(steps[t.label][-1])
            print(table(runs[-1:]), file=sys.stderr, flush=True)
    report["sweep"] = {label: crossing(done, target_ms) for label, done in steps.items()}
    return [run for label in steps for run in steps[label]]


if __name__ == "__main__":
    sys.exit(main())
