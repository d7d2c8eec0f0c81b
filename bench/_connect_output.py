"""connect_time.py's end of a session: the JSON report, then what is printed (the
per-variant summaries, the comparison of two variants, the verdicts)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "e2e")]

from _connect_e2e import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    e2e_report,
)
from _connect_report import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    comparison_table,
    cpu_model,
    git_state,
    paired_differences,
    print_variant,
    variant_report,
)
from _returning import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    returning_line,
    returning_report,
)
from _variants import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    git,
)


@dataclass
class Findings:
    """What the runs came to: the JSON report and what the text needs besides it."""

    report: dict[str, Any]
    met: bool  # the first variant's p50 is within the target
    p50: float | None
    diffs: list[float]  # run k of the first variant minus run k of the second
    kinds: dict[str, Any] | None  # --returning: the first and the returning visit
    e2e_text: str  # --e2e: the paired milestones, as a table


def findings(opts: argparse.Namespace, result: dict[str, Any], started: float) -> Findings:
    """The session's JSON report (``started``: time.monotonic() at the start)."""
    outcomes = result["variants"]
    stats, measured = outcomes[0]["stats"], outcomes[0]["measured"]
    p50 = stats["total"].get("p50") if measured else None
    met = p50 is not None and p50 <= opts.target_p50_ms
    sides = [r["side"] for r in measured]
    report: dict[str, Any] = {
        "bench": "connect_time",
        "browser": opts.browser,
        "driver": opts.driver,
        "no_omnibox_popup": opts.no_omnibox_popup,
        "settle": not opts.no_settle,
        "runs": len(measured),
        "warmup": opts.warmup,
        "failed": len(outcomes[0]["failures"]),
        "target_p50_ms": opts.target_p50_ms,
        "target_met": met,
        "ms": stats,
        "offerer_runs": sides.count("offerer"),
        "runs_with_several_pcs": sum(1 for r in measured if r["pcs"] != 1),
        "runs_with_js_errors": sum(1 for r in measured if r["errors"]),
        "answerer_runs": sides.count("answerer"),
        "machine": {
            "nproc": os.cpu_count(),
            "cpu": cpu_model(),
            "loadavg_start": result["load_start"],
            "loadavg_end": result["load_end"],
            "busy_pct_during_runs": result["busy_pct"],
            "chromium": result["chromium"],
            "python": platform.python_version(),
        },
        "git": git_state(),
    }
    diffs: list[float] = []
    kinds = None
    if opts.returning and len(outcomes) > 1:
        kinds = returning_report(stats, outcomes[1]["stats"])
        report["returning"] = kinds
    if len(outcomes) > 1:
        rev = outcomes[1]["variant"]
        diffs = paired_differences(measured, outcomes[1]["measured"])
        report["compare"] = {
            "rev": rev.name,
            "commit": rev.commit,
            "order": "ABBA",
            "checks": result["checks"],
            "variants": {o["variant"].name: variant_report(o) for o in outcomes},
            "paired_total_diff_ms": {
                "of": f"{outcomes[0]['variant'].name} - {rev.name}",
                "median": round(statistics.median(diffs), 1) if diffs else None,
                "pairs": len(diffs),
                "diffs": [round(d, 1) for d in diffs],
            },
        }
    e2e_text = ""
    if opts.e2e and len(outcomes) > 1:
        report["e2e"], e2e_text = e2e_report(measured, outcomes[1]["measured"])
    report["seconds"] = round(time.monotonic() - started, 1)
    return Findings(report, met, p50, diffs, kinds, e2e_text)


def print_findings(opts: argparse.Namespace, result: dict[str, Any], found: Findings) -> None:
    """The text for people (every run with --verbose, the summaries, the comparison and
    the verdicts), then the JSON report as the last line."""
    outcomes = result["variants"]
    stats, measured = outcomes[0]["stats"], outcomes[0]["measured"]
    report, met, p50, diffs = found.report, found.met, found.p50, found.diffs
    kinds, e2e_text = found.kinds, found.e2e_text
    if opts.verbose:
        for o in outcomes:
            prefix = f"[{o['variant'].name}] " if len(outcomes) > 1 else ""
            for r in o["runs"]:
                print(f"{prefix}run {r['label']} ({r['side']}): {r['events']}")
                print(f"{prefix}run {r['label']} static files [path, start, end]: {r['statics']}")
    print()
    if len(outcomes) == 1:
        print(
            f"connect_time: {len(measured)} runs (+{opts.warmup} warm-up), browser B = "
            f"{opts.browser}, Chromium {result['chromium']}, {os.cpu_count()} cores, "
            f"load {result['load_start']} -> {result['load_end']}, "
            f"busy {result['busy_pct']}% during the runs"
        )
        print_variant(outcomes[0])
    else:
        current, rev = outcomes[0]["variant"], outcomes[1]["variant"]
        dirty = git("status", "--porcelain", "--", "src")
        what = (
            "--returning"
            if opts.returning
            else "--e2e"
            if opts.e2e
            else f"--compare-with {rev.name}"
        )
        print(
            f"connect_time: {what}: {opts.runs} runs per variant "
            f"(+{opts.warmup} warm-up each), interleaved ABBA, browser B = {opts.browser}, "
            f"Chromium {result['chromium']}, {os.cpu_count()} cores, "
            f"load {result['load_start']} -> {result['load_end']}, "
            f"busy {result['busy_pct']}% during the runs"
        )
        print(
            f"  {current.name} = the working tree {current.tree} (HEAD {current.commit}"
            + (", with uncommitted changes in src/" if dirty else "")
            + (
                "); returning = the same tree, B's profile primed (the app shell kept)"
                if opts.returning
                else "): encrypted = a room made end-to-end encrypted (its link carries the "
                "key), plain = one made without"
                if opts.e2e
                else f"); {rev.name} = {rev.commit} (a worktree)"
            )
        )
        for line in result["checks"]:
            print(f"  check: {line}")
        for o in outcomes:
            v = o["variant"]
            print()
            print(f"== {v.name} ({v.commit}): {len(o['measured'])} runs ==")
            print_variant(o)
        print()
        print(comparison_table((current.name, rev.name), stats, outcomes[1]["stats"]))
        print(
            f"paired difference of the totals, {current.name} - {rev.name} (run k of each, "
            f"{len(diffs)} pairs): median "
            + (f"{statistics.median(diffs):+.0f} ms" if diffs else "-")
            + (f"; per pair: {' '.join(f'{round(d):+d}' for d in diffs)}" if diffs else "")
        )
    print(
        f"target p50 <= {opts.target_p50_ms:g} ms: "
        + ("met" if met else "NOT met")
        + (f" (p50 {p50:.0f} ms)" if p50 is not None else "")
    )
    if kinds is not None:
        print(returning_line(kinds))
    if e2e_text:
        print()
        print("encrypted - plain, paired run by run (ms since the navigation start):")
        print(e2e_text)
    print(json.dumps(report))
