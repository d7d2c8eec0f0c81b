"""Headless Debian Chromium participants driven by Playwright, for every browser suite
(tests/e2e, tests/container): ``Browsers.new(name, ...)`` starts one Chromium with a fresh
profile and collects its JavaScript errors; ``finish`` closes them all and returns what
they logged (a test fails on any).

Playwright is imported only inside functions and under TYPE_CHECKING, so importing this
module needs no browser.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from chromium_flags import CHROMIUM_FLAGS

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Playwright

CHROMIUM = os.environ.get("PEERLANE_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", *CHROMIUM_FLAGS]
# "Peer to peer impossible": the profile's WebRTC IP handling policy lets WebRTC use
# UDP only through a proxy, and there is none, so ICE gathers no candidate at all and
# no connection is possible. (The --force-webrtc-ip-handling-policy switch is not
# honoured by this Chromium; the preference is, per profile.)
NO_P2P_PREFS = {"webrtc": {"ip_handling_policy": "disable_non_proxied_udp"}}

# Browser-generated console errors about the network (a 401 while not yet joined, a
# refused connection while the server is down) are expected; anything else logged as
# an error -- an exception, an unhandled rejection, a CSP violation, a missing static
# file -- fails the test.
NETWORK_NOISE = (
    # only for /api/ URLs and /readyz (asked while the server is away), see _is_noise
    re.compile(r"^Failed to load resource: .*"),
    re.compile(r"^WebSocket connection to '.*' failed"),
)

# Reports every CSP violation through console.error, whatever Chromium itself logs.
CSP_WATCH = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')
    + ' at ' + e.sourceFile + ':' + e.lineNumber);
});
"""


@dataclass
class Browser:
    """One participant: a Chromium process with its own fresh profile, and one page."""

    name: str
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Tolerate console errors matching ``pattern`` (a regex) from now on."""
        self.allowed.append(re.compile(pattern))

    def _is_noise(self, msg: ConsoleMessage) -> bool:
        text = msg.text
        if any(p.search(text) for p in self.allowed):
            return True
        if NETWORK_NOISE[1].search(text):
            return True
        if NETWORK_NOISE[0].search(text):
            url = msg.location.get("url", "")
            return "/api/" in url or url.endswith(("/favicon.ico", "/readyz")) or url == ""
        return False

    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error" and not self._is_noise(msg):
            where = msg.location.get("url", "")
            self.errors.append(f"console.error: {msg.text} ({where})")

    def _on_pageerror(self, error: Exception) -> None:
        text = str(error)
        if not any(p.search(text) for p in self.allowed):
            self.errors.append(f"uncaught: {text}")


class Browsers:
    def __init__(self, playwright: Playwright, root: Path) -> None:
        self.playwright = playwright
        self.root = root
        self.all: list[Browser] = []

    def new(
        self,
        name: str,
        *,
        p2p: bool = True,
        viewport: tuple[int, int] = (1280, 800),
        bypass_csp: bool = False,
        extra_args: list[str] | None = None,
        ignore_https_errors: bool = False,
    ) -> Browser:
        profile = self.root / f"profile-{len(self.all)}-{name}"
        if not p2p:
            (profile / "Default").mkdir(parents=True)
            (profile / "Default" / "Preferences").write_text(json.dumps(NO_P2P_PREFS))
        args = [*CHROMIUM_ARGS, *(extra_args or [])]
        context = self.playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=args,
            viewport={"width": viewport[0], "height": viewport[1]},
            bypass_csp=bypass_csp,
            ignore_https_errors=ignore_https_errors,
        )
        context.set_default_timeout(15_000)
        context.add_init_script(CSP_WATCH)
        page = context.pages[0] if context.pages else context.new_page()
        browser = Browser(name, context, page)
        context.on("console", browser._on_console)
        page.on("pageerror", browser._on_pageerror)
        context.on("page", lambda p: p.on("pageerror", browser._on_pageerror))
        self.all.append(browser)
        return browser

    def close(self) -> None:
        for browser in self.all:
            try:
                browser.context.close()
            except Exception as exc:  # a crashed browser must not hide the others
                browser.errors.append(f"closing failed: {exc}")


@contextmanager
def playwright_session() -> Iterator[Playwright]:
    """Playwright for a session; fails at once, in words, when Chromium is missing."""
    import pytest

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


def finish(pool: Browsers, screenshots: Path | None) -> list[str]:
    """Close every browser of ``pool`` (first a full-page screenshot of each page into
    ``screenshots``, as ``<name>-<n>.png`` after its prefix, when given: a failed test);
    every JavaScript error they logged, "[name] error"."""
    if screenshots is not None:
        for b in pool.all:
            for i, page in enumerate(b.context.pages):
                try:
                    page.screenshot(path=f"{screenshots}-{b.name}-{i}.png", full_page=True)
                except Exception as exc:  # best effort only
                    print(f"screenshot of {b.name} failed: {exc}")
    pool.close()
    return [f"[{b.name}] {e}" for b in pool.all for e in b.errors]
