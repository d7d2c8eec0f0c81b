"""What the room page shows instead of the room (ui/room-notices.js): "This room isn't
here" for a room that is gone, with its way home; "Can't open the room" when the server
fails, or cannot be reached with nothing of the room kept on the device, as the page
opens, with a Try again that opens the room once the server answers. The failures are
made with Playwright routes: a member's device keeps the room, so a really stopped server
opens that copy instead (tests/e2e/test_pwa.py), not this notice.

A room id that never was, opened by someone with no session there, shows the join
prompt, not "isn't here": the server checks the session before it looks the room up, so
it tells no outsider which rooms exist. "Isn't here" is what a member whose room has gone
(deleted by its owner, expired) sees."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Route, expect

from e2e.helpers import create_room_ui, invite_link, join_by_link_ui, room_ready

pytestmark = pytest.mark.browser

GONE = "This room isn't here"
CANT_OPEN = "Can't open the room"


def no_spinner(page: Page) -> None:
    """The "Opening the room…" spinner is gone (the notice replaced it, for good)."""
    expect(page.locator(".spinner")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Opening the room")).to_have_count(0)


def test_a_deleted_room_says_it_is_not_here_with_the_way_home(server, browsers) -> None:
    a, b = (browsers.new(n).page for n in ("alice", "bob"))
    room_id = create_room_ui(a, server.base, "alice", "Book club")
    join_by_link_ui(b, invite_link(a), "bob")

    # The owner deletes the room (no button for it yet: the API call the client makes).
    status = a.evaluate(
        "async (id) => (await fetch('/api/rooms/' + id, {method: 'DELETE'})).status", room_id
    )
    assert status == 204
    # bob's open page is told at once: a toast over the chat, which can be dismissed.
    toast = b.locator(".toasts").get_by_role("alert")
    expect(toast).to_have_text("This room has been deleted.", timeout=15_000)
    toast.get_by_role("button", name="Dismiss").click()
    # Gone at the click (the click's handler removes it), well before its own 10 s.
    expect(toast).to_have_count(0, timeout=2_000)

    for page in (b, a):  # a member, and the owner, open the room's link again
        page.goto(f"{server.base}/r/{room_id}")
        expect(page.get_by_role("heading", level=1)).to_have_text(GONE)
        expect(page.get_by_role("alert")).to_have_text(
            "No such room; it may have been deleted or expired."
        )
        assert page.title() == "Room not found — peerlane"
        no_spinner(page)
        expect(page.locator("pl-message-list")).to_have_count(0)

    # Its way home: the home page, where a new room can be started.
    b.get_by_role("link", name="Go to the home page").click()
    expect(b).to_have_url(f"{server.base}/")
    expect(b.get_by_role("button", name="Create room")).to_be_visible()


def test_an_unreachable_server_then_a_room_id_that_never_was(server, browsers) -> None:
    """Nothing kept on this device to open instead: the server out of reach says so;
    once it answers, an outsider is asked to join (never told whether the room exists)."""
    page = browsers.new("carol").page
    the_room = re.compile(r"/api/rooms/nosuchroom42$")

    def refused(route: Route) -> None:  # what a stopped server's port does
        route.abort("connectionrefused")

    page.route(the_room, refused)
    page.goto(f"{server.base}/r/nosuchroom42")
    expect(page.get_by_role("heading", level=1)).to_have_text(CANT_OPEN)
    expect(page.get_by_role("alert")).to_have_text(
        "Cannot reach the server. Check your connection and try again."
    )
    no_spinner(page)

    page.unroute(the_room, refused)
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You're not in this room yet")
    no_spinner(page)


def test_the_server_failing_on_open_says_so_and_try_again_opens_the_room(server, browsers) -> None:
    a, b = (browsers.new(n).page for n in ("alice", "bob"))
    room_id = create_room_ui(a, server.base, "alice", "Book club")
    join_by_link_ui(b, invite_link(a), "bob")

    # A proxy in front of the server answers its own error page while the server is down
    # (an unreachable server would not do: bob's device keeps the room, and opens that).
    asked: list[str] = []

    def down(route: Route) -> None:
        asked.append(route.request.method)
        route.fulfill(status=502, content_type="text/html", body="<h1>Bad Gateway</h1>")

    the_room = re.compile(rf"/api/rooms/{room_id}$")
    b.route(the_room, down)
    b.reload()
    expect(b.get_by_role("heading", level=1)).to_have_text(CANT_OPEN)
    expect(b.get_by_role("alert")).to_have_text("The server answered 502 Bad Gateway.")
    assert b.title() == "Can't open the room — peerlane"
    retry = b.get_by_role("button", name="Try again")
    expect(retry).to_be_focused()
    expect(b.get_by_role("link", name="Home")).to_have_attribute("href", "/")
    no_spinner(b)
    assert asked == ["GET"]

    # Still failing: Try again asks again (waited for: the notice is there already) and
    # says so again.
    with b.expect_response(the_room) as answer:
        retry.click()
    assert answer.value.status == 502
    expect(b.get_by_role("heading", level=1)).to_have_text(CANT_OPEN)
    expect(retry).to_be_focused()
    assert asked == ["GET", "GET"]

    # The server answers again: Try again opens the room.
    b.unroute(the_room, down)
    retry.click()
    assert room_ready(b) == room_id
    expect(b.get_by_role("heading", level=1)).to_have_text("Book club")
    expect(b.get_by_role("alert").filter(has_text=CANT_OPEN)).to_have_count(0)
    assert len(asked) == 2
