"""The CLI ↔ browser rows of bench/transfer_cli.py (issue #12): ``peerlane send`` into a
browser's room → Chromium, and Chromium → ``peerlane receive``, each against the browser →
browser figure of bench/transfer_browser.py, measured in the same run.

One server, the two Chromiums of transfer_browser.py (``browser_pair``: alice, bob) in a
room alice made (not end-to-end encrypted, as transfer_browser.py's) and bob joined,
inside the private network namespace. Each round runs the three transfers of the same
random file, the order reversed every other round (A B C, C B A, …):

  browser → browser  alice's page offers to bob (transfer_browser.py's
                     ``peerlane_transfer``); timed in bob's page, Accept → done.
  CLI → browser      ``peerlane send FILE --room LINK`` (a new process, a fresh config
                     directory); bob accepts its offer; timed in bob's page the same way.
  browser → CLI      ``peerlane receive LINK --yes`` joins; once alice's page shows it
                     with a direct link, alice offers to it; the CLI's summary time
                     (accept → last verified block written), 0.1 s resolution.

Every received file's SHA-256 is compared with the sent one. Each CLI row's ratio is the
median over the rounds of its speed over the browser → browser speed of the same round.
Alongside: the CPU of both browsers over each timed interval (per MB) and the CLI's own CPU
from the accept to its exit (``os.wait4``), per MB and as a share of the transfer's wall
time (near 1.0: the CLI's event loop, aiortc's SCTP and DTLS in one Python thread, is the
bound; far below 1.0 on a loaded machine: it waits for a core). ``profile=True`` adds one
more CLI → browser and browser → CLI transfer with the CLI under cProfile (its main thread,
the event loop; wall clock: a timer on the thread's CPU clock costs a system call per
call, five times the CPU per MB here), own time summed by component.
"""

from __future__ import annotations

import os
import pstats
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _browser_cpu import CpuMeter
from _page_transfer import (
    accept_in_page,
    browser_pair,
    peerlane_transfer,
    save_matches,
    wait_direct,
)
from _stats import cpu_seconds

MB = 1000 * 1000
B2B, C2B, B2C = "browser → browser", "CLI → browser", "browser → CLI"
# No fallback upload while the offer waits for bob's click: the data channel only.
CLI_ENV = {"PEERLANE_P2P_TIMEOUT": "600", "PEERLANE_LOG_LEVEL": "warning"}
PEER_NAMES_JS = "() => [...window.peerlane.room.peers.values()].map((p) => p.name)"


STARTED: list[Cli] = []


