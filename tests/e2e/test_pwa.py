"""The installable app (issue #16): Chromium finds nothing in the way of installing it,
and the service worker keeps the version's files and controls the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    STATUS,
    create_room_ui,
    history,
    room_ready,
    send_ui,
    wait_js,
    wait_messages,
    wait_online,
)

pytestmark = pytest.mark.browser

CONTROLLED = "() => navigator.serviceWorker.controller !== null"
ALL_NUMBERED = "() => window.peerlane.room.messages.every((m) => m.seq !== null)"


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


def test_offline_reload_shows_the_room_and_its_history_and_the_outbox_lands_once(
    server, browsers
) -> None:
    page = browsers.new("alice").page
    room_id = create_room_ui(page, server.base, "alice")
    wait_js(page, CONTROLLED, timeout=30, what="the service worker controlling the page")
    before = ["kept on the device 1", "kept on the device 2"]
    for body in before:
        send_ui(page, body)
    wait_messages(page, before)
    wait_js(page, ALL_NUMBERED, timeout=15, what="the messages stored by the server")

    server.kill()
    page.reload()
    room_ready(page, online=False)
    wait_messages(page, before)  # from the device: the server is gone
    expect(page.locator(STATUS)).to_contain_text("connect", timeout=20_000)
    send_ui(page, "written offline")
    wait_messages(page, [*before, "written offline"])

    server.start()  # same port, same data directory
    wait_online(page)
    wait_js(page, ALL_NUMBERED, timeout=30, what="the outbox delivered")
    stored = [m["body"] for m in history(page, room_id)]
    assert stored == [*before, "written offline"], stored
