"""connect_time.py's one run: browser B opens the link, the clock stops at the open
data channel; driven by Playwright here, by bare CDP in _connect_cdp.py."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "e2e")]

from _connect_cdp import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    one_run_cdp,
)
from _connect_page import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    CHROMIUM,
    COLLECT_JS,
    CONNECT_DEADLINE_S,
    INSTRUMENT_JS,
    NAME_KEY,
    READY_JS,
    WAIT_JS,
    WAIT_RENDERED_JS,
    RunFailed,
)
from _connect_setup import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    Measured,
    Setup,
    run_result,
    settle_b,
    wait_alone,
)
from _returning import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    prime_profile,
)
from _stats import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    machine_jiffies,
    process_table,
)

if TYPE_CHECKING:
    from playwright.sync_api import (
        BrowserContext,
        CDPSession,
        ConsoleMessage,
        Page,
    )


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