class Cli:
    """One ``peerlane`` process, its own config directory, its output in files."""

    def __init__(self, tmp: Path, label: str, args: list[str], profile: str = "") -> None:
        self.out = tmp / f"{label}.out"
        runner = [sys.executable, "-m", "peerlane"]
        if profile:
            runner = [sys.executable, "-m", "cProfile", "-o", profile, "-m", "peerlane"]
        env = {**os.environ, **CLI_ENV, "PEERLANE_SERVER": "", "XDG_CONFIG_HOME": str(tmp / label)}
        with self.out.open("wb") as out, (tmp / f"{label}.err").open("wb") as err:
            self.proc = subprocess.Popen(
                [*runner, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env
            )
        self.err = tmp / f"{label}.err"
        self.cpu_mark = 0.0
        STARTED.append(self)

    def stop(self) -> None:
        """Kill it if it still runs (a transfer that failed: the bench goes no further)."""
        if self.proc.returncode is None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def mark_cpu(self) -> None:
        """The CPU used so far: what ``finish`` counts from."""
        self.cpu_mark = cpu_seconds(self.proc.pid)

    def finish(self, timeout: float) -> float:
        """Wait for the exit (status 0); the CPU seconds since ``mark_cpu``."""
        deadline = time.monotonic() + timeout
        while True:  # os.wait4 for the child's rusage (Popen.wait does not give it)
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(f"CLI still running after {timeout} s: {self.describe()}")
            time.sleep(0.05)  # polling the child's exit: wait4 has no timeout
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        if self.proc.returncode:
            raise RuntimeError(f"CLI exited {self.proc.returncode}: {self.describe()}")
        return usage.ru_utime + usage.ru_stime - self.cpu_mark

    def describe(self) -> str:
        return f"{self.out.read_text()}\n{self.err.read_text()[-3000:]}"


def run_cli_browser(
    server: Any, tmp: Path, size: int, rounds: int, budget: float, profile: bool = False
) -> dict[str, Any]:
    """The three transfers, ``rounds`` times, but no round begun after ``budget`` seconds
    (at least one is run); the runs, ratios and medians."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        try:
            return _rounds(pw, server, tmp, size, rounds, budget, profile)
        finally:
            for cli in STARTED:  # those a failed transfer left running
                cli.stop()


def _rounds(
    pw: Any, server: Any, tmp: Path, size: int, rounds: int, budget: float, profile: bool
) -> dict[str, Any]:
    from e2e.helpers import create_room_ui, invite_link, join_by_link_ui, random_file

    timeout = max(600.0, size / MB * 2)
    path = tmp / "cli-browser.bin"
    sha, _ = random_file(path, size)
    result: dict[str, Any] = {"size_bytes": size, "runs": []}
    profiles, contexts, errors = browser_pair(pw, tmp)
    alice, bob = (c.pages[0] if c.pages else c.new_page() for c in contexts.values())
    create_room_ui(alice, server.base, "alice", "bench", encrypted=False)
    link = invite_link(alice)
    join_by_link_ui(bob, link, "bob")
    wait_direct(alice, bob)
    cpu = CpuMeter(profiles)
    ctx = {"alice": alice, "bob": bob, "link": link, "server": server, "tmp": tmp}
    ctx.update(path=path, sha=sha, size=size, timeout=timeout, cpu=cpu, n=0)

    def one(kind: str, prof: str = "") -> dict[str, Any]:
        load = os.getloadavg()[0]
        if kind == B2B:
            out = peerlane_transfer(alice, bob, path, sha, tmp, timeout, cpu)
        else:
            out = (cli_to_browser if kind == C2B else browser_to_cli)(ctx, prof)
        used = sum(sum(threads.values()) for threads in out["cpu"].values())
        run = {
            "kind": kind,
            "seconds": round(out["seconds"], 2),
            "mb_per_s": round(size / MB / out["seconds"], 2),
            "browsers_cpu_ms_per_mb": round(used * 1000 / (size / MB), 1),
            "cli_cpu_ms_per_mb": round(out["cli_cpu_s"] * 1000 / (size / MB), 1)
            if "cli_cpu_s" in out
            else None,
            "cli_cpu_share": round(out["cli_cpu_s"] / out["seconds"], 2)
            if "cli_cpu_s" in out
            else None,
            "path": out["path"],
            "sha256_match": out["sha256_match"],
            "load": round(load, 1),
            "profiled": bool(prof),
        }
        cli = ""
        if run["cli_cpu_share"] is not None:
            cli = f"  CLI {run['cli_cpu_ms_per_mb']} ms CPU/MB ({run['cli_cpu_share']} of wall)"
        print(
            f"  {kind:>17}: {run['seconds']:6.1f} s {run['mb_per_s']:6.2f} MB/s  browsers "
            f"{run['browsers_cpu_ms_per_mb']:.0f} ms CPU/MB{cli}  {run['path']}  "
            f"match {run['sha256_match']}  load {load:.1f}",
            flush=True,
        )
        return run

    order = [B2B, C2B, B2C]
    started = time.monotonic()
    for i in range(rounds):
        if i and time.monotonic() - started > budget:
            print(f"  (the {budget:.0f} s budget is spent: {i} of {rounds} rounds)")
            break
        result["rounds_run"] = i + 1
        runs = {kind: one(kind) for kind in (order if i % 2 == 0 else order[::-1])}
        result["runs"] += runs.values()
        for kind in (C2B, B2C):
            ratio = runs[kind]["mb_per_s"] / runs[B2B]["mb_per_s"]
            result.setdefault("pair_ratios", {}).setdefault(kind, []).append(round(ratio, 3))
    if profile:
        result["profiles"] = {}
        for kind, prof in ((C2B, str(tmp / "c2b.prof")), (B2C, str(tmp / "b2c.prof"))):
            result["runs"].append(one(kind, prof))
            result["profiles"][kind] = by_component(prof)
    timed = [r for r in result["runs"] if not r["profiled"]]
    result["median_mb_per_s"] = {
        kind: statistics.median(r["mb_per_s"] for r in timed if r["kind"] == kind) for kind in order
    }
    result["ratio"] = {k: statistics.median(v) for k, v in result["pair_ratios"].items()}
    result["errors"] = errors
    for context in contexts.values():
        context.close()
    return result


def cli_to_browser(ctx: dict[str, Any], profile: str) -> dict[str, Any]:
    from e2e.helpers import transfer_ids, wait_js

    bob, tmp, size, timeout = ctx["bob"], ctx["tmp"], ctx["size"], ctx["timeout"]
    ctx["n"] += 1
    before = set(transfer_ids(bob, "in"))
    args = ["send", str(ctx["path"]), "--room", ctx["link"], "--name", f"cli-send-{ctx['n']}"]
    cli = Cli(tmp, f"cli-send-{ctx['n']}", args, profile)
    wait_js(
        bob,
        "(before) => [...document.querySelectorAll('[data-testid=transfer][data-direction=in]')]"
        ".some((r) => !before.includes(r.dataset.transferId))",
        sorted(before),
        timeout=timeout,
        what="the CLI's offer in bob's page",
    )
    (tid,) = [t for t in transfer_ids(bob, "in") if t not in before]
    cli.mark_cpu()
    out = accept_in_page(bob, tid, size, timeout, ctx["cpu"])
    out["cli_cpu_s"] = cli.finish(timeout)
    out["sha256_match"] = save_matches(bob, tid, ctx["sha"], tmp, timeout)
    return out


def browser_to_cli(ctx: dict[str, Any], profile: str) -> dict[str, Any]:
    from playwright.sync_api import expect

    from e2e.helpers import PEER, offer_files_ui, sha256_file, wait_js, wait_transfer

    alice, tmp, timeout = ctx["alice"], ctx["tmp"], ctx["timeout"]
    ctx["n"] += 1
    name = f"cli-receive-{ctx['n']}"
    got = tmp / f"got-{ctx['n']}"
    cli = Cli(tmp, name, ["receive", ctx["link"], "-o", str(got), "--yes", "--name", name], profile)
    wait_js(
        alice,
        f"() => ({PEER_NAMES_JS})().includes({name!r})",
        timeout=120,  # a new Python process importing aiortc, on a loaded machine
        what=f"{name} in the room",
    )
    # The link up before the offer, as bob's is for browser → browser.
    expect(alice.locator(f"{PEER}[data-path=direct]")).to_have_count(2, timeout=60_000)
    before = ctx["cpu"].snapshot()
    cli.mark_cpu()
    (tid,) = offer_files_ui(alice, [ctx["path"]], to_name=name, timeout=timeout)
    cli_cpu = cli.finish(timeout)
    used = ctx["cpu"].since(before)  # (includes alice's hashing before the offer)
    view = wait_transfer(alice, tid, timeout=timeout)
    found = re.search(r"in ([\d.]+) s .* via (.+)", cli.out.read_text())
    assert found, cli.describe()
    assert found.group(2).startswith("peer to peer"), found.group(0)  # not the server
    match = sha256_file(got / ctx["path"].name) == ctx["sha"]
    subprocess.run(["rm", "-rf", str(got)], check=True)
    seconds = float(found.group(1))
    return {
        "seconds": seconds,
        "cpu": used,
        "cli_cpu_s": cli_cpu,
        "path": view["path"],
        "sha256_match": match,
    }


# What each function's own time is spent on, by where it is defined (a short profile).
COMPONENTS = [
    ("aiortc SCTP", ("aiortc/rtcsctptransport",)),
    ("aiortc DTLS + SRTP", ("aiortc/rtcdtlstransport",)),
    ("aioice (ICE, UDP)", ("aioice/",)),
    ("other aiortc", ("aiortc/",)),
    ("crypto (OpenSSL via cryptography, pylibsrtp)", ("cryptography/", "OpenSSL", "pylibsrtp")),
    ("peerlane", ("peerlane/",)),
    ("asyncio + selectors", ("asyncio/", "selectors")),
]


STARTUP = ("marshal.loads", "builtins.exec", "builtins.compile", "_imp.create_dynamic")


def by_component(prof: str, top: int = 12) -> dict[str, Any]:
    """Own (tottime) seconds of a cProfile dump summed by component, and its top functions."""
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    sums: dict[str, float] = defaultdict(float)
    funcs = []
    for (file, line, func), (_, _, own, _, _) in stats.items():
        where = f"{file}:{func}"
        label = next((name for name, keys in COMPONENTS if any(k in where for k in keys)), "")
        if not label:
            label = _package(file)
        if file == "~":  # a built-in: name it by its own name (e.g. <built-in method ...>)
            label = "built-ins: " + func.split(" of ")[0].strip("<>")
            if any(k in func for k in STARTUP):
                label = "start-up (imports)"
        sums[label] += own
        funcs.append((own, f"{Path(file).name}:{line} {func}"))
    ranked = sorted(sums.items(), key=lambda kv: -kv[1])
    return {
        "total_s": round(sum(sums.values()), 2),
        "peerlane_s": round(sums.get("peerlane", 0.0), 2),  # its own code, however small
        "by_component_s": {k: round(v, 2) for k, v in ranked[:top]},
        "top_functions_s": {f: round(s, 2) for s, f in sorted(funcs, reverse=True)[:top]},
    }


def _package(file: str) -> str:
    """What else a file belongs to: a third-party package, the standard library, or not."""
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/")[0].removesuffix(".py")
    if file.startswith(sys.base_prefix):
        return "stdlib " + Path(file).stem
    return "other"


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The runs as a Markdown table, then the medians, ratios and profiles."""
    lines = [
        f"\nCLI ↔ browser, {result['size_bytes'] / MB:g} MB each",
        "| transfer | seconds | MB/s | browsers' CPU ms/MB | CLI CPU ms/MB (/ wall) | path "
        "| load |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for r in result["runs"]:
        kind = r["kind"] + (" (cProfile)" if r["profiled"] else "")
        cli = f"{r['cli_cpu_ms_per_mb']:.0f} ({r['cli_cpu_share']})" if r["cli_cpu_share"] else ""
        lines.append(
            f"| {kind} | {r['seconds']:.1f} | {r['mb_per_s']:.2f} | "
            f"{r['browsers_cpu_ms_per_mb']:.0f} | {cli} | {r['path']} | "
            f"{r['load']:.1f} |"
        )
    for kind, ratios in result["pair_ratios"].items():
        lines.append(
            f"{kind} / browser → browser by round {ratios}: median {result['ratio'][kind]}"
        )
    for kind, prof in result.get("profiles", {}).items():
        lines.append(
            f"\nprofile of the CLI, {kind}: {prof['total_s']} s own time (wall), "
            f"peerlane's own code {prof['peerlane_s']} s"
        )
        lines += [f"  {k}: {v} s" for k, v in prof["by_component_s"].items()]
        lines.append("  top functions:")
        lines += [f"    {k}: {v} s" for k, v in prof["top_functions_s"].items()]
    return lines
