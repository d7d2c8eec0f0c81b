"""File offers in the chat timeline (issue #10, rough edges 13 and 14): an offer is a row
at its place in the conversation, with the files panel's state, progress and actions,
usable from the keyboard, still there after a reload; file names stay on one line, cut in
the middle with their extension in view. And screenshots at desktop and phone sizes of the
room with an offer in the timeline, the files panel, the invite panel and the share page
(test-artifacts/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from e2e.helpers import (
    PEER,
    create_room_ui,
    invite_link,
    join_by_link_ui,
    offer_files_ui,
    random_file,
    room_ready,
    send_ui,
    transfer_row,
    wait_messages,
    wait_transfer,
)

pytestmark = pytest.mark.browser

# A name without a single space, far wider than any row: it must neither wrap nor overflow.
LONG_NAME = "quarterly-report-" + "x" * 150 + "-final-version.pdf"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def timeline_row(page: Page, transfer_id: str) -> Locator:
    return page.locator(f"[data-testid=file-message][data-transfer-id='{transfer_id}']")


def assert_name_fits(name: Locator, full: str) -> None:
    """One line, nothing overflowing, the end of the name (its extension) in view."""
    facts = name.evaluate(
        """(full) => {
          const el = full.closest('.file-name');
          const head = el.querySelector('.fn-head'), tail = el.querySelector('.fn-tail');
          const box = el.getBoundingClientRect(), style = getComputedStyle(el);
          const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.4;
          const parent = el.parentElement.getBoundingClientRect();
          return {text: full.textContent, title: el.title, height: box.height, line,
                  overflow: el.scrollWidth - el.clientWidth, right: box.right - parent.right,
                  tail: tail ? tail.textContent : '',
                  tailVisible: !!tail && tail.getBoundingClientRect().width > 0,
                  cut: head.scrollWidth > head.clientWidth};
        }"""
    )
    assert facts["text"] == full, facts  # what screen readers read: the whole name
    assert facts["title"] == full, facts  # on hover
    assert facts["height"] <= facts["line"] * 1.5, facts  # one line, no mid-word break
    assert facts["overflow"] <= 0, facts
    assert facts["right"] <= 0.5, facts
    assert facts["tail"].endswith(".pdf"), facts
    assert facts["tailVisible"], facts
    assert facts["cut"], facts  # the middle gave way


def test_a_file_offer_is_a_timeline_row_that_works_from_the_keyboard_and_survives_a_reload(
    server, browsers, tmp_path: Path
) -> None:
    a = browsers.new("alice").page
    b = browsers.new("bob").page
    create_room_ui(a, server.base, "alice")
    join_by_link_ui(b, invite_link(a), "bob")
    expect(a.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=30_000)
    send_ui(b, "before the file")
    wait_messages(a, ["before the file"])

    path = tmp_path / LONG_NAME
    random_file(path, 300_000)
    (tid,) = offer_files_ui(b, [path])
    send_ui(b, "after the file")
    wait_messages(a, ["before the file", "after the file"])

    # Alice's timeline: the offer between the two messages, from bob, with Accept.
    row = timeline_row(a, tid)
    expect(row).to_have_count(1)
    order = a.locator("[data-testid=message], [data-testid=file-message]").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.testid === 'file-message' ? 'file' : r.textContent)"
    )
    assert len(order) == 3, order
    assert "before the file" in order[0], order
    assert order[1] == "file", order
    assert "after the file" in order[2], order
    card = row.get_by_test_id("timeline-transfer")
    expect(card).to_have_accessible_name(LONG_NAME)
    expect(card.get_by_test_id("transfer-sender")).to_have_text("From bob")
    assert_name_fits(row.get_by_test_id("transfer-name"), LONG_NAME)
    assert_name_fits(transfer_row(a, tid).get_by_test_id("transfer-name"), LONG_NAME)

    # Bob's own row says to whom.
    expect(timeline_row(b, tid).get_by_test_id("transfer-sender")).to_have_text(
        "From you to everyone"
    )

    # Keyboard only: focus the timeline's Accept and press Enter.
    accept = row.get_by_role("button", name="Accept")
    accept.focus()
    a.keyboard.press("Enter")
    wait_transfer(a, tid, "done")
    expect(card).to_have_attribute("data-state", "done")
    expect(card.get_by_role("button", name="Save")).to_be_visible()
    # The panel shows the same transfer in the same state: one engine, two views.
    expect(transfer_row(a, tid)).to_have_attribute("data-state", "done")

    # After a reload the row is still at its place, joined to the kept transfer.
    a.reload()
    room_ready(a)
    row = timeline_row(a, tid)
    expect(row.get_by_test_id("timeline-transfer")).to_have_attribute("data-state", "done")
    expect(row.get_by_role("button", name="Save")).to_be_visible()

    # Saved from the timeline, a file may be cleared from the panel; then its row says
    # what the offer was and that this browser no longer has it.
    notes = tmp_path / "notes.txt"
    random_file(notes, 2000)
    (second,) = offer_files_ui(b, [notes])
    row = timeline_row(a, second)
    accept = row.get_by_role("button", name="Accept")
    accept.focus()
    a.keyboard.press("Enter")
    wait_transfer(a, second, "done")
    clear = a.locator("pl-transfer-panel").get_by_role("button", name="Clear finished")
    expect(clear).to_be_hidden()
    with a.expect_download() as download:
        row.get_by_role("button", name="Save").click()
    assert download.value.failure() is None
    clear.click()
    expect(transfer_row(a, second)).to_have_count(0)
    expect(row.get_by_test_id("transfer-state")).to_have_text("Not in this browser's files list.")
    expect(row.get_by_role("button")).to_have_count(0)


def test_screenshots_of_the_files_and_invite_panels_and_the_share_page(
    server, browsers, artifacts: Path, tmp_path: Path
) -> None:
    """test-artifacts/files-*.png at desktop and phone sizes: the room with a file offer in
    the timeline, the files panel, the invite panel, the share page."""
    a = browsers.new("alice").page
    b = browsers.new("bob").page
    create_room_ui(a, server.base, "alice", "Weekend plans")
    join_by_link_ui(b, invite_link(a), "bob")
    expect(a.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=30_000)
    send_ui(b, "Here are the photos from Saturday.")
    wait_messages(a, ["Here are the photos from Saturday."])
    path = tmp_path / "holiday-photos-from-the-lake-house-weekend-2026-07.zip"
    random_file(path, 40_000)
    (tid,) = offer_files_ui(b, [path])
    row = timeline_row(a, tid)
    expect(row.get_by_role("button", name="Accept")).to_be_visible()

    a.set_viewport_size(DESKTOP)
    a.screenshot(path=artifacts / "files-timeline-desktop.png")
    a.locator("pl-transfer-panel").scroll_into_view_if_needed()
    a.locator("pl-transfer-panel").screenshot(path=artifacts / "files-panel-desktop.png")
    a.locator("pl-invite-panel").screenshot(path=artifacts / "invite-panel-desktop.png")

    a.set_viewport_size(PHONE)
    expect(row).to_be_visible()
    a.screenshot(path=artifacts / "files-timeline-phone.png")
    toggle = a.locator(".side-toggle")
    toggle.click()
    expect(a.locator(".side-title")).to_have_text("Files")
    a.locator("pl-transfer-panel").scroll_into_view_if_needed()
    a.screenshot(path=artifacts / "files-panel-phone.png")
    a.locator("pl-invite-panel").screenshot(path=artifacts / "invite-panel-phone.png")

    # The share page with a long name chosen, at both sizes; the name fits there too.
    share = browsers.new("carol").page
    share.set_viewport_size(DESKTOP)
    share.goto(f"{server.base}/share")
    long = tmp_path / LONG_NAME
    random_file(long, 1000)
    share.set_input_files("#share-files", [str(long)])
    chosen = share.get_by_test_id("chosen-file")
    expect(chosen).to_have_count(1)
    assert_name_fits(chosen.locator(".file-name > .visually-hidden"), LONG_NAME)
    share.screenshot(path=artifacts / "share-page-desktop.png")
    share.set_viewport_size(PHONE)
    assert_name_fits(chosen.locator(".file-name > .visually-hidden"), LONG_NAME)
    share.screenshot(path=artifacts / "share-page-phone.png")


def test_a_mouse_click_on_the_timeline_accept_works_after_the_phone_sheet_was_opened_and_closed(
    server, browsers, tmp_path: Path
) -> None:
    """Seen by a user: at phone size the side sheet opened and closed, the window back to
    desktop size, then a mouse click on the timeline's Accept did nothing (Enter worked).
    The cause: a focused transfer showed its long name whole (wrapped), so pressing Accept
    made the row taller and the list moved it between press and release (so any mouse
    click on Accept of a long-named offer failed; the phone steps are the user's path)."""
    a = browsers.new("alice").page
    b = browsers.new("bob").page
    create_room_ui(a, server.base, "alice")
    join_by_link_ui(b, invite_link(a), "bob")
    expect(a.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=30_000)
    path = tmp_path / LONG_NAME
    random_file(path, 20_000)
    (tid,) = offer_files_ui(b, [path])
    row = timeline_row(a, tid)
    expect(row.get_by_role("button", name="Accept")).to_be_visible()

    a.set_viewport_size(PHONE)
    toggle = a.locator(".side-toggle")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    a.locator(".side-close").click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    a.set_viewport_size(DESKTOP)

    # A real mouse click at the button's centre (no focus first, no keyboard).
    accept = row.get_by_role("button", name="Accept")
    expect(accept).to_be_visible()
    box = accept.bounding_box()
    assert box is not None
    a.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    # Pressing the button focused it; the row must not have grown (and moved away from the
    # pointer) before the release, or the click lands elsewhere.
    card = row.get_by_test_id("timeline-transfer")
    expect(card).not_to_have_attribute("data-state", "offered", timeout=10_000)
    wait_transfer(a, tid, "done")
    expect(card).to_have_attribute("data-state", "done")
