"""The room page's and entry pages' rough edges (issue #10): whom files go to is asked
when files are picked, in a "Send to" dialog, not beside the chat box, and goes back to
everyone after each send; Revoke asks first and a revoked invite cannot be copied or
scanned; a wrong code is said next to the code field, a name cut to fit is said, and the
server's refusal of a too-long name is in plain words."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import (
    PEER,
    create_room_ui,
    invite_link,
    join_by_link_ui,
    offer_files_ui,
    random_file,
    room_ready,
    send_ui,
    transfer_ids,
    transfer_row,
    wait_messages,
)

pytestmark = pytest.mark.browser


def two_in_a_room(server, browsers) -> tuple[Page, Page]:
    a = browsers.new("alice").page
    b = browsers.new("bob").page
    create_room_ui(a, server.base, "alice")
    join_by_link_ui(b, invite_link(a), "bob")
    expect(a.locator(PEER)).to_have_count(1, timeout=30_000)
    return a, b


def test_whom_files_go_to_is_asked_after_picking_and_reset_after_a_send(
    server, browsers, tmp_path: Path
) -> None:
    a, _b = two_in_a_room(server, browsers)
    first, second = tmp_path / "first.bin", tmp_path / "second.bin"
    random_file(first, 1000)
    random_file(second, 1000)
    recipient = a.locator("#file-recipient")
    # Nothing next to the chat box suggests that chat messages have an addressee.
    expect(recipient).to_be_hidden()

    a.set_input_files("#send-files-input", [str(first)])
    dialog = a.locator("#send-to")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text('Send "first.bin"')
    expect(recipient).to_be_focused()
    expect(recipient.locator("option", has_text="bob")).to_have_count(1)
    recipient.select_option(label="bob")
    dialog.get_by_role("button", name="Send").click()
    expect(dialog).to_be_hidden()
    (tid,) = transfer_ids(a, "out")
    expect(transfer_row(a, tid).get_by_test_id("transfer-sender")).to_have_text("From you to bob")

    # The next files start from "Everyone" again; Cancel sends nothing.
    a.set_input_files("#send-files-input", [str(second)])
    expect(dialog).to_be_visible()
    expect(recipient).to_have_value("")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert transfer_ids(a, "out") == [tid]


def test_revoke_asks_first_and_a_revoked_invite_cannot_be_copied_or_scanned(
    server, browsers
) -> None:
    a = browsers.new("alice").page
    # The server's QR code: a room without end-to-end encryption (an encrypted room's is
    # drawn in the browser, tests/e2e/test_invite_qr.py).
    create_room_ui(a, server.base, "alice", encrypted=False)
    invite_link(a)
    panel = a.locator("pl-invite-panel")
    copy = panel.get_by_role("button", name="Copy link")
    qr = panel.locator("[data-testid=invite-qr]")
    expect(copy).to_be_enabled()
    expect(qr.locator("svg")).to_be_visible()

    # Revoke asks first; "Keep the invite" leaves it working.
    panel.get_by_role("button", name="Revoke", exact=True).click()
    expect(panel.get_by_role("group", name="Revoke this invite?")).to_be_visible()
    keep = panel.get_by_role("button", name="Keep the invite")
    expect(keep).to_be_focused()
    keep.click()
    expect(panel.get_by_role("button", name="Revoke", exact=True)).to_be_focused()
    expect(copy).to_be_enabled()
    expect(panel.locator("[data-testid=invite-expiry]")).not_to_have_text("Revoked")

    panel.get_by_role("button", name="Revoke", exact=True).click()
    panel.get_by_role("button", name="Yes, revoke").click()
    expect(panel.locator("[data-testid=invite-expiry]")).to_have_text("Revoked")
    expect(copy).to_be_disabled()
    expect(qr).to_be_hidden()


def test_entry_errors_are_said_where_they_belong_in_plain_words(server, browsers) -> None:
    page = browsers.new("alice").page
    page.goto(f"{server.base}/")
    name = page.locator("#display-name")
    name.fill("alice")
    page.locator("#join-code").fill("9-wrong-guess")
    page.get_by_role("button", name="Join", exact=True).click()
    join_form = page.get_by_role("form", name="Join a room")
    expect(join_form.get_by_role("alert")).not_to_be_empty()
    expect(page.locator("#join-code")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("form", name="Start a new room").get_by_role("alert")).to_be_empty()

    # A 10,000-character paste is cut to the 40 the server takes, and that is said.
    name.fill("")
    name.focus()
    page.keyboard.insert_text("n" * 10_000)
    expect(name).to_have_value("n" * 40)
    expect(page.locator("#display-name-note")).to_have_text(
        "Names can be at most 40 characters, so yours was shortened."
    )

    # A longer name that still reaches the server (remembered by an older version) is
    # refused in plain words, not the server's validation text.
    link = invite_link(create_room(server, browsers))
    bob = browsers.new("bob").page
    bob.goto(f"{server.base}/healthz")
    bob.evaluate("localStorage.setItem('peerlane.name', 'b'.repeat(60))")
    bob.goto(link)
    alert = bob.get_by_role("alert")
    expect(alert).to_contain_text("Your name can be at most 40 characters")
    expect(alert).not_to_contain_text("Invalid request")
    expect(alert).not_to_contain_text("display_name")


def create_room(server, browsers) -> Page:
    owner = browsers.new("carol").page
    create_room_ui(owner, server.base, "carol")
    return owner


def test_the_phone_sheet_is_titled_like_the_button_that_opens_it(
    server, browsers, tmp_path: Path
) -> None:
    a, b = two_in_a_room(server, browsers)
    b.set_viewport_size({"width": 390, "height": 844})
    toggle = b.locator(".side-toggle")
    word = toggle.locator(".side-toggle-text")
    title = b.locator(".side-title")
    expect(word).to_have_text("Invite")
    toggle.click()
    expect(title).to_be_visible()
    expect(title).to_have_text("Invite")
    b.get_by_role("button", name="Close panel").click()

    path = tmp_path / "notes.bin"
    random_file(path, 1000)
    offer_files_ui(a, [path])
    expect(word).to_have_text("Files")
    toggle.click()
    expect(title).to_have_text("Files")


LONG_ROOM_NAME = "Our weekend plans for the whole extended family and friends"
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 844}


def test_room_screenshots_and_layout_facts(server, browsers, artifacts, tmp_path: Path) -> None:
    """A room with two people, a message and a file offer, at desktop and phone sizes
    (test-artifacts/room-layout-*.png), and the layout facts issue #10 asked for."""
    a = browsers.new("alice").page
    b = browsers.new("bob").page
    create_room_ui(a, server.base, "alice", LONG_ROOM_NAME)
    join_by_link_ui(b, invite_link(a), "bob")
    expect(a.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=30_000)
    send_ui(b, "Hi alice, here are the photos from Saturday.")
    wait_messages(a, ["Hi alice, here are the photos from Saturday."])
    path = tmp_path / "holiday-photos-from-the-lake-house-weekend.zip"
    random_file(path, 4000)
    offer_files_ui(b, [path])
    a.wait_for_selector("[data-testid=transfer][data-direction=in]")

    a.set_viewport_size(DESKTOP)
    # The status in plain words; the connection's inner states folded away.
    expect(a.locator("[data-testid=connection-status]")).to_contain_text(
        "Connected to 1 person directly"
    )
    expect(a.get_by_text("Signaling", exact=True)).to_be_hidden()
    # The files list has no scroll box inside the scrolling side panel.
    assert a.eval_on_selector(".transfers", "(el) => getComputedStyle(el).overflowY") == "visible"
    # Every button of the invite panel is the same height.
    heights = a.locator("pl-invite-panel .btn").evaluate_all(
        "(bs) => bs.filter((b) => b.offsetParent).map((b) => b.getBoundingClientRect().height)"
    )
    assert heights
    assert max(heights) - min(heights) < 1, heights
    a.screenshot(path=artifacts / "room-layout-desktop.png")

    a.set_viewport_size(TABLET)
    side = a.eval_on_selector("#side-panel", "(el) => el.getBoundingClientRect().width")
    assert side <= 0.35 * TABLET["width"], side

    # Opened on a phone (the message box sizes itself as the room opens).
    a.set_viewport_size(PHONE)
    a.reload()
    room_ready(a)
    box = a.locator("#message-input")
    expect(box).to_be_visible()
    # No horizontal scrolling; the empty message box one line tall despite the long name ...
    wide = a.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert wide <= 0, wide
    one_line = box.evaluate(
        "(t) => { const s = getComputedStyle(t); return parseFloat(s.lineHeight)"
        " + parseFloat(s.paddingTop) + parseFloat(s.paddingBottom)"
        " + parseFloat(s.borderTopWidth) + parseFloat(s.borderBottomWidth); }"
    )
    height = box.evaluate("(t) => t.getBoundingClientRect().height")
    assert height <= one_line + 2, (height, one_line)
    # ... and its placeholder fits on that line (a long room name in it was cut off).
    spare = box.evaluate(
        "(t) => { const s = getComputedStyle(t);"
        " const ctx = document.createElement('canvas').getContext('2d'); ctx.font = s.font;"
        " return t.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight)"
        " - ctx.measureText(t.placeholder).width; }"
    )
    assert spare >= 0, spare
    a.screenshot(path=artifacts / "room-layout-phone.png")
