"""The device APIs of the installed app (issue #16), in a real Chromium: the screen kept
awake while a transfer runs (Screen Wake Lock), "Retry all" for transfers stuck after a
link died, and the invite shared through the system share sheet (Web Share API) where
the browser has one. The wake lock and share sheet cannot be seen headless: the page's
own calls to the APIs are recorded by an init script, around the browser's real objects.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    MIB,
    TRANSFERS,
    accept_ui,
    create_room_ui,
    offer_files_ui,
    random_file,
    transfer_stats,
    wait_js,
    wait_transfer,
)
from e2e.test_files import receive_and_check, room_of, wait_progress

pytestmark = pytest.mark.browser

# navigator.share, as a browser that has a share sheet offers it; every call recorded.
SHARE_SHEET = """(() => {
  window.__shared = [];
  Object.defineProperty(Navigator.prototype, 'share', {
    configurable: true,
    value: async function share(data) { window.__shared.push(data); },
  });
})();"""
# A browser without a share sheet (desktop Linux Chromium already is one).
NO_SHARE_SHEET = "delete Navigator.prototype.share; delete navigator.share;"
SHARE_BUTTON = "pl-invite-panel button:text-is('Share')"


def test_the_invite_goes_to_the_share_sheet_where_the_browser_has_one(server, browsers) -> None:
    browser = browsers.new("alice")
    browser.context.add_init_script(SHARE_SHEET)
    page = browser.page
    create_room_ui(page, server.base, "alice", room_name="Picnic")
    link = page.locator("[data-testid=invite-link]")
    expect(link).to_contain_text("/join#")
    # An end-to-end encrypted room (the default): the link carries the key and is what is
    # shared; its code, to be read aloud, does not go with it.
    expect(page.locator("#invite-code-label")).to_have_text("Room code (read aloud)")
    text = "Join Picnic on peerlane"
    page.locator(SHARE_BUTTON).click()
    shared = wait_js(page, "() => window.__shared.length && window.__shared", what="a share")
    assert shared == [{"title": "Picnic", "text": text, "url": link.inner_text().strip()}], shared


def test_without_a_share_sheet_the_invite_is_copied_instead(server, browsers) -> None:
    browser = browsers.new("alice")
    browser.context.add_init_script(NO_SHARE_SHEET)
    browser.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    page = browser.page
    create_room_ui(page, server.base, "alice", room_name="Picnic")
    link = page.locator("[data-testid=invite-link]")
    expect(link).to_contain_text("/join#")
    assert page.evaluate("() => 'share' in navigator") is False
    copy = page.locator("pl-invite-panel").get_by_role("button", name="Copy link")
    expect(copy).to_be_visible()
    expect(page.locator(SHARE_BUTTON)).to_have_count(0)
    copy.click()
    expect(page.locator("pl-invite-panel")).to_contain_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == link.inner_text().strip()


# Every screen wake lock the page takes, around the browser's own WakeLock (headless
# Chromium grants it without asking): window.__wake.held are the sentinels not released
# yet, .log what happened, with the page's transfer states at that moment.
WAKE_LOCK_WATCH = """(() => {
  const wake = (window.__wake = {held: [], log: []});
  const states = () => (window.peerlane?.room?.transfers?.list() ?? []).map((t) => t.state);
  const request = WakeLock.prototype.request;
  WakeLock.prototype.request = async function (...args) {
    const sentinel = await request.apply(this, args);
    wake.held.push(sentinel);
    wake.log.push({event: 'taken', states: states()});
    sentinel.addEventListener('release', () => {
      wake.held = wake.held.filter((s) => s !== sentinel);
      wake.log.push({event: 'released', states: states()});
    });
    return sentinel;
  };
})();"""
WAKE_SIZE = 24 * MIB
# The transfer moving bytes, and the screen held awake at that very moment.
HELD_WHILE_RUNNING = f"""(id) => {{
  const t = {TRANSFERS}.get(id);
  return t && ['sending', 'receiving'].includes(t.state) && t.bytesDone > 0
    && t.bytesDone < t.size && window.__wake.held.length === 1 && t.state;
}}"""
NONE_HELD = "() => window.__wake.held.length === 0 && window.__wake.log"


def test_the_screen_is_kept_awake_while_a_transfer_runs(server, browsers, tmp_path: Path) -> None:
    """Both sides take one screen wake lock when the bytes start moving and release it
    (the page itself, not the browser) when the transfer is done."""
    started = time.monotonic()
    _, (a, b) = room_of(server, browsers, ["alice", "bob"], init=WAKE_LOCK_WATCH)
    for page in (a, b):
        assert page.evaluate("() => window.__wake.log") == []  # nothing to keep awake yet
    path = tmp_path / "awake.bin"
    sha, _ = random_file(path, WAKE_SIZE)
    (tid,) = offer_files_ui(a, [path], to_name="bob")
    accept_ui(b, tid)
    assert wait_js(b, HELD_WHILE_RUNNING, tid, what="the lock held while receiving")
    assert wait_js(a, HELD_WHILE_RUNNING, tid, what="the lock held while sending")
    receive_and_check(b, tid, path, sha, tmp_path, timeout=120)
    wait_transfer(a, tid, "done", timeout=30)
    for page in (a, b):
        log = wait_js(page, NONE_HELD, what="the lock released after the transfer")
        assert [entry["event"] for entry in log] == ["taken", "released"], log
        assert log[1]["states"] == ["done"], log
        assert page.evaluate("() => document.visibilityState") == "visible"  # not the browser's
    print(f"wake lock: {time.monotonic() - started:.1f} s")


RETRY_SIZE = 24 * MIB
STALL_MS = 3_000
SHORT_WAITS = (
    f"try {{ localStorage.setItem('peerlaneStallMs', '{STALL_MS}');"
    " localStorage.setItem('peerlaneP2pTimeoutMs', '1000'); } catch {}"
)
RETRY_ALL = "[data-testid=retry-all]"


def test_retry_all_resumes_every_stalled_transfer_from_its_verified_blocks(
    server, browsers, udp_switch, tmp_path: Path
) -> None:
    """Two files on their way to bob when the direct link dies (every UDP packet dropped
    from then on): both stall, bob's "Retry all" appears, and his one click starts both
    again from the blocks he verified: his accept goes out again and alice, although she
    never heard that the dead channels were closed, puts the files on the server (the
    only path left) after p2p_timeout; the files match."""
    started = time.monotonic()
    _, (a, b) = room_of(server, browsers, ["alice", "bob"], init=SHORT_WAITS)
    paths = [tmp_path / "first.bin", tmp_path / "second.bin"]
    shas = [random_file(path, RETRY_SIZE)[0] for path in paths]
    tids = offer_files_ui(a, paths, to_name="bob")
    for tid in tids:
        accept_ui(b, tid)
    for tid in tids:
        wait_progress(b, tid, 0.3)
    expect(b.locator(RETRY_ALL)).to_be_hidden()

    udp_switch.block()
    retry_all = b.locator(RETRY_ALL)
    expect(retry_all).to_be_visible(timeout=30_000)
    verified = [b.evaluate(f"(id) => {TRANSFERS}.get(id).bytesDone", tid) for tid in tids]
    assert all(v >= 0.3 * RETRY_SIZE for v in verified), verified
    retry_all.click()  # bob's alone: alice does nothing
    expect(retry_all).to_be_hidden()
    states = b.evaluate(f"(ids) => ids.map((id) => {TRANSFERS}.get(id).state)", tids)
    assert "stalled" not in states, states
    for tid, before in zip(tids, verified, strict=True):
        now = b.evaluate(f"(id) => {TRANSFERS}.get(id).bytesDone", tid)
        assert now >= before, (tid, now, before)  # kept, not started over

    for tid, path, sha in zip(tids, paths, shas, strict=True):
        view = receive_and_check(b, tid, path, sha, tmp_path, timeout=120)
        assert view["path"] == "server", view
        got = transfer_stats(b, tid)
        # What came before the stall, then only the rest: never the whole file again.
        assert got["bytesReceived"] <= RETRY_SIZE + 4 * MIB, got
    print(f"retry all: {time.monotonic() - started:.1f} s")
