"""connect_time.py's numbers and tables: stats, CPU by role, the served-files check of
the variants, the per-run and summary tables, the comparison of variants."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "e2e")]


from _connect_page import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    CPU_KEYS,
    PHASES,
    RunFailed,
)
from _stats import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    ProcessTable,
    descendants,
    percentile,
)
from _variants import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    Variant,
    git,
)

# ----------------------------------------------------------------------- stats ----


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "p50": round(percentile(ordered, 50), 1),
        "p95": round(percentile(ordered, 95), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def cpu_by_role(
    before: ProcessTable,
    after: ProcessTable,
    server_pid: int,
    a_profile: str,
    others: Sequence[tuple[int, str]] = (),
) -> tuple[dict[str, float], dict[str, float]]:
    """CPU ms spent between two snapshots by this script's descendants, by role: the
    server, browser A (the Chromium whose profile is a_profile, and its children),
    browser B (every other Chromium) and the rest (the Playwright driver). Processes
    gone by the second snapshot are not counted. Also B's CPU by process kind. others:
    (server pid, A's profile) of the other variants (--compare-with), whose servers and
    browsers A are left out."""

    def tree(root: int) -> set[int]:
        return descendants(after, root)

    ours = tree(os.getpid()) - {os.getpid()}

    def browser(profile: str) -> set[int]:
        """The Chromium started with this profile, exactly (profile-a is not profile-a1)."""
        flag = f"--user-data-dir={profile}"
        roots = [
            p for p in ours if flag in after[p][2].split("\0") and "--type=" not in after[p][2]
        ]
        return set().union(*(tree(p) for p in roots))

    server = tree(server_pid)
    a = browser(a_profile)
    ignored = set().union(*(tree(pid) | browser(profile) for pid, profile in others))
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    spent = {"server": 0.0, "a": 0.0, "b": 0.0, "driver": 0.0}
    b_kinds: dict[str, float] = {}
    for pid in ours - ignored:
        delta = after[pid][1] - (before[pid][1] if pid in before else 0)
        if pid in server:
            role = "server"
        elif pid in a:
            role = "a"
        else:
            role = "b" if "chromium" in after[pid][2] else "driver"
        spent[role] += delta * tick_ms
        if role == "b":
            kind = chromium_kind(after[pid][2])
            b_kinds[kind] = b_kinds.get(kind, 0.0) + delta * tick_ms
    return spent, b_kinds


def chromium_kind(cmdline: str) -> str:
    """browser, renderer, gpu, network, storage, zygote, ... from a Chromium command line."""
    args = cmdline.replace("\0", " ").split()  # zygote children rewrite it, space-separated
    kind = next((a.split("=", 1)[1] for a in args if a.startswith("--type=")), "browser")
    sub = next((a.split("=", 1)[1] for a in args if a.startswith("--utility-sub-type=")), "")
    if sub:
        return sub.split(".", 1)[0]  # network.mojom.NetworkService -> network
    return kind.replace("-process", "")


def git_state() -> dict[str, Any]:
    """The commit measured, and whether the web client had uncommitted changes."""
    web = "src/peerlane/web"
    dirty = bool(git("status", "--porcelain", web))
    return {"commit": git("rev-parse", "--short", "HEAD"), "web_dirty": dirty}


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


# -------------------------------------------------------------------- variants ----


def check_served(variants: Sequence[Variant], bases: Sequence[str]) -> list[str]:
    """Proof that each server runs its own variant's tree (raises RunFailed otherwise):
    with the server's environment, Python imports peerlane from that tree, and the server
    serves /static/app.js -- and the first web file that differs between the trees, if
    one does -- byte for byte as that tree has it. Returns what was checked."""
    import httpx

    files = [{str(f.relative_to(v.web)) for f in v.web.rglob("*") if f.is_file()} for v in variants]
    common = set.intersection(*files)
    differing = sorted(f for f in common if len({(v.web / f).read_bytes() for v in variants}) > 1)
    probes = ["app.js", *(f for f in differing[:1] if f != "app.js")]
    lines = []
    for variant, base in zip(variants, bases, strict=True):
        done = subprocess.run(
            [sys.executable, "-c", "import peerlane; print(peerlane.__file__)"],
            env={**os.environ, **variant.env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        imported = Path(done.stdout.strip()).resolve().parent
        if imported != (variant.tree / "src" / "peerlane").resolve():
            raise RunFailed(
                f"{variant.name}: its server's environment imports peerlane from "
                f"{imported or '?'}, not from {variant.tree / 'src'}: {done.stderr[-500:]}"
            )
        for probe in probes:
            served = httpx.get(f"{base}/static/{probe}", timeout=10).content
            if served != (variant.web / probe).read_bytes():
                raise RunFailed(
                    f"{variant.name}: {base}/static/{probe} is not {variant.web / probe}"
                )
        digest = hashlib.sha256((variant.web / "app.js").read_bytes()).hexdigest()[:12]
        lines.append(
            f"{variant.name} ({variant.commit}): {base} serves "
            + ", ".join(f"/static/{p}" for p in probes)
            + f" byte for byte as {variant.web} (app.js sha256 {digest}); "
            f"peerlane imported from {imported}"
        )
    if differing:
        shown = ", ".join(differing[:5]) + (", ..." if len(differing) > 5 else "")
        lines.append(
            f"{len(differing)} of the {len(common)} web files in both trees differ ({shown}); "
            f"/static/{differing[0]} tells the servers apart"
        )
    else:
        lines.append(
            f"the {len(common)} web files in both trees are identical, so the served bytes "
            "cannot tell the servers apart (the import check can)"
        )
    only = set.union(*files) - common
    if only:
        lines.append(f"{len(only)} web files are in one tree only: {', '.join(sorted(only)[:5])}")
    return lines


# ---------------------------------------------------------------------- output ----


def run_table(runs: list[dict[str, Any]]) -> str:
    names = [n for n, _ in PHASES]
    cpu = ("cpu_b", "cpu_a", "cpu_server", "busy")
    head = ["run", "side", "total", "app", "wall", *names, "leave", "cpuB", "cpuA", "cpuS", "busy%"]
    rows = [head]
    for r in runs:
        rows.append(
            [
                r["label"],
                r["side"] or "?",
                *(f"{r[k]:.0f}" for k in ("total", "app", "wall", *names, "leave_ms", *cpu)),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_table(stats: dict[str, dict[str, float]]) -> str:
    rows = [["ms", "p50", "p95", "min", "max", ""]]
    labels = dict(PHASES)
    labels.update(
        total="navigation -> open channel (in page)",
        app="total without the click",
        wall="page.goto -> wait returned (Python)",
        leave_ms="B closed -> A sees B leave",
        cpu_b="CPU ms of browser B (every process) from goto to open",
        cpu_a="CPU ms of browser A in that interval",
        cpu_server="CPU ms of the server in that interval",
        cpu_driver="CPU ms of the Playwright driver in that interval",
        busy="% of the machine's CPUs busy in that interval (everyone)",
    )
    for key in ("total", "app", "wall", *(n for n, _ in PHASES), "leave_ms", *CPU_KEYS):
        s = stats[key]
        rows.append([key, *(f"{s[q]:.0f}" for q in ("p50", "p95", "min", "max")), labels[key]])
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for row in rows:
        cells = [
            row[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(row[1:5], widths[1:], strict=True)),
        ]
        lines.append("  ".join([*cells, row[5]]).rstrip())
    return "\n".join(lines)


def paired_differences(
    first: list[dict[str, Any]], second: list[dict[str, Any]], key: str = "total"
) -> list[float]:
    """first[key] - second[key] of the measured runs with the same number (the runs of
    one ABBA round), where both variants' runs succeeded."""
    other = {r["label"]: r[key] for r in second}
    return [r[key] - other[r["label"]] for r in first if r["label"] in other]


def comparison_table(
    names: tuple[str, str], first: dict[str, dict[str, float]], second: dict[str, dict[str, float]]
) -> str:
    """p50 of every phase and CPU figure for two variants, and first - second."""
    head = ["p50 ms", names[0], names[1], f"{names[0]} - {names[1]}"]
    rows = [head]
    for key in ("total", "app", "wall", *(n for n, _ in PHASES), "leave_ms", *CPU_KEYS):
        a, b = first[key].get("p50"), second[key].get("p50")
        cells = [f"{x:.0f}" if x is not None else "-" for x in (a, b)]
        diff = f"{round(a) - round(b):+d}" if a is not None and b is not None else "-"
        rows.append([key if key != "busy" else "busy%", *cells, diff])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for row in rows:
        padded = (c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))
        lines.append("  ".join([row[0].ljust(widths[0]), *padded]))
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_variant(outcome: dict[str, Any]) -> None:
    """One variant's run table, summary, counts, failures and browser A's errors."""
    stats, measured = outcome["stats"], outcome["measured"]
    sides = [r["side"] for r in measured]
    if measured:
        print(run_table(measured))
        print()
        print(summary_table(stats))
        restarts = sum(1 for r in measured if r["pcs"] != 1)
        noisy = sum(1 for r in measured if r["errors"])
        print(
            f"runs with more than one RTCPeerConnection: {restarts}; "
            f"with JavaScript errors in B: {noisy}"
        )
        print(
            f"B made the offer in {sides.count('offerer')} runs, answered in "
            f"{sides.count('answerer')} (the higher peer id offers; A keeps one "
            "id for the whole session, B gets a random one per run)"
        )
    for failure in outcome["failures"]:
        print(f"FAILED {failure[:500]}")
    for err in outcome["a_errors"]:
        print(f"browser A: {err}")


def variant_report(outcome: dict[str, Any]) -> dict[str, Any]:
    """One variant's part of the JSON line (--compare-with)."""
    variant: Variant = outcome["variant"]
    measured = outcome["measured"]
    sides = [r["side"] for r in measured]
    return {
        "tree": str(variant.tree),
        "commit": variant.commit,
        "runs": len(measured),
        "failed": len(outcome["failures"]),
        "ms": outcome["stats"],
        "offerer_runs": sides.count("offerer"),
        "answerer_runs": sides.count("answerer"),
        "runs_with_several_pcs": sum(1 for r in measured if r["pcs"] != 1),
        "runs_with_js_errors": sum(1 for r in measured if r["errors"]),
    }
