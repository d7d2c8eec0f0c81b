"""connect_time.py --returning: a returning visitor against a first visit.

A returning visitor has opened peerlane in this browser before: the service worker is
installed and keeps the app shell (every file of the version, issue #16), and the HTTP
cache holds the files under their immutable ``/app/<version>/`` names. ``prime_profile``
makes such a profile before the clock: B's Chromium opens the home page with the
profile the measured run then uses, waits until the service worker controls the page
(it fills the version's cache whole before it activates) and closes. The measured run
is then the same as a first visit's -- the invite link, the same instrumentation and
clock -- in that profile, where a first visit gets a new one.

The two kinds run interleaved (ABBA), each with its own server, browser A and room, as
``--compare-with`` does with two trees; here both servers run the working tree.
Target: the returning visit's p50 at least 30 % below the first visit's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

TARGET_FASTER_PCT = 30.0
PRIME_DEADLINE_S = 60.0
# The app shell kept: a worker controls the page, so its install (the version's cache
# filled whole) and its activation are done.
SHELL_KEPT_JS = """async () => {
  if (!navigator.serviceWorker.controller) return false;
  const names = (await caches.keys()).filter((n) => n.startsWith('peerlane-'));
  if (names.length !== 1) return false;
  return (await (await caches.open(names[0])).keys()).length;
}"""


def prime_profile(pw: Playwright, chromium: str, args: list[str], profile: Path, base: str) -> int:
    """A visit to the home page with ``profile`` until the app shell is kept; the number
    of URLs the service worker keeps."""
    from helpers import wait_js  # type: ignore[import-not-found, unused-ignore]

    context = pw.chromium.launch_persistent_context(
        str(profile),
        executable_path=chromium,
        headless=True,
        args=args,
        viewport={"width": 1280, "height": 800},
    )
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{base}/")
        kept = wait_js(
            page, SHELL_KEPT_JS, timeout=PRIME_DEADLINE_S, what="the app shell kept on the device"
        )
        return int(kept)
    finally:
        context.close()


def returning_report(first: dict[str, Any], returning: dict[str, Any]) -> dict[str, Any]:
    """The p50 totals of both kinds of visit, how much faster the returning one is and
    whether that meets the target."""
    a, b = first["total"].get("p50"), returning["total"].get("p50")
    faster = round(100 * (a - b) / a, 1) if a and b is not None else None
    return {
        "first_p50_ms": a,
        "returning_p50_ms": b,
        "faster_pct": faster,
        "target_faster_pct": TARGET_FASTER_PCT,
        "target_met": faster is not None and faster >= TARGET_FASTER_PCT,
    }


def returning_line(report: dict[str, Any]) -> str:
    faster = report["faster_pct"]
    return (
        f"returning visit >= {TARGET_FASTER_PCT:g} % faster than a first visit (p50): "
        + ("met" if report["target_met"] else "NOT met")
        + (
            f" (first {report['first_p50_ms']:.0f} ms, returning "
            f"{report['returning_p50_ms']:.0f} ms: {faster:+.1f} %)"
            if faster is not None
            else ""
        )
    )
