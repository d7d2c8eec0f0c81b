"""Joining again from the same browser returns as the same participant (issue #10,
rough edge 2): by code, by code again, then by the link: one "gina", not three."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import (
    create_room_ui,
    invite_code,
    invite_link,
    join_by_code_ui,
    room_ready,
    wait_js,
)

pytestmark = pytest.mark.browser

ME = "() => window.peerlane.room.me.participant_id"


def open_link_again(page: Page, link: str, name: str) -> str:
    """Open the invite link: the page joins at once under the name it remembers, or asks."""
    page.goto(link)
    field, room = page.locator("#display-name"), page.locator("pl-message-list")
    expect(field.or_(room)).to_be_visible()
    if field.is_visible():
        field.fill(name)
        page.get_by_role("button", name="Join room").click()
    page.wait_for_url("**/r/*")
    return room_ready(page)


def test_joining_again_by_code_then_link_is_the_same_participant(server, browsers) -> None:
    a, g = (browsers.new(n).page for n in ("alice", "gina"))
    room_id = create_room_ui(a, server.base, "alice", "Book club")
    code, link = invite_code(a), invite_link(a)

    assert join_by_code_ui(g, server.base, code, "gina") == room_id
    gina = wait_js(g, ME)
    assert join_by_code_ui(g, server.base, code, "gina") == room_id
    assert wait_js(g, ME) == gina
    assert open_link_again(g, link, "gina") == room_id
    assert wait_js(g, ME) == gina

    r = a.request.get(f"{server.base}/api/rooms/{room_id}/participants")
    assert r.ok, r.text()
    names = sorted(p["name"] for p in r.json()["participants"])
    assert names == ["alice", "gina"]
