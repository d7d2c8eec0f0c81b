"""Benchmark: a browser-to-browser file transfer through peerlane against a bare
RTCDataChannel blast between the same two browsers.

Two headless Chromium processes (alice, bob: fresh profiles, the browser suite's flags)
and a real ``python -m peerlane serve``, inside the private network namespace (WebRTC
sees one host address, 10.77.0.1). In the same run:

  bare      a second page per browser on the server's origin; an RTCPeerConnection each
            (``page.evaluate``, SDP and candidates carried by Python, no peerlane code),
            one ordered, reliable channel; alice sends ``--size`` bytes in frames of the
            engine's size (``CHUNK_BYTES`` + the 8-byte header, a fresh ArrayBuffer per
            frame as the engine builds them) with the engine's watermarks (``HIGH_WATER`` /
            ``LOW_WATER``, read from /static/transfer-wire.js), and bob only counts bytes.
            Timed from the first send to the last byte received.
  peerlane  the room page: alice creates a room, bob joins by the invite link; alice
            picks a ``--size`` random file with "Send files" (to bob), bob presses
            "Accept". Timed in bob's page from the click on Accept to ``done`` (every block
            verified, the root checked); hashing before the offer is not counted. Then bob
            presses "Save" and Python compares the download's SHA-256 with the file.

The phases alternate: bare, then ``--rounds`` times (peerlane, bare). Each peerlane run
is divided by the mean of the bare runs on either side of it (the load of a shared
machine drifts); the ratio is the median of those. Target: >= 0.9. Over each timed
interval the bench also reads the CPU time of every thread of both browsers from /proc
(grouped by process type and thread name). ``--profile`` adds one more peerlane transfer
with timers around the engine's steps (sender: waiting for the block window, for
``bufferedamountlow``, reading the file, per slice or per frame from the stream; receiver:
per-frame handling, hashing + OPFS write of each block, checkpoints) and Chromium's
sampling profiler on both main threads.

    scripts/netns-run .venv/bin/python bench/transfer_browser.py            # 500 MB, 2 rounds
    scripts/netns-run .venv/bin/python bench/transfer_browser.py --quick    # 50 MB
    scripts/netns-run .venv/bin/python bench/transfer_browser.py --rounds 4 --profile
    scripts/netns-run .venv/bin/python bench/transfer_browser.py --e2e  # encrypted vs plain

``--e2e`` (issue #15): an encrypted room against a plain room, same browsers, ABBA
(bench/_transfer_e2e.py); no bare channel.

Refuses to run outside the namespace. Prints a summary (Markdown table, CPU by thread)
and the whole result as one JSON line; exits 1 if a received file did not match.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests")]
from _bare_channel import bare_blast, bare_connect  # noqa: E402
from _page_transfer import bench_session, peerlane_transfer, wait_direct  # noqa: E402
from _stats import bracketed_ratios  # noqa: E402

MB = 1000 * 1000


def refuse_outside_namespace() -> None:
    """WebRTC must not leave the machine: only inside scripts/netns-run."""
    out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True)
    v4 = sorted(line.split()[3].split("/")[0] for line in out.stdout.splitlines())
    if os.environ.get("NETNS_RUN") != "1" or v4 != ["10.77.0.1", "127.0.0.1"]:
        sys.exit(
            "bench/transfer_browser.py runs only inside the private test network namespace:\n"
            "    scripts/netns-run .venv/bin/python bench/transfer_browser.py [--quick]\n"
            f"(here: NETNS_RUN={os.environ.get('NETNS_RUN')!r}, IPv4 addresses {v4})"
        )


# -- the run --------------------------------------------------------------------------------


def run(opts: argparse.Namespace) -> dict[str, Any]:
    from e2e.helpers import create_room_ui, invite_link, join_by_link_ui, origin_page

    size, timeout = opts.size, max(600.0, opts.size / MB * 2)
    result: dict[str, Any] = {"size_bytes": size, "cpus": os.cpu_count()}
    with bench_session(size) as s:
        room_a, room_b = (c.pages[0] if c.pages else c.new_page() for c in s.contexts.values())
        bare_a, bare_b = (c.new_page() for c in s.contexts.values())

        create_room_ui(room_a, s.server.base, "alice", "bench")
        join_by_link_ui(room_b, invite_link(room_a), "bob")
        wait_direct(room_a, room_b)
        for page in (bare_a, bare_b):
            origin_page(page, s.server.base)
        result["wire"] = bare_connect(bare_a, bare_b)
        result["visibility"] = [
            p.evaluate("document.visibilityState") for p in (room_a, room_b, bare_a, bare_b)
        ]

        def phase(name: str, fn: Any) -> Any:
            load = os.getloadavg()[0]
            out = fn()
            result.setdefault("phases", []).append(
                {
                    "phase": name,
                    "load_before": round(load, 2),
                    "load_after": round(os.getloadavg()[0], 2),
                    **(out if isinstance(out, dict) else {"seconds": out}),
                }
            )
            last = result["phases"][-1]
            last["mb_per_s"] = round(size / MB / last["seconds"], 2)
            used = sum(sum(threads.values()) for threads in last["cpu"].values())
            last["cpu_ms_per_mb"] = round(used * 1000 / (size / MB), 1)
            extra = (
                f"  first block after {last['first_block_s']:.2f} s"
                if "first_block_s" in last
                else ""
            )
            print(
                f"{name:>10}: {last['seconds']:7.1f} s  {last['mb_per_s']:6.2f} MB/s{extra}"
                f"  (load {last['load_before']:.1f} -> {last['load_after']:.1f})",
                file=sys.stderr,
            )
            return last

        # bare, peerlane, bare, peerlane, ..., bare: each peerlane run sits
        # between two bare ones (the load of a shared machine drifts).
        def blast() -> dict[str, Any]:
            return bare_blast(bare_a, bare_b, size, timeout, s.cpu)

        bares = [phase("bare", blast)]
        peers = []
        for _ in range(opts.rounds):
            peers.append(
                phase(
                    "peerlane",
                    lambda: peerlane_transfer(room_a, room_b, s.path, s.sha, s.tmp, timeout, s.cpu),
                )
            )
            bares.append(phase("bare", blast))
        if opts.profile:
            phase(
                "peerlane+profile",
                lambda: peerlane_transfer(
                    room_a, room_b, s.path, s.sha, s.tmp, timeout, s.cpu, profile=True
                ),
            )

        # Each peerlane run against the mean of the bare runs on either side of it;
        # the ratio is the median of those (medians of the speeds alone would
        # compare phases run under different loads).
        def ratios(key: str) -> list[float]:
            return bracketed_ratios([p[key] for p in peers], [b[key] for b in bares])

        result["round_ratios"] = [round(r, 3) for r in ratios("mb_per_s")]
        # CPU per MB: less is better, so bare / peerlane (1 / the ratio).
        result["round_cpu_ratios"] = [round(1 / r, 3) for r in ratios("cpu_ms_per_mb")]
        result["ratio"] = round(statistics.median(result["round_ratios"]), 3)
        result["bare_mb_per_s"] = round(statistics.median(p["mb_per_s"] for p in bares), 2)
        result["peerlane_mb_per_s"] = round(statistics.median(p["mb_per_s"] for p in peers), 2)
        result["bare_cpu_ms_per_mb"] = round(
            statistics.median(p["cpu_ms_per_mb"] for p in bares), 1
        )
        result["peerlane_cpu_ms_per_mb"] = round(
            statistics.median(p["cpu_ms_per_mb"] for p in peers), 1
        )
        result["errors"] = s.errors
    return result


def parse_size(text: str) -> int:
    """Bytes: 500M = 500 MB (decimal), 64Mi = 64 MiB, plain digits as they are."""
    text = text.strip().upper().removesuffix("B")
    binary = text.endswith("I")
    text = text.removesuffix("I")
    base = 1024 if binary else 1000
    scale = {"K": base, "M": base**2, "G": base**3}.get(text[-1:], 1)
    return int(float(text.rstrip("KMG")) * scale)


def summary(result: dict[str, Any]) -> str:
    lines = [
        f"size {result['size_bytes'] / MB:g} MB, {result['cpus']} CPUs; frames "
        f"{result['wire']['chunk']} B + {result['wire']['header']} B header, high "
        f"{result['wire']['high']} B, low {result['wire']['low']} B",
        "",
        "| phase | seconds | MB/s | CPU ms per MB (both browsers) | load avg before → after |",
        "|---|---:|---:|---:|---|",
    ]
    for p in result["phases"]:
        lines.append(
            f"| {p['phase']} | {p['seconds']:.1f} | {p['mb_per_s']:.2f} | "
            f"{p['cpu_ms_per_mb']:.0f} | {p['load_before']:.1f} → {p['load_after']:.1f} |"
        )
    lines += [
        "",
        f"ratio peerlane / bare: {result['ratio']:.3f} (median of the rounds "
        f"{result['round_ratios']}; target >= 0.9)",
        f"median speeds: bare {result['bare_mb_per_s']:.2f} MB/s, peerlane "
        f"{result['peerlane_mb_per_s']:.2f} MB/s; median CPU per MB (both browsers): bare "
        f"{result['bare_cpu_ms_per_mb']:.0f} ms, "
        f"peerlane {result['peerlane_cpu_ms_per_mb']:.0f} ms "
        f"(bare / peerlane by round {result['round_cpu_ratios']})",
    ]
    for p in result["phases"]:
        lines.append(f"\nCPU by thread, {p['phase']}:")
        for who in ("alice", "bob"):
            top = list(p["cpu"][who].items())[:8]
            lines.append(f"  {who}: " + ", ".join(f"{k} {v:.1f}" for k, v in top))
        for side, data in (p.get("profile") or {}).items():
            lines.append(f"  {side}: {json.dumps(data)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=parse_size, default=500 * MB, help="e.g. 500M, 64Mi")
    parser.add_argument("--quick", action="store_true", help="50 MB")
    parser.add_argument(
        "--rounds", type=int, default=2, help="peerlane runs, each between two bare runs"
    )
    parser.add_argument(
        "--profile", action="store_true", help="one more peerlane transfer with step timers"
    )
    parser.add_argument(
        "--e2e", action="store_true", help="an encrypted room against a plain one (ABBA)"
    )
    opts = parser.parse_args()
    refuse_outside_namespace()
    if opts.quick:
        opts.size = 50 * MB
    if opts.e2e:
        from _transfer_e2e import TARGET, run_e2e, summary_e2e

        result = run_e2e(opts)
        print(summary_e2e(result))
        print(json.dumps(result))
        ok = all(r["sha256_match"] for r in result["runs"]) and not result["errors"]
        sys.exit(0 if ok and result["ratio"] >= TARGET else 1)
    result = run(opts)
    print(summary(result))
    print(json.dumps(result))
    ok = all(p.get("sha256_match", True) for p in result["phases"]) and not result["errors"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
