"""connect_time.py's session: every variant's server, browser A and room, then the
runs interleaved (bench())."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "e2e")]

from helpers import create_room_ui, invite_link  # type: ignore[import-not-found, unused-ignore]  # noqa: E402

from _connect_page import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    CHROMIUM,
    CPU_KEYS,
    LOOPBACK,
    PHASES,
    RunFailed,
    chromium_args,
)
from _connect_report import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    check_served,
    run_table,
    summary,
)
from _connect_run import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    one_run,
)
from _connect_setup import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    Setup,
)
from _stats import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    interleave,
    loadavg,
    machine_jiffies,
)
from _variants import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    Variant,
)
from support import ServerProcess  # type: ignore[import-not-found, unused-ignore]  # noqa: E402

# ------------------------------------------------------------------------ main ----

if TYPE_CHECKING:
    from playwright.sync_api import (
        BrowserContext,
        Page,
    )


@contextlib.contextmanager
def time_limit(seconds: float, server: list[ServerProcess]) -> Iterator[None]:
    """Bounded no matter what: SIGALRM raises TimeoutError at the limit (clean-up runs);
    60 s later a watchdog kills the server and exits the process."""

    def on_alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"time limit of {seconds:g} s reached")

    def watchdog() -> None:
        if not done.wait(seconds + 60):
            print("connect_time: clean-up hung; exiting", file=sys.stderr, flush=True)
            for proc in server:
                if proc.proc is not None:
                    proc.proc.kill()
            os._exit(3)

    done = threading.Event()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    threading.Thread(target=watchdog, daemon=True).start()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        done.set()


def server_env(total_runs: int) -> dict[str, str]:
    """The environment every variant's server gets (on top of ServerProcess's)."""
    return {
        "PEERLANE_HOST": LOOPBACK,
        "PEERLANE_LOG_LEVEL": "warning",
        # every run joins from 127.0.0.1 as a new participant
        "PEERLANE_JOINS_PER_MINUTE": "100000",
        "PEERLANE_MAX_PARTICIPANTS": str(total_runs + 10),
    }


def open_room(
    a: BrowserContext, base: str, a_errors: list[str], encrypted: bool = True
) -> tuple[Page, str]:
    """Browser A creates a room through the UI (end-to-end encrypted, as by default, or
    not): its page and the invite link (an encrypted room's with its key)."""
    a.set_default_timeout(15_000)
    a_page = a.pages[0] if a.pages else a.new_page()
    a_page.on("pageerror", lambda e: a_errors.append(f"uncaught: {e}"))
    create_room_ui(a_page, base, "alice", encrypted=encrypted)
    link: str = invite_link(a_page)
    return a_page, link


def run_stats(measured: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    keys = ["total", "app", "wall", *(n for n, _ in PHASES), "leave_ms", *CPU_KEYS]
    extra = sorted(
        {
            k
            for r in measured
            for k in r
            if (k.endswith("_ms") and k != "leave_ms") or k.startswith("cpu_b_")
        }
    )
    return {k: summary([r[k] for r in measured if k in r]) for k in [*keys, *extra]}


def bench(
    opts: argparse.Namespace,
    tmp: Path,
    servers: list[ServerProcess],
    variants: Sequence[Variant],
) -> dict[str, Any]:
    """Every variant's server, browser A and room, then the runs (interleaved when there
    are several variants). Per variant: its runs, measured runs, stats and failures."""
    from playwright.sync_api import sync_playwright

    total_runs = opts.warmup + opts.runs
    compare = len(variants) > 1
    for i, variant in enumerate(variants):
        server = ServerProcess(
            tmp / ("data" if i == 0 else f"data-{i}"),
            env={**server_env(total_runs), **variant.env},
        )
        servers.append(server)
        server.start()
    checks = check_served(variants, [s.base for s in servers]) if compare else []
    for line in checks:
        print(f"connect_time: check: {line}", file=sys.stderr, flush=True)
    runs: list[list[dict[str, Any]]] = [[] for _ in variants]
    failures: list[list[str]] = [[] for _ in variants]
    a_errors: list[list[str]] = [[] for _ in variants]
    busy0: tuple[int, int] | None = None
    load0: list[float] | None = None
    args = chromium_args(opts.no_omnibox_popup)
    with sync_playwright() as pw:
        browsers_a: list[BrowserContext] = []
        shared = None
        try:
            setups: list[Setup] = []
            for i, (variant, server) in enumerate(zip(variants, servers, strict=True)):
                a_profile = str(tmp / ("profile-a" if i == 0 else f"profile-a{i}"))
                a = pw.chromium.launch_persistent_context(
                    a_profile,
                    executable_path=CHROMIUM,
                    headless=True,
                    args=args,
                    viewport={"width": 1280, "height": 800},
                )
                browsers_a.append(a)
                a_page, link = open_room(a, server.base, a_errors[i], variant.encrypted)
                assert server.proc is not None
                setups.append(
                    Setup(
                        pw=pw,
                        shared=None,
                        root=tmp,
                        base=server.base,
                        link=link,
                        a_page=a_page,
                        a_profile=a_profile,
                        server_pid=server.proc.pid,
                        args=args,
                        name=variant.name,
                        settle=not opts.no_settle,
                        trace_dir=opts.trace,
                        driver=opts.driver,
                        returning=variant.returning,
                    )
                )
            if opts.browser == "context":
                shared = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            for setup in setups:
                setup.shared = shared
                setup.others = [(o.server_pid, o.a_profile) for o in setups if o is not setup]
            cdp = browsers_a[0].new_cdp_session(setups[0].a_page)
            version = str(cdp.send("Browser.getVersion").get("product", "?"))
            cdp.detach()
            failed = 0
            budget = getattr(opts, "budget", 0) or 0
            runs_started = time.monotonic()
            # i numbers the runs of every variant together: B's profile and name.
            for i, (v, k) in enumerate(interleave(len(setups), total_runs)):
                # --budget: no new pair once the time is spent (a pair is never cut short).
                new_pair = all(len(r) + len(f) <= k for r, f in zip(runs, failures, strict=True))
                if budget and new_pair and time.monotonic() - runs_started > budget:
                    print(
                        f"connect_time: --budget {budget:g} s spent: stopping after "
                        f"{max(0, k - opts.warmup)} measured pairs",
                        file=sys.stderr,
                        flush=True,
                    )
                    break
                label = f"w{k + 1}" if k < opts.warmup else str(k - opts.warmup + 1)
                width = max(len(s.name) for s in setups)
                prefix = f"[{setups[v].name}]".ljust(width + 3) if compare else ""
                if busy0 is None and k >= opts.warmup:
                    busy0, load0 = machine_jiffies(), loadavg()
                try:
                    result = one_run(setups[v], i)
                except (RunFailed, AssertionError) as exc:
                    failures[v].append(f"{prefix}run {label}: {exc}")
                    print(
                        f"{prefix}run {label}: FAILED: {str(exc)[:2000]}",
                        file=sys.stderr,
                        flush=True,
                    )
                    failed += 1
                    if failed >= 3:
                        break
                    continue
                result["label"] = label
                result["warmup"] = k < opts.warmup
                runs[v].append(result)
                for err in result["errors"]:
                    print(f"{prefix}run {label}: {err}", file=sys.stderr)
                print(prefix + run_table([result]).splitlines()[-1], file=sys.stderr, flush=True)
            busy1, load1 = machine_jiffies(), loadavg()
        finally:
            if shared is not None:
                shared.close()
            for a in browsers_a:
                a.close()
    busy_pct = None
    if busy0 is not None:
        busy_pct = round(100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]), 1)
    outcomes = []
    for i, variant in enumerate(variants):
        measured = [r for r in runs[i] if not r["warmup"]]
        outcomes.append(
            {
                "variant": variant,
                "runs": runs[i],
                "measured": measured,
                "stats": run_stats(measured),
                "failures": failures[i],
                "a_errors": a_errors[i],
            }
        )
    return {
        "variants": outcomes,
        "checks": checks,
        "chromium": version,
        "load_start": load0,
        "load_end": load1,
        "busy_pct": busy_pct,
    }
