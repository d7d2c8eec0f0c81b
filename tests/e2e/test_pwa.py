"""The installable app (issue #16): Chromium finds nothing in the way of installing it,
and the service worker keeps the version's files and controls the page."""

from __future__ import annotations

import pytest

from e2e.helpers import wait_js

pytestmark = pytest.mark.browser

CONTROLLED = "() => navigator.serviceWorker.controller !== null"


def test_chromium_reports_no_installability_error(server, browsers) -> None:
    page = browsers.new("alice").page
    page.goto(f"{server.base}/")
    wait_js(page, CONTROLLED, timeout=30, what="the service worker controlling the page")
    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [], manifest["errors"]
    assert manifest["url"].endswith("/static/manifest.webmanifest")
    installability = cdp.send("Page.getInstallabilityErrors")
    assert installability["installabilityErrors"] == [], installability
    # The whole version is kept: the room page's modules included.
    kept = wait_js(
        page,
        """async () => {
          const names = await caches.keys();
          if (names.length !== 1) return null;
          const cache = await caches.open(names[0]);
          return (await cache.keys()).map((r) => new URL(r.url).pathname);
        }""",
        what="the version's cache",
    )
    assert {"/", "/r/-", "/static/app.js", "/static/ui/room-page.js"} <= set(kept)
