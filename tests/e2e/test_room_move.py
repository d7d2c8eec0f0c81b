"""Moving a room made without encryption to an encrypted one (issue #15, item 8), in
Chromium: the owner moves; a member online gets the new room's link over the data
channel, follows into the encrypted room and reads the owner's message there; a member
who was away gets the link later from that member (the owner's page closed). The old
room is read-only (the server's refusals: tests/integration/test_room_move.py). The new
room's key never reaches the server: it is not in anything the server stored, logged or
received (tests/e2e/recording_server.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import (
    create_room_ui,
    invite_link,
    join_by_link_ui,
    room_ready,
    send_ui,
    wait_js,
    wait_messages,
)
from e2e.test_e2e_chat import everything_the_server_has, recording_server  # noqa: F401

pytestmark = pytest.mark.browser

MOVED = "[data-testid=room-moved]"
OPEN = "[data-testid=moved-open]"
FINAL = "This room moved to an end-to-end encrypted room"


def wait_direct(page: Page, n: int) -> None:
    wait_js(page, "(n) => window.peerlane?.room?.directCount === n", n, timeout=30, what="direct")


def follow(page: Page, name: str) -> str:
    """Open the moved room's link: straight into the new room, or by the join form."""
    page.locator(OPEN).click()
    page.wait_for_url(lambda url: "/r/" in url or "/join" in url)
    if "/join" in page.url:
        page.locator("#display-name").fill(name)
        page.get_by_role("button", name="Join room").click()
        page.wait_for_url("**/r/*")
    return room_ready(page)


def test_the_owner_moves_and_members_follow(recording_server, browsers) -> None:  # noqa: F811
    proc, record = recording_server
    a = browsers.new("alice").page
    b = browsers.new("bob").page
    c = browsers.new("carol").page
    old_id = create_room_ui(a, proc.base, "alice", "Planning", encrypted=False)
    expect(a.locator("[data-testid=e2e-mark]")).to_have_attribute("data-e2e", "off")
    link = invite_link(a)
    join_by_link_ui(b, link, "bob")
    join_by_link_ui(c, link, "carol")
    send_ui(a, "before the move")
    wait_messages(c, ["before the move"])
    c.goto("about:blank")  # carol is away during the move
    wait_direct(a, 1)
    wait_direct(b, 1)
    expect(b.locator("[data-testid=move-encrypted]")).to_have_count(0)  # the owner's only

    a.locator("[data-testid=move-encrypted]").click()
    a.locator("[data-testid=move-confirm]").click()
    expect(a.locator(OPEN)).to_be_visible(timeout=20_000)
    expect(a.locator("#message-input")).to_be_hidden()

    # bob, online: the last message through the server, the link over the data channel.
    wait_messages(b, ["before the move", FINAL])
    expect(b.locator(OPEN)).to_be_visible(timeout=20_000)
    expect(b.locator("#message-input")).to_be_hidden()
    handed = str(b.locator(OPEN).get_attribute("href"))
    key_text = handed.split("#", 1)[1].split(".", 1)[1]
    assert len(key_text) == 43

    # The owner goes to the new room; bob follows and reads her there.
    new_id = follow(a, "alice")
    assert new_id != old_id
    expect(a.locator("[data-testid=e2e-mark]")).to_have_attribute("data-e2e", "on")
    expect(a.locator("h1")).to_have_text("Planning")
    a.goto("about:blank")  # the owner's page is gone: only bob can hand the link on
    c.goto(f"{proc.base}/r/{old_id}")
    room_ready(c)
    expect(c.locator(MOVED)).to_be_visible()  # at once: the room moved (a link follows)
    expect(c.locator("#message-input")).to_be_hidden()
    expect(c.locator(OPEN)).to_be_visible(timeout=30_000)  # from bob, directly
    assert c.locator(OPEN).get_attribute("href") == handed

    assert follow(b, "bob") == new_id
    expect(b.locator("[data-testid=e2e-mark]")).to_have_attribute("data-e2e", "on")
    a.goto(f"{proc.base}/r/{new_id}")
    room_ready(a)
    send_ui(a, "inside the encrypted room")
    wait_messages(b, ["inside the encrypted room"])
    assert follow(c, "carol") == new_id
    wait_messages(c, ["inside the encrypted room"])

    proc.stop()
    seen = everything_the_server_has(proc, record)
    assert key_text.encode() not in seen, "the new room's key reached the server"
