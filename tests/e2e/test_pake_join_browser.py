"""Joining an end-to-end encrypted room by its short code, browser to browser (issue #15,
docs/protocol.md "Short codes by PAKE"): the joiner types the code on the home page, its
browser runs CPace over /api/join/ws with a member's room page, which checks the words and
hands over the room key; the joiner then reads the room's encrypted chat. A wrong code
fails on both sides and is counted by the server; with no member online the joiner is
told so, and joins as soon as a member opens the room."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import (
    create_room_ui,
    invite_code,
    invite_link,
    join_by_code_ui,
    join_by_link_ui,
    room_ready,
    send_ui,
    wait_messages,
)

pytestmark = pytest.mark.browser

WRONG = "That code is not right"
WAITING = "Waiting for a member of the room to come online"


def type_code(page: Page, base: str, code: str, name: str) -> None:
    page.goto(f"{base}/")
    page.locator("#display-name").fill(name)
    page.locator("#join-code").fill(code)
    page.get_by_role("button", name="Join", exact=True).click()


def room_key(page: Page) -> str:
    return str(page.evaluate("() => window.peerlane.room.e2e.keyText"))


def test_right_code_with_a_member_online_joins_and_reads(server, browsers) -> None:
    alice = browsers.new("alice").page
    bob = browsers.new("bob").page
    room_id = create_room_ui(alice, server.base, "alice", "Harbour plans")
    expect(alice.locator("#invite-code-label")).to_have_text("Room code (read aloud)")
    code = invite_code(alice)
    send_ui(alice, "before bob came")

    assert join_by_code_ui(bob, server.base, code, "bob") == room_id
    expect(bob.locator("h1")).to_have_text("Harbour plans")  # the sealed name opens
    expect(bob.locator("[data-testid=e2e-mark]")).to_have_attribute("data-e2e", "on")
    assert room_key(bob) == room_key(alice)
    wait_messages(bob, ["before bob came"])
    send_ui(alice, "sealed hello")
    wait_messages(bob, ["before bob came", "sealed hello"])
    send_ui(bob, "bob answers")
    wait_messages(alice, ["before bob came", "sealed hello", "bob answers"])
    # The joiner's session is the browser's cookie now: a reload keeps the room and its key.
    bob.reload()
    room_ready(bob)
    wait_messages(bob, ["before bob came", "sealed hello", "bob answers"])


def test_wrong_code_fails_is_counted_and_shown(server_factory, browsers) -> None:
    server = server_factory(PEERLANE_CODE_MAX_FAILURES="1")
    alice = browsers.new("alice").page
    bob = browsers.new("bob").page
    create_room_ui(alice, server.base, "alice")
    code = invite_code(alice)
    nameplate = code.split("-", 1)[0]

    type_code(bob, server.base, f"{nameplate}-wrong-words", "bob")
    expect(bob.locator("#join-error")).to_contain_text(WRONG)
    assert bob.url == f"{server.base}/"
    # The member's page says someone failed; its own count of this code is 1.
    failures = alice.locator(".toast[data-code=pake_failures]")
    expect(failures).to_contain_text("wrong room code (1 of")
    # The server counted the guess: this address has used its one try of the code.
    bob.get_by_role("button", name="Join", exact=True).click()
    expect(bob.locator("#join-error")).to_contain_text("Too many wrong guesses")
    bob.locator("#join-code").fill(code)
    bob.get_by_role("button", name="Join", exact=True).click()
    expect(bob.locator("#join-error")).to_contain_text("Too many wrong guesses")


def test_no_member_online_the_joiner_waits_then_joins(server, browsers) -> None:
    alice = browsers.new("alice").page
    bob = browsers.new("bob").page
    room_id = create_room_ui(alice, server.base, "alice")
    code = invite_code(alice)
    send_ui(alice, "written while bob was away")
    wait_messages(alice, ["written while bob was away"])
    alice.goto(f"{server.base}/")  # the only member leaves the room

    type_code(bob, server.base, code, "bob")
    expect(bob.locator("#join-error")).to_contain_text(WAITING)
    alice.goto(f"{server.base}/r/{room_id}")  # a member comes online and answers
    bob.wait_for_url(f"{server.base}/r/*")
    assert room_ready(bob) == room_id
    wait_messages(bob, ["written while bob was away"])


def test_browser_made_words_answered_by_a_member_who_is_not_the_creator(server, browsers) -> None:
    """The words are the creating browser's (the server's invite answer has no code, only
    the nameplate and the sealed words); a member who joined by link opens them and
    answers a joiner while the creator is away, for the first invite and a new one."""
    alice = browsers.new("alice").page
    carol = browsers.new("carol").page
    bob = browsers.new("bob").page
    dave = browsers.new("dave").page
    room_id = create_room_ui(alice, server.base, "alice", "Harbour plans")
    code = invite_code(alice)
    listed = alice.evaluate("id => fetch(`/api/rooms/${id}/invites`).then(r => r.json())", room_id)[
        "invites"
    ][0]
    assert listed["code"] is None
    assert listed["sealed_code"].startswith("e2e1.")
    assert code.split("-", 1)[0] == str(listed["nameplate"])
    assert join_by_link_ui(carol, invite_link(alice), "carol") == room_id
    expect(carol.locator("[data-testid=invite-code]")).to_have_text(code)  # opened, not served
    alice.goto(f"{server.base}/")  # the creator leaves: carol alone can answer

    assert join_by_code_ui(bob, server.base, code, "bob") == room_id
    assert room_key(bob) == room_key(carol)

    # A new invite made on carol's page? Only the owner makes one: alice, then she leaves.
    alice.goto(f"{server.base}/r/{room_id}")
    room_ready(alice)
    alice.get_by_role("button", name="New invite").click()
    expect(alice.locator("[data-testid=invite-code]")).not_to_have_text(code)
    new_code = invite_code(alice)
    assert new_code != "—"
    alice.goto(f"{server.base}/")
    assert join_by_code_ui(dave, server.base, new_code, "dave") == room_id
    assert room_key(dave) == room_key(carol)
