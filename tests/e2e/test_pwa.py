"""The installable app (issue #16): Chromium finds nothing in the way of installing it,
and the service worker keeps the version's files and controls the page."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    PEER,
    STATUS,
    TRANSFERS,
    accept_ui,
    create_room_ui,
    history,
    invite_link,
    join_by_link_ui,
    offer_files_ui,
    random_file,
    room_ready,
    save_received_ui,
    send_ui,
    sha256_file,
    transfer_stats,
    wait_js,
    wait_messages,
    wait_online,
    wait_transfer,
)
from e2e.test_files import receive_and_check, room_of, wait_progress
from peerlane.server.web_pages import WEB

pytestmark = pytest.mark.browser

CONTROLLED = "() => navigator.serviceWorker.controller !== null"
ALL_NUMBERED = "() => window.peerlane.room.messages.every((m) => m.seq !== null)"
KEPT = """async (id) => {
  const {readRoom} = await import('/static/device-rooms.js');
  const kept = await readRoom(id);
  return kept && kept.view && kept.messages.length === 2;
}"""


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
    prefix = page.evaluate(ASSETS)
    assert {"/", "/r/-", f"{prefix}app.js", f"{prefix}ui/room-page.js"} <= set(kept)


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
    wait_js(page, KEPT, room_id, what="the messages kept on the device")

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


CACHES = "async () => (await caches.keys()).filter((n) => n.startsWith('peerlane-'))"
# The version's prefix the page loaded its files from: /app/<version>/ (immutable).
ASSETS = (
    "() => new URL(document.querySelector('script[src$=\"/app.js\"]').src).pathname.slice(0, -6)"
)
# The page's stylesheet as the page gets it (through the worker).
CSS_SEEN = (
    "async () => (await (await fetch(document.querySelector('link[rel=stylesheet]').href)).text())"
)
# Every file the page loaded from a version's prefix, by prefix.
LOADED_FROM = """() => [...new Set(performance.getEntriesByType('resource')
  .map((e) => new URL(e.name).pathname).filter((p) => p.startsWith('/app/'))
  .map((p) => p.split('/').slice(0, 3).join('/') + '/'))]"""


def test_a_changed_file_is_offered_as_a_new_version_and_then_served_whole(server, browsers) -> None:
    """Change a static file on the server: the page says a new version is ready, goes on
    with the old one meanwhile (never half-old, half-new), and after "Reload" every file
    comes from the new version's URLs (its own cache, the old one gone); the old
    version's URLs are no longer served, so nothing old is mixed in."""
    css = WEB / "app.css"
    original = css.read_bytes()
    marker = f"/* new version {uuid.uuid4().hex} */\n"
    page = browsers.new("alice").page
    page.goto(f"{server.base}/")
    wait_js(page, CONTROLLED, timeout=30, what="the service worker controlling the page")
    [old_cache] = page.evaluate(CACHES)
    old_prefix = page.evaluate(ASSETS)
    assert page.evaluate(LOADED_FROM) == [old_prefix]
    try:
        css.write_bytes(original + marker.encode())
        page.reload()  # a navigation: the browser checks /sw.js, whose version changed
        prompt = page.locator("#update-prompt")
        expect(prompt).to_contain_text("new version", timeout=30_000)
        # Until the click, the old version, whole: the changed file is not mixed in.
        assert marker not in page.evaluate(CSS_SEEN)
        assert page.evaluate(ASSETS) == old_prefix
        assert page.evaluate(LOADED_FROM) == [old_prefix]
        with page.expect_event("load", timeout=30_000):
            prompt.get_by_role("button", name="Reload").click()
        wait_js(page, CONTROLLED, timeout=30, what="the new worker controlling the page")
        assert marker in page.evaluate(CSS_SEEN)
        new_prefix = page.evaluate(ASSETS)
        assert new_prefix != old_prefix
        assert page.evaluate(LOADED_FROM) == [new_prefix]
        # The server has only the new version: the old one's names are gone (a CDN
        # keeps what it has of the old version under the old names, never mixed).
        gone = f"{server.base}{old_prefix}app.css"
        assert httpx.get(gone, timeout=10).status_code == 404
        assert marker.encode() in httpx.get(f"{server.base}{new_prefix}app.css").content
        [new_cache] = wait_js(
            page,
            f"async () => {{ const k = await ({CACHES})(); return k.length === 1 && k; }}",
            what="the old version's cache gone",
        )
        assert new_cache != old_cache
        expect(page.locator("#update-prompt")).to_have_count(0)
    finally:
        css.write_bytes(original)


ROOM_ROW = "[data-testid=room-list] li"


