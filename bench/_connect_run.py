"""connect_time.py's one run: browser B opens the link, the clock stops at the open
data channel (Playwright or bare CDP); its phases and CPU."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "e2e")]

from helpers import wait_js  # type: ignore[import-not-found, unused-ignore]  # noqa: E402

from _cdp import CdpError, PipeBrowser  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
from _connect_page import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    CHROMIUM,
    COLLECT_JS,
    CONNECT_DEADLINE_S,
    INSTRUMENT_JS,
    LEAVE_DEADLINE_S,
    NAME_KEY,
    PHASES,
    READY_JS,
    WAIT_JS,
    WAIT_RENDERED_JS,
    RunFailed,
)
from _connect_report import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    cpu_by_role,
)
from _returning import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    prime_profile,
)
from _stats import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    ProcessTable,
    machine_jiffies,
    process_table,
)

# ---------------------------------------------------------------------- a run ----

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        CDPSession,
        ConsoleMessage,
        Page,
        Playwright,
    )


def phases(data: dict[str, Any]) -> dict[str, float]:
    """The timeline of one run as named intervals (ms) plus the totals."""
    m = data["marks"]
    api = data["api"]

    def api_end(pred: Any) -> float | None:
        ends = [e["end"] for e in api if pred(e["path"])]
        return min(ends) if ends else None

    join = api_end(lambda p: p == "/api/join")
    sdp_marks = [m.get(k) for k in ("out_offer", "in_answer", "in_offer", "out_answer")]
    sdp_pairs = [(m.get("out_offer"), m.get("in_answer")), (m.get("in_offer"), m.get("out_answer"))]
    exchanged = [max(a, b) for a, b in sdp_pairs if a is not None and b is not None]
    points = {
        "load": m.get("ready"),
        "click": m.get("click", m.get("ready")),  # no click when the page joins at once
        "join": join,
        "start": m.get("ws_create"),
        "welcome": m.get("welcome"),
        "sdp": min(exchanged) if exchanged else None,
        "connect": m.get("dc_open"),
        "report": m.get("open"),
    }
    out: dict[str, float] = {}
    previous = 0.0
    for name, _ in PHASES:
        at = points[name]
        if at is None:
            raise RunFailed(f"no mark for {name}: marks {m}, api {api}, sdp {sdp_marks}")
        out[name] = at - previous
        previous = at
    out["total"] = points["report"]
    out["app"] = out["total"] - out["click"]
    # The same points from the navigation start: paired A/B differences of these say
    # where along the way a difference appears (connect_time --e2e, bench/_paired.py).
    for name, key in MILESTONES:
        out[key] = points[name]
    if m.get("room_set") is not None:  # > 0: the welcome waited for the room page's start
        out["room_after_welcome_ms"] = m["room_set"] - points["welcome"]
    waits = data.get("waits") or {}
    room_set = m.get("room_set", points["report"])
    for kind in ("idb", "crypto"):
        # Calls answered before the room started: what its start may have waited for.
        # Their union (calls overlap), so the figure is time spent waiting, not summed.
        before = sorted((start, end) for _, start, end in waits.get(kind, []) if end <= room_set)
        union, reach = 0.0, float("-inf")
        for start, end in before:
            union += max(0.0, end - max(start, reach))
            reach = max(reach, end)
        out[f"{kind}_before_room_ms"] = union
        out[f"{kind}_calls_before_room"] = len(before)
    # Extra detail, where present.
    room_get = api_end(lambda p: p.startswith("/api/rooms/") and p.count("/") == 3)
    history = api_end(lambda p: p.endswith("/messages"))
    for key, value in (
        ("html_ms", data["html"]),
        ("static_end_ms", data["staticEnd"]),
        ("room_get_ms", room_get),
        ("history_ms", history),
        ("ws_open_ms", m.get("ws_open")),
        ("room_set_ms", m.get("room_set")),
        ("rendered_ms", m.get("rendered")),
        ("ice_connected_ms", m.get("ice_connected")),
        ("dtls_connected_ms", m.get("conn_connected")),
        ("first_local_candidate_ms", m.get("local_candidate")),
    ):
        if value is not None:
            out[key] = value
    return out


# (point of phases(), key of its time since the navigation start)
MILESTONES = (
    ("load", "at_load_ms"),
    ("join", "at_join_ms"),
    ("start", "at_socket_ms"),
    ("welcome", "at_welcome_ms"),
    ("sdp", "at_sdp_ms"),
    ("connect", "at_channel_ms"),
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


def new_b(setup: Setup, index: int) -> BrowserContext:
    if setup.shared is not None:
        return setup.shared.new_context(viewport={"width": 1280, "height": 800})
    return setup.pw.chromium.launch_persistent_context(
        str(setup.root / f"profile-b{index}"),
        executable_path=CHROMIUM,
        headless=True,
        args=setup.args,
        viewport={"width": 1280, "height": 800},
    )


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


TRACE_CATEGORIES = (
    "devtools.timeline,v8.execute,blink,loading,netlog,toplevel,"
    "disabled-by-default-devtools.timeline,disabled-by-default-devtools.timeline.frame"
)


def start_trace(context: BrowserContext, page: Page) -> CDPSession:
    """Start a Chromium trace of B (every process) through a CDP session of its page."""
    cdp = context.new_cdp_session(page)
    cdp.send("Tracing.start", {"categories": TRACE_CATEGORIES, "transferMode": "ReturnAsStream"})
    return cdp


def save_trace(cdp: CDPSession, path: Path) -> None:
    """End the trace started by start_trace and write it to path (bounded wait)."""
    done: list[str] = []
    cdp.on("Tracing.tracingComplete", lambda event: done.append(event["stream"]))
    cdp.send("Tracing.end")
    deadline = time.perf_counter() + 30
    while not done:
        if time.perf_counter() > deadline:
            raise RunFailed("the trace did not complete in 30 s")
        cdp.send("Runtime.evaluate", {"expression": "0"})  # lets the event arrive
    chunks = []
    while True:
        part = cdp.send("IO.read", {"handle": done[0]})
        chunks.append(part["data"])
        if part.get("eof"):
            break
    cdp.send("IO.close", {"handle": done[0]})
    cdp.detach()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(chunks))


def find_button(page: Page, deadline: float) -> dict[str, Any]:
    """Once the invite link's page has sent its join (``{"auto": True}``) or rendered a
    "Join room" button (where it is: x, y), bounded."""
    from playwright.sync_api import Error

    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            raise RunFailed('no join and no "Join room" button in time')
        try:
            where = page.evaluate(READY_JS, int(left * 1000))
        except Error as exc:  # the about:blank context went away under the call
            where = {"error": str(exc)}
        if "x" in where or where.get("auto"):
            found: dict[str, Any] = where
            return found
        if not where.get("missing") and "error" not in where:
            raise RunFailed(f'no join and no "Join room" button in time: {where}')
        time.sleep(0.005)  # the link's document is not there yet: ask it again


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


def one_run(setup: Setup, index: int) -> dict[str, Any]:
    if setup.returning:  # before the clock: the visit that keeps the app shell
        profile = setup.root / f"profile-b{index}"
        prime_profile(setup.pw, CHROMIUM, setup.args, profile, setup.base)
    if setup.driver == "cdp":
        return one_run_cdp(setup, index)
    # Start from a room where A is alone (a failed run may have left B behind).
    wait_alone(setup, "A alone in the room")
    errors: list[str] = []
    context = new_b(setup, index)
    try:
        context.set_default_timeout(CONNECT_DEADLINE_S * 1000)
        cfg = {"origin": setup.base, "nameKey": NAME_KEY, "name": f"bob{index}"}
        context.add_init_script(script=f"({INSTRUMENT_JS})({json.dumps(cfg)})")
        page = context.pages[0] if context.pages else context.new_page()
        page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                errors.append(f"console.error: {msg.text}")

        page.on("console", on_console)
        settle_ms = settle_b(setup) if setup.settle else 0.0
        tracing = start_trace(context, page) if setup.trace_dir else None
        procs0, busy0 = process_table(), machine_jiffies()
        started = time.perf_counter()
        page.goto(setup.link, wait_until="commit")
        # The page joins at once; a revision before that needs the click: a mouse click
        # at the button's place (CDP Input events), no Playwright selector engine, whose
        # injected script would compile in the page (~70 ms of its main thread here)
        # while the page loads.
        where = find_button(page, started + CONNECT_DEADLINE_S)
        if not where.get("auto"):
            page.mouse.click(where["x"], where["y"])
        left = CONNECT_DEADLINE_S - (time.perf_counter() - started)
        ok = page.evaluate(WAIT_JS, max(0, int(left * 1000)))
        wall = (time.perf_counter() - started) * 1000
        procs1, busy1 = process_table(), machine_jiffies()
        if tracing is not None and setup.trace_dir is not None:
            save_trace(tracing, setup.trace_dir / f"{setup.name}-b{index}.json")
        if ok:
            page.evaluate(WAIT_RENDERED_JS, 5000)
        data = page.evaluate(COLLECT_JS)
        result = run_result(
            setup,
            Measured(data, ok, wall, settle_ms, (procs0, procs1), (busy0, busy1), errors),
        )
    finally:
        closing = time.perf_counter()
        context.close()
    wait_alone(setup, "A sees B leave")
    result["leave_ms"] = (time.perf_counter() - closing) * 1000
    return result


def playwright_switches(a_profile: str) -> list[str]:
    """The command line Playwright gave browser A's Chromium, less its profile, its
    debugging connection and its start page. B, driven without Playwright, runs with
    these, so the two drivers differ only in what is attached (Playwright adds about 35
    switches of its own to ours)."""
    for pid in process_table():
        try:
            parts = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        args = parts.split("\0")
        if f"--user-data-dir={a_profile}" in args and not any(
            a.startswith("--type=") for a in args
        ):
            dropped = ("--user-data-dir=", "--remote-debugging-", "about:", "data:")
            return [a for a in args[1:] if a and not a.startswith(dropped)]
    raise RunFailed("browser A's command line not found")


def one_run_cdp(setup: Setup, index: int) -> dict[str, Any]:
    """One run with B a new Chromium driven over a DevTools pipe (bench/_cdp.py), no
    Playwright attached to it: the same switches, viewport, instrumentation, link and
    clock."""
    wait_alone(setup, "A alone in the room")
    if not setup.cdp_args:
        setup.cdp_args = playwright_switches(setup.a_profile)
    try:
        browser = PipeBrowser(CHROMIUM, setup.cdp_args, setup.root / f"profile-b{index}")
    except OSError as exc:
        raise RunFailed(f"cannot start browser B: {exc}") from exc
    try:
        browser.attach_to_page()
        cfg = {"origin": setup.base, "nameKey": NAME_KEY, "name": f"bob{index}"}
        browser.send("Page.enable")  # the one domain needed: scripts for new documents
        browser.send(
            "Page.addScriptToEvaluateOnNewDocument",
            {"source": f"({INSTRUMENT_JS})({json.dumps(cfg)})"},
        )
        browser.send(  # Playwright's default viewport, as new_b gives it
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
        )
        settle_ms = settle_b(setup) if setup.settle else 0.0
        procs0, busy0 = process_table(), machine_jiffies()
        started = time.perf_counter()
        browser.send("Page.navigate", {"url": setup.link})
        deadline = started + CONNECT_DEADLINE_S
        while True:  # the link's document, once its instrumentation is there
            left = deadline - time.perf_counter()
            if left <= 0:
                raise RunFailed("the invite link's page did not load in time")
            try:
                where = browser.evaluate(f"({READY_JS})({int(left * 1000)})", timeout=left + 1)
            except CdpError:  # the blank document went away under the call
                where = {"missing": True}
            if where.get("auto"):
                break
            if "x" in where:
                raise RunFailed("the page shows a Join button: the cdp driver does not click")
            if not where.get("missing"):
                raise RunFailed(f"no join in time: {where}")
            time.sleep(0.005)  # still the blank document: ask the new one
        left = deadline - time.perf_counter()
        ok = bool(browser.evaluate(f"({WAIT_JS})({max(0, int(left * 1000))})", timeout=left + 1))
        wall = (time.perf_counter() - started) * 1000
        procs1, busy1 = process_table(), machine_jiffies()
        if ok:
            browser.evaluate(f"({WAIT_RENDERED_JS})(5000)", timeout=6)
        data = browser.evaluate(f"({COLLECT_JS})()")
        result = run_result(
            setup, Measured(data, ok, wall, settle_ms, (procs0, procs1), (busy0, busy1), [])
        )
    except CdpError as exc:
        raise RunFailed(f"DevTools: {exc}") from exc
    finally:
        closing = time.perf_counter()
        browser.close()
    wait_alone(setup, "A sees B leave")
    result["leave_ms"] = (time.perf_counter() - closing) * 1000
    return result
