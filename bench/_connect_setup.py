"""What a run of connect_time.py needs whichever driver opens the link (Playwright,
_connect_run.py, or bare CDP, _connect_cdp.py): the session's Setup, B idle before the
clock, A alone in the room between runs, and the result row of what a run measured."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "e2e")]

from helpers import wait_js  # type: ignore[import-not-found, unused-ignore]  # noqa: E402

from _connect_page import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    CONNECT_DEADLINE_S,
    LEAVE_DEADLINE_S,
    RunFailed,
)
from _connect_phases import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    phases,
)
from _connect_report import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    cpu_by_role,
)
from _stats import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    ProcessTable,
    process_table,
)

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        Page,
        Playwright,
    )


@dataclass
class Setup:
    """What every run needs: the Playwright instance, browser A, the server (one per
    variant with --compare-with)."""

    pw: Playwright
    shared: Browser | None  # --browser context: the one Chromium for every B
    root: Path
    base: str
    link: str
    a_page: Page
    a_profile: str
    server_pid: int
    args: list[str]
    name: str = "current"
    # (server pid, A's profile) of the other variants: their CPU is left out of this one's
    others: list[tuple[int, str]] = field(default_factory=list)
    settle: bool = True  # wait for B's new window to go idle before opening the link
    trace_dir: Path | None = None  # --trace: a Chromium trace of B per run
    driver: str = "playwright"  # or "cdp": B without Playwright (bench/_cdp.py)
    cdp_args: list[str] = field(default_factory=list)  # B's switches then: A's (Playwright's)
    returning: bool = False  # B a returning visitor (bench/_returning.py)


SETTLE_WINDOW_S = 0.15  # B is idle when it used at most one clock tick in this long
SETTLE_DEADLINE_S = 10.0


def settle_b(setup: Setup) -> float:
    """Wait until browser B (its every process) is idle, bounded; the ms it took.

    A new Chromium window is not idle for a while: Chromium builds its own WebUI in a
    renderer of its own (the omnibox popup, ~0.3-0.9 s of CPU) and the browser process
    sets the window up. A person opens an invite link in a browser that is already up,
    so that work is Chromium's, not the link's, and on two cores it would compete with
    the page for the whole measured interval."""
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    started = time.perf_counter()
    before = process_table()
    while time.perf_counter() - started < SETTLE_DEADLINE_S:
        time.sleep(SETTLE_WINDOW_S)
        after = process_table()
        spent, _ = cpu_by_role(before, after, setup.server_pid, setup.a_profile, setup.others)
        if spent["b"] <= tick_ms:
            return (time.perf_counter() - started) * 1000
        before = after
    raise RunFailed(f"browser B still busy after {SETTLE_DEADLINE_S:g} s")


def wait_alone(setup: Setup, what: str) -> None:
    """A's room has no peer left (bounded)."""
    wait_js(
        setup.a_page,
        "() => window.peerlane?.room?.peers.size === 0",
        timeout=LEAVE_DEADLINE_S,
        what=what,
    )


@dataclass
class Measured:
    """What a run saw between opening the link and the open channel."""

    data: dict[str, Any]  # COLLECT_JS
    ok: bool
    wall: float
    settle_ms: float
    procs: tuple[ProcessTable, ProcessTable]
    busy: tuple[tuple[int, int], tuple[int, int]]
    errors: list[str]


def run_result(setup: Setup, m: Measured) -> dict[str, Any]:
    if not m.ok:
        raise RunFailed(f"no open data channel within {CONNECT_DEADLINE_S:g} s: {m.data}")
    data = m.data
    result: dict[str, Any] = {**phases(data)}
    cpu, b_kinds = cpu_by_role(*m.procs, setup.server_pid, setup.a_profile, setup.others)
    (busy0, busy1) = m.busy
    result.update(
        wall=m.wall,
        settle_ms=m.settle_ms,
        side=data["side"],
        cpu_b=cpu["b"],
        cpu_a=cpu["a"],
        cpu_server=cpu["server"],
        cpu_driver=cpu["driver"],
        busy=100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
        **{f"cpu_b_{kind}": ms for kind, ms in b_kinds.items()},
        pcs=data["counts"].get("pc_create", 0),
        local_candidates=data["counts"].get("local_candidate", 0),
        remote_candidates=data["counts"].get("in_candidate", 0),
        static_files=data["staticCount"],
        statics=data["statics"],
        errors=m.errors + [e for e in data.get("errors", []) if e not in m.errors],
        events=data["events"],
    )
    return result