def test_the_home_page_lists_this_devices_rooms_with_their_unread_counts(server, browsers) -> None:
    alice, bob = browsers.new("alice").page, browsers.new("bob").page
    room_id = create_room_ui(alice, server.base, "alice", room_name="Picnic")
    send_ui(alice, "who brings the bread?")
    wait_messages(alice, ["who brings the bread?"])
    join_by_link_ui(bob, invite_link(alice), "bob")

    alice.goto(f"{server.base}/")
    row = alice.locator(ROOM_ROW)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Picnic")
    expect(row.locator("time")).to_be_visible()
    expect(row.locator("[data-testid=unread]")).to_have_count(0)  # only her own message

    send_ui(bob, "me")
    send_ui(bob, "and cheese")
    wait_messages(bob, ["who brings the bread?", "me", "and cheese"])
    alice.reload()
    expect(alice.locator(f"{ROOM_ROW} [data-testid=unread]")).to_have_text("2", timeout=15_000)

    alice.locator(f"{ROOM_ROW} a").click()  # the room, read there
    alice.wait_for_url(f"{server.base}/r/{room_id}")
    wait_messages(alice, ["who brings the bread?", "me", "and cheese"])
    wait_js(
        alice,
        "async (id) => { const {readRoom} = await import('/static/device-rooms.js');"
        " const r = await readRoom(id); return r && r.read_seq >= 3; }",
        room_id,
        what="the read position kept on the device",
    )
    alice.goto(f"{server.base}/")
    expect(alice.locator(ROOM_ROW)).to_contain_text("Picnic")
    expect(alice.locator(f"{ROOM_ROW} [data-testid=unread]")).to_have_count(0)


# What the system share sheet does with the manifest's share_target: a navigation that
# POSTs multipart/form-data to /share-target (built here with DOM calls: the CSP allows no
# inline script, and a form needs none).
SHARE_FORM = """() => {
  const form = document.createElement('form');
  form.method = 'POST';
  form.action = '/share-target';
  form.enctype = 'multipart/form-data';
  const input = document.createElement('input');
  input.type = 'file';
  input.name = 'files';
  input.id = 'shared-files';
  input.multiple = true;
  const title = document.createElement('input');
  title.name = 'title';
  title.value = 'from the gallery';
  form.append(input, title);
  document.body.append(form);
}"""


def test_a_file_shared_from_another_app_lands_in_the_chosen_room(
    server, browsers, tmp_path: Path
) -> None:
    alice, bob = browsers.new("alice").page, browsers.new("bob").page
    create_room_ui(alice, server.base, "alice", room_name="Holiday")
    join_by_link_ui(bob, invite_link(alice), "bob")
    expect(alice.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=20_000)
    wait_js(alice, CONTROLLED, timeout=30, what="the service worker controlling the page")
    photo = tmp_path / "photo.jpg"
    digest, _ = random_file(photo, 300_000)

    alice.goto(f"{server.base}/")
    alice.evaluate(SHARE_FORM)
    alice.set_input_files("#shared-files", [str(photo)])
    alice.locator("form[action='/share-target']").evaluate("(form) => form.submit()")
    alice.wait_for_url(f"{server.base}/?shared=1")
    expect(alice.get_by_role("heading", name="Send the shared file to…")).to_be_visible()
    alice.locator(f"{ROOM_ROW} a", has_text="Holiday").click()
    recipient = alice.locator("#send-to #file-recipient")
    expect(recipient).to_be_visible(timeout=20_000)
    expect(alice.locator("#send-to")).to_contain_text("photo.jpg")
    recipient.select_option(value="")
    alice.click("#send-to-confirm")
    assert alice.url == alice.url.split("?")[0]  # the query taken: a reload sends nothing

    offered = wait_js(
        bob,
        f"() => {TRANSFERS}.list().find((t) => t.name === 'photo.jpg' && t.direction === 'in')",
        timeout=30,
        what="the shared file offered in the room",
    )
    accept_ui(bob, offered["id"])
    wait_transfer(bob, offered["id"])
    saved = save_received_ui(bob, offered["id"], tmp_path / "received.jpg")
    assert sha256_file(saved) == digest


