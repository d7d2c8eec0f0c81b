"""The room as the installed app shows it on a phone (issue #16): a phone's viewport,
touch and pixel ratio emulated over the DevTools protocol, in an app window
(``display-mode: standalone``: no browser bar, the page has the whole screen).
Chromium 156 headless neither emulates display-mode (``Emulation.setEmulatedMedia``
ignores it) nor has the PWA domain to install the app, but a window opened with
``--app=<url>`` is standalone: that is the installed app's window. Screenshots in light and dark
go to test-artifacts/installed-room-phone-*.png; the layout is checked, not only shown:
nothing wider than the screen, the composer and its send button on screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    PEER,
    create_room_ui,
    invite_link,
    join_by_link_ui,
    offer_files_ui,
    random_file,
    room_ready,
    send_ui,
    wait_js,
    wait_messages,
)

pytestmark = pytest.mark.browser

PHONE = (390, 844)
CONTROLLED = "() => navigator.serviceWorker.controller !== null"
STANDALONE = "() => matchMedia('(display-mode: standalone)').matches"
# How far the page reaches past the screen's right edge: the document's scroll width,
# and the right edge of any visible element not inside something that scrolls or clips
# sideways (a wide element in a scroll box is the box's business, not the page's).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll('body *')]
    .filter((el) => el.getClientRects().length && !clipped(el))
    .map((el) => ({el: el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className,
                   right: el.getBoundingClientRect().right}))
    .filter((r) => r.right > width + 0.5);
  return {scroll: document.documentElement.scrollWidth - width, wide};
}"""
# Is the element wholly on screen (not under the bottom edge, where no browser bar is)?
ON_SCREEN = """(el) => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0
    && r.right <= innerWidth && r.bottom <= innerHeight;
}"""
LONG = (
    "Here is the plan for Saturday: https://example.org/a/very/long/link/that/does/not/"
    "break/anywhere/because/it/has/no/spaces/at/all/and/goes/on/and/on and a "
    "Wordwithoutanyspacesthatisfarwiderthanthescreenofaphoneinportraitorientation."
)


def installed_phone(page: Any, *, dark: bool) -> None:
    """The app window as a phone shows it: metrics, touch, the colour scheme."""
    cdp = page.context.new_cdp_session(page)
    cdp.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 3, "mobile": True},
    )
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    features = [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]
    cdp.send("Emulation.setEmulatedMedia", {"features": features})


def test_the_installed_app_on_a_phone_fits_the_screen(
    server, browsers, artifacts: Path, tmp_path: Path
) -> None:
    alice = browsers.new("alice", viewport=PHONE, extra_args=[f"--app={server.base}/"]).page
    assert alice.evaluate(STANDALONE), alice.url  # the app's window
    bob = browsers.new("bob").page
    create_room_ui(alice, server.base, "alice", room_name="Weekend at the lake house")
    join_by_link_ui(bob, invite_link(alice), "bob")
    expect(alice.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=30_000)
    wait_js(alice, CONTROLLED, timeout=60, what="the service worker controlling the page")
    send_ui(bob, "Hi alice, the photos are coming.")
    send_ui(bob, LONG)
    path = tmp_path / "holiday-photos-from-the-lake-house-weekend.zip"
    random_file(path, 4000)
    offer_files_ui(bob, [path])
    wait_messages(alice, ["Hi alice, the photos are coming.", LONG])
    send_ui(alice, "Great, thanks!")

    for dark in (False, True):
        installed_phone(alice, dark=dark)
        alice.reload()  # opened from the home screen: from the worker's cache
        room_ready(alice)
        assert wait_js(alice, STANDALONE, what="display-mode: standalone")
        wait_messages(alice, ["Hi alice, the photos are coming.", LONG, "Great, thanks!"])
        alice.wait_for_selector("[data-testid=transfer][data-direction=in]", state="attached")
        overflow = alice.evaluate(OVERFLOW)
        assert overflow == {"scroll": 0, "wide": []}, overflow
        for composer_part in ("#message-input", "pl-composer .send-btn"):
            part = alice.locator(composer_part)
            expect(part).to_be_visible()
            assert part.evaluate(ON_SCREEN), composer_part
        alice.screenshot(path=artifacts / f"installed-room-phone-{'dark' if dark else 'light'}.png")
