"""connect_time.py's run with ``--driver cdp``: browser B a new Chromium driven over a
DevTools pipe (bench/_cdp.py), with Playwright's switches but nothing attached."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "e2e")]

from _cdp import CdpError, PipeBrowser  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
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
from _stats import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    machine_jiffies,
    process_table,
)


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