# What the page is before the message comes, each part checked rather than assumed: the
# permission granted, the service worker active and controlling the page, the bell's
# opt-in kept, the page hidden.
BACKGROUND = """async () => {
  const registration = await navigator.serviceWorker.getRegistration();
  return {permission: Notification.permission,
          controlled: navigator.serviceWorker.controller !== null,
          active: Boolean(registration && registration.active),
          optIn: localStorage.getItem('peerlane.backgroundBadge'),
          hidden: document.hidden};
}"""
# Watches the registration's notifications from before the message is sent, and keeps
# each one listed (title and body, once each, in order). Headless Chromium on Linux (no
# notification server) lists a notification only while its popup would be on screen, 25 s
# (measured): a first look taken after the message, on a loaded machine, could come
# after it was gone; and a newer one of the room replaces it (one per room: its tag).
WATCH_NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.getRegistration();
  window.__notified = [];
  const seen = new Set();
  window.__watchErrors = [];
  void (async () => {
    for (;;) {
      try {
        for (const n of await registration.getNotifications()) {
          if (seen.has(n.title + '\\n' + n.body)) continue;
          seen.add(n.title + '\\n' + n.body);
          window.__notified.push({title: n.title, body: n.body});
        }
      } catch (e) {
        window.__watchErrors.push(String(e)); // a failed look is no reason to stop looking
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
}"""
# What the page was when no notification came: for the failure's message (CI cuts long
# output: it goes first).
STATE = """async () => {
  const registration = await navigator.serviceWorker.getRegistration();
  const room = window.peerlane?.room;
  return {hidden: document.hidden, permission: Notification.permission,
          optIn: localStorage.getItem('peerlane.backgroundBadge'),
          active: registration?.active?.state ?? null, waiting: Boolean(registration?.waiting),
          ready: room?._ready, server: room?.serverState, name: room?.roomInfo?.name,
          listed: (await registration.getNotifications()).length,
          watchErrors: window.__watchErrors,
          messages: room?.messages.map((m) => [m.sender_name, m.kind, m.seq])};
}"""
# At least n of them, once there are.
NOTIFIED = "() => window.__notified.length >= {} && window.__notified"
# Told the way the browser says it. Headless Chromium never hides a page (another tab in
# front, a minimized window: document.hidden stays false, tried); the rest is real: the
# permission, the service worker's notification.
HIDE = """() => {
  const hidden = (value) => ({configurable: true, get: () => value});
  Object.defineProperty(document, 'hidden', hidden(true));
  Object.defineProperty(document, 'visibilityState', hidden('hidden'));
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def notified(page, count: int, what: str) -> list[dict[str, str]]:
    """The notifications listed once there are ``count``; on a timeout, the page's state
    first in the failure's message."""
    try:
        shown: list[dict[str, str]] = wait_js(page, NOTIFIED.format(count), timeout=30, what=what)
    except AssertionError as timeout:
        raise AssertionError(f"no {what}: {page.evaluate(STATE)} ({timeout})") from None
    return shown


def test_with_the_bell_on_a_message_in_the_background_is_a_notification(
    server, browsers, tmp_path: Path
) -> None:
    """And a file offered is one too (issue #16, item 6)."""
    alice_browser = browsers.new("alice")
    alice, bob = alice_browser.page, browsers.new("bob").page
    alice_browser.context.grant_permissions(["notifications"], origin=server.base)
    create_room_ui(alice, server.base, "alice", room_name="Picnic")
    join_by_link_ui(bob, invite_link(alice), "bob")
    wait_js(alice, CONTROLLED, timeout=30, what="the service worker controlling the page")
    alice.locator(".badge-toggle").click()  # opt in
    expect(alice.locator(".badge-toggle")).to_have_attribute("aria-pressed", "true")
    alice.evaluate(HIDE)  # the room's page in the background
    assert alice.evaluate(BACKGROUND) == {
        "permission": "granted",
        "controlled": True,
        "active": True,
        "optIn": "on",
        "hidden": True,
    }
    alice.evaluate(WATCH_NOTIFICATIONS)

    send_ui(bob, "are you coming?")
    # The message first, then its notification: a slow delivery on a loaded machine is
    # told apart from a missing notification.
    wait_messages(alice, ["are you coming?"], timeout=30)
    shown = notified(alice, 1, "a notification")
    assert shown == [{"title": "bob in Picnic", "body": "are you coming?"}]

    photo = tmp_path / "photo.jpg"
    random_file(photo, 20_000)
    offer_files_ui(bob, [photo], to_name="alice")
    shown = notified(alice, 2, "the file offer's notification")
    assert shown[1:] == [{"title": "bob in Picnic", "body": "Offers a file: photo.jpg"}]


FREEZE_SIZE = 48 * 1024 * 1024
# The sender's bytes on the wire, read twice a second apart until they stop moving: with
# the receiver frozen nothing more goes out (everything may have been sent already: the
# receiver's part, verifying and writing, is what the freeze holds).
STALLED = f"""async (id) => {{
  const sent = () => {TRANSFERS}.stats()[id]?.bytesSent ?? 0;
  const before = sent();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return sent() === before;
}}"""


def test_a_transfer_frozen_and_resumed_mid_way_completes(server, browsers, tmp_path: Path) -> None:
    """The receiver's page is frozen by the browser (as a phone asleep, over the DevTools
    protocol's page lifecycle) half way through a transfer, and resumed: the transfer
    goes on from where it was and the file matches."""
    _, (a, b) = room_of(server, browsers, ["alice", "bob"])
    path = tmp_path / "frozen.bin"
    sha, _ = random_file(path, FREEZE_SIZE)
    (tid,) = offer_files_ui(a, [path], to_name="bob")
    accept_ui(b, tid)
    verified = wait_progress(b, tid, 0.3)
    cdp = b.context.new_cdp_session(b)
    cdp.send("Page.setWebLifecycleState", {"state": "frozen"})
    wait_js(a, STALLED, tid, timeout=30, what="the transfer held by the frozen receiver")
    at = float(transfer_stats(a, tid)["bytesSent"]) / FREEZE_SIZE
    cdp.send("Page.setWebLifecycleState", {"state": "active"})
    receive_and_check(b, tid, path, sha, tmp_path, timeout=180)
    sent = transfer_stats(a, tid)
    assert sent["bytesSent"] <= 1.1 * FREEZE_SIZE, sent  # resumed, not sent again
    print(
        f"frozen at {verified:.0%} verified, {at:.0%} sent; "
        f"wire {sent['bytesSent'] / FREEZE_SIZE:.3f} x size"
    )
