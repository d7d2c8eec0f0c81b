"""Opening an entry page (the home page, an invite link) and waiting for the room page
after its form is sent, failing with what the page shows and did instead of a bare
Playwright timeout.

A create or join that never gets anywhere on a loaded CI machine says little by itself
("waiting for locator('#display-name')"). What tells the causes apart: did the document
come (its HTTP status), did the client's module graph run (``pl-home-page`` defined, the
form in the DOM), did a request fail or answer an error, did the page navigate again or
crash, what the service worker was doing (its first install fetches every file of the
version), and how long the page took to load and to answer us at all.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

# The entry form's first field (ui/join-form.js nameField): drawn synchronously when
# app.js's module graph has run, i.e. by DOMContentLoaded.
NAME_FIELD = "#display-name"

# What an entry page shows and where it stands. Async: the service worker's registration
# is a promise.
ENTRY_STATE_JS = """async () => {
  const registration = await navigator.serviceWorker?.getRegistration().catch(() => null);
  const resources = performance.getEntriesByType('resource');
  const nav = performance.getEntriesByType('navigation')[0];
  const short = (url) => url.replace(location.origin, '');
  return {
    url: location.href,
    readyState: document.readyState,
    modulesRan: Boolean(customElements.get('pl-home-page')),
    shown: document.getElementById('app')?.firstElementChild?.tagName.toLowerCase() ?? null,
    form: Boolean(document.querySelector('#display-name')),
    alerts: [...document.querySelectorAll('[role=alert]')].map((e) => e.textContent)
      .filter(Boolean),
    busy: [...document.querySelectorAll('button[aria-busy=true], button:disabled')]
      .map((b) => b.textContent),
    main: document.querySelector('main')?.id ?? null,
    serviceWorker: registration ? {
      installing: Boolean(registration.installing), waiting: Boolean(registration.waiting),
      active: registration.active?.state ?? null,
      controlling: Boolean(navigator.serviceWorker.controller),
    } : null,
    loadedAtMs: nav ? Math.round(nav.loadEventEnd) : null,
    nowMs: Math.round(performance.now()),
    requests: resources.length,
    errors: resources.filter((r) => r.responseStatus >= 400)
      .map((r) => `${short(r.name)} ${r.responseStatus}`),
    slowest: [...resources].sort((a, b) => b.duration - a.duration).slice(0, 3)
      .map((r) => `${short(r.name)} ${Math.round(r.duration)} ms`),
  };
}"""


class EntryWatch:
    """Collects, while open, what happened to ``page`` outside its JavaScript: failed
    requests, error answers, console errors, main-frame navigations, a crash."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.started = time.monotonic()
        self.events: list[str] = []
        self._handlers = {
            "requestfailed": lambda r: self._add(f"failed {r.url} ({r.failure})"),
            "response": lambda r: r.status >= 400 and self._add(f"HTTP {r.status} {r.url}"),
            "console": lambda m: m.type == "error" and self._add(f"console: {m.text[:200]}"),
            "pageerror": lambda e: self._add(f"exception: {e}"),
            "framenavigated": lambda f: f == page.main_frame and self._add(f"navigated {f.url}"),
            "crash": lambda _: self._add("the page crashed"),
        }

    def _add(self, what: str) -> None:
        self.events.append(f"{time.monotonic() - self.started:.1f}s {what}")

    def __enter__(self) -> EntryWatch:
        for event, handler in self._handlers.items():
            self.page.on(event, handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for event, handler in self._handlers.items():
            self.page.remove_listener(event, handler)

    def report(self, what: str) -> str:
        """``what`` did not happen: the page's state and the events seen, in words."""
        took = time.monotonic() - self.started
        try:
            state: Any = self.page.evaluate(ENTRY_STATE_JS)
        except Exception as exc:  # a crashed or closed page: say so, not a second error
            state = f"(no state: {exc})"
        return f"{what} ({took:.1f} s): the page shows {state}; events: {self.events}"


def open_entry(page: Page, url: str, timeout: float = 45) -> None:
    """Open ``url`` (the home page or an invite link) and wait until its form can be
    filled; if it never can, fail with the page's state. 45 s as for the room page: on a
    loaded 2-core machine the first visit loads the client into a fresh profile."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with EntryWatch(page) as watch:
        response = page.goto(url)
        status = response.status if response is not None else None
        try:
            page.locator(NAME_FIELD).wait_for(state="visible", timeout=timeout * 1000)
        except PlaywrightTimeout:
            raise AssertionError(
                watch.report(f"no entry form after opening {url} (HTTP {status})")
            ) from None


def wait_for_room_url(page: Page, pattern: str, timeout: float = 45) -> None:
    """Wait for the room page's URL after a create or join click; if it never comes, fail
    with what the page shows (an alert, a button still busy) instead of a bare timeout."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with EntryWatch(page) as watch:
        try:
            page.wait_for_url(pattern, timeout=timeout * 1000)
        except PlaywrightTimeout:
            raise AssertionError(watch.report(f"no room page after {timeout} s")) from None
