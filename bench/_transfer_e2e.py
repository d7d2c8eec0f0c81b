"""transfer_browser.py --e2e (issue #15): the same two browsers, one end-to-end encrypted
room and one plain room (each browser has a page in each), the same file sent through
each in turn, ABBA. In the encrypted room the sender seals every 1 MiB block and the
receiver opens it (WebCrypto AES-GCM, web/e2e/file-crypto.js); the plain room sends it
as it is. Each run is timed as transfer_browser.py times one (bob's Accept to ``done``),
and the received file's SHA-256 is compared with the sent one. Target: encrypted >= 0.9
of plain (median of the pairs' ratios)."""

from __future__ import annotations

import argparse
import os
import statistics
from typing import Any

from _page_profile import js_profile_start, js_profile_stop
from _page_transfer import bench_session, peerlane_transfer, wait_direct

MB = 1000 * 1000

TARGET = 0.9


def run_e2e(opts: argparse.Namespace) -> dict[str, Any]:
    from e2e.helpers import (
        create_room_ui,
        invite_link,
        join_by_link_ui,
        room_ready,
        wait_for_room_url,
    )

    size, timeout = opts.size, max(600.0, opts.size / MB * 2)
    result: dict[str, Any] = {"size_bytes": size, "cpus": os.cpu_count(), "runs": []}
    with bench_session(size) as s:
        alice, bob = s.contexts["alice"], s.contexts["bob"]
        pages: dict[str, tuple[Any, Any]] = {}
        for kind in ("encrypted", "plain"):
            a, b = alice.new_page(), bob.new_page()
            create_room_ui(a, s.server.base, "alice", kind, encrypted=kind == "encrypted")
            link = invite_link(a)
            # An encrypted room's link carries its key: #<token>.<key>.
            result.setdefault("link_has_key", {})[kind] = "." in link.split("#", 1)[1]
            if kind == "encrypted":
                join_by_link_ui(b, link, "bob")
            else:  # bob's profile now knows his name: the link joins at once
                b.goto(link)
                wait_for_room_url(b, "**/r/*")
                room_ready(b)
            wait_direct(a, b)
            pages[kind] = (a, b)
        order = [("plain", "encrypted"), ("encrypted", "plain")]
        speeds: dict[str, list[float]] = {"plain": [], "encrypted": []}
        for i in range(opts.rounds):
            for kind in order[i % 2]:
                a, b = pages[kind]
                # The running room's tabs in front in both browsers (a hidden tab's
                # timers are throttled); each side's other tab stays open, idle.
                for page in (a, b):
                    page.bring_to_front()
                visible = [p.evaluate("document.visibilityState") for p in (a, b)]
                load = os.getloadavg()[0]
                out = peerlane_transfer(a, b, s.path, s.sha, s.tmp, timeout, s.cpu)
                used = sum(sum(t.values()) for t in out["cpu"].values())
                run = {
                    "kind": kind,
                    "seconds": round(out["seconds"], 2),
                    "mb_per_s": round(size / MB / out["seconds"], 2),
                    "cpu_ms_per_mb": round(used * 1000 / (size / MB), 1),
                    "cpu": out["cpu"],
                    "sha256_match": out["sha256_match"],
                    "load": round(load, 1),
                    "visibility": visible,
                }
                result["runs"].append(run)
                speeds[kind].append(run["mb_per_s"])
                print(
                    f"{kind:>10}: {run['seconds']:7.1f} s  {run['mb_per_s']:6.2f} MB/s  "
                    f"CPU {run['cpu_ms_per_mb']:.0f} ms/MB  load {load:.1f}  "
                    f"match {run['sha256_match']} {visible}",
                    flush=True,
                )
        if opts.profile:
            # One more transfer per room under Chromium's sampling profiler on both
            # pages' main threads (not timed with the runs): what the main threads
            # still do for a sealed transfer, beside a plain one.
            for kind in ("plain", "encrypted"):
                a, b = pages[kind]
                for page in (a, b):
                    page.bring_to_front()
                cdps = [js_profile_start(a), js_profile_start(b)]
                out = peerlane_transfer(a, b, s.path, s.sha, s.tmp, timeout, s.cpu)
                result.setdefault("profile", {})[kind] = {
                    "seconds": round(out["seconds"], 2),
                    "sender_main_thread": js_profile_stop(cdps[0]),
                    "receiver_main_thread": js_profile_stop(cdps[1]),
                    "cpu": out["cpu"],
                }
        ratios = [e / p for e, p in zip(speeds["encrypted"], speeds["plain"], strict=True)]
        result["pair_ratios"] = [round(r, 3) for r in ratios]
        result["ratio"] = round(statistics.median(ratios), 3)
        result["plain_mb_per_s"] = statistics.median(speeds["plain"])
        result["encrypted_mb_per_s"] = statistics.median(speeds["encrypted"])
        result["errors"] = s.errors
    return result


def summary_e2e(result: dict[str, Any]) -> str:
    lines = [
        f"size {result['size_bytes'] / MB:g} MB, {result['cpus']} CPUs; link has a key "
        f"{result['link_has_key']}",
        "| room | seconds | MB/s | CPU ms per MB (both browsers) | load |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in result["runs"]:
        lines.append(
            f"| {r['kind']} | {r['seconds']:.1f} | {r['mb_per_s']:.2f} | "
            f"{r['cpu_ms_per_mb']:.0f} | {r['load']:.1f} |"
        )
    lines.append(
        f"median: plain {result['plain_mb_per_s']:.2f} MB/s, encrypted "
        f"{result['encrypted_mb_per_s']:.2f} MB/s; encrypted/plain per pair "
        f"{result['pair_ratios']}, median {result['ratio']:.3f} (target >= {TARGET})"
    )
    for r in result["runs"]:
        for who in ("alice", "bob"):
            top = list(r["cpu"][who].items())[:6]
            lines.append(f"  {r['kind']} {who}: " + ", ".join(f"{k} {v:.1f}" for k, v in top))
    for kind, prof in result.get("profile", {}).items():
        lines.append(f"profile, {kind} room ({prof['seconds']:.1f} s):")
        for side in ("sender_main_thread", "receiver_main_thread"):
            main = prof[side]
            lines.append(
                f"  {side}: busy {main['busy_ms']} of {main['wall_ms']} ms; "
                + ", ".join(f"{k} {v}" for k, v in main["top_self_ms"].items())
            )
    return "\n".join(lines)
