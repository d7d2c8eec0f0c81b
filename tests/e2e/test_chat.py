"""Chat between real browsers: creating and joining rooms, ordering, direct vs server path."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import (
    MESSAGE,
    PEER,
    ROOM_PAIRS_JS,
    assert_host_pair,
    create_room_ui,
    history,
    invite_code,
    invite_link,
    join_by_code_ui,
    join_by_link_ui,
    rendered,
    room_ready,
    send_ui,
    wait_js,
    wait_messages,
)

pytestmark = pytest.mark.browser

ALL_NUMBERED = "() => window.peerlane.room.messages.every((m) => m.seq !== null)"


def three_in_a_room(server, browsers, *, p2p: bool) -> tuple[str, list[Page]]:
    """alice creates a room on the home page, bob opens the invite link, carol types the
    short code on the home page."""
    a, b, c = (browsers.new(n, p2p=p2p).page for n in ("alice", "bob", "carol"))
    # An end-to-end encrypted room: carol's browser gets the key from alice's by the code (PAKE).
    room_id = create_room_ui(a, server.base, "alice", "Friday plans")
    expect(a.locator("h1")).to_have_text("Friday plans")
    link, code = invite_link(a), invite_code(a)
    assert link.startswith(f"{server.base}/join#"), link
    assert join_by_link_ui(b, link, "bob") == room_id
    assert join_by_code_ui(c, server.base, code, "carol") == room_id
    return room_id, [a, b, c]


def chat_round(pages: list[Page], names: list[str], tag: str, rounds: int = 2) -> list[str]:
    """Everyone sends ``rounds`` messages, interleaved; the bodies, in sending order."""
    bodies = []
    for r in range(rounds):
        for page, name in zip(pages, names, strict=True):
            body = f"{tag} {r} from {name}"
            send_ui(page, body)
            bodies.append(body)
    return bodies


def assert_same_order_everywhere(pages: list[Page], bodies: list[str], room_id: str) -> None:
    """Each page shows every body exactly once, all in the same order -- the server's."""
    for page in pages:
        wait_messages(page, bodies)
        wait_js(page, ALL_NUMBERED, what="every message numbered by the server")
    rows = [rendered(page) for page in pages]
    orders = [[r["id"] for r in page_rows] for page_rows in rows]
    assert all(order == orders[0] for order in orders), orders
    assert len(set(orders[0])) == len(bodies), orders[0]
    seqs = [int(r["seq"]) for r in rows[0]]
    assert seqs == sorted(seqs), seqs
    stored = history(pages[0], room_id)
    assert [m["id"] for m in stored] == orders[0], (stored, orders[0])
    assert [m["seq"] for m in stored] == seqs


def test_three_people_chat_directly(server, browsers) -> None:
    started = time.monotonic()
    room_id, pages = three_in_a_room(server, browsers, p2p=True)

    # Every pair connects directly: two direct peers on each side.
    for page in pages:
        expect(page.locator(f"{PEER}[data-path=direct]")).to_have_count(2, timeout=20_000)
    mesh_up = time.monotonic() - started

    bodies = chat_round(pages, ["alice", "bob", "carol"], "hello")
    assert_same_order_everywhere(pages, bodies, room_id)
    for page in pages:
        # own messages went beyond "sent": a peer acked them over the data channel
        states = {r["state"] for r in rendered(page) if r["sender"] == page_me(page)}
        assert states <= {"delivered", "read"}, states

    # The direct path, verified independently of the UI: host <-> host on 10.77.0.1.
    for name, page in zip(["alice", "bob", "carol"], pages, strict=True):
        pairs = wait_js(
            page,
            f"async () => {{ const p = await ({ROOM_PAIRS_JS})(); const v = Object.values(p);"
            " return v.length === 2 && v.every((x) => x && x.state === 'succeeded') && p; }",
            what="two succeeded candidate pairs",
        )
        for peer, pair in pairs.items():
            assert_host_pair(pair, f"{name} -> {peer}")
        expect(page.locator("[data-testid=connection-status]")).to_contain_text("Connected")
    print(f"mesh up after {mesh_up:.1f} s, total {time.monotonic() - started:.1f} s")


def test_three_people_chat_through_the_server_when_p2p_is_impossible(server, browsers) -> None:
    """No candidate can be gathered (see chromium_browsers.NO_P2P_PREFS): the mesh gives up after
    its connect timeout and every message goes through the server."""
    started = time.monotonic()
    room_id, pages = three_in_a_room(server, browsers, p2p=False)

    # Chat at once, while the direct links are still being attempted ...
    early = chat_round(pages, ["alice", "bob", "carol"], "early", rounds=1)
    for page in pages:
        wait_messages(page, early)
    # ... and once every peer is shown reached through the server.
    for page in pages:
        expect(page.locator(f"{PEER}[data-path=server]")).to_have_count(2, timeout=30_000)
        expect(page.locator(PEER).first).to_contain_text("Messages go through the server")
    fallback = time.monotonic() - started
    late = chat_round(pages, ["alice", "bob", "carol"], "late", rounds=1)
    assert_same_order_everywhere(pages, early + late, room_id)

    for page in pages:
        assert page.evaluate("window.peerlane.room.directCount") == 0
        pairs = page.evaluate(ROOM_PAIRS_JS)
        assert all(pair is None for pair in pairs.values()), pairs
        # nobody acked over a data channel: own messages are "sent" (or "read" by receipt)
        states = {r["state"] for r in rendered(page) if r["sender"] == page_me(page)}
        assert states <= {"sent", "read"}, states
        assert page.locator(MESSAGE).count() == len(early + late)
    print(
        f"fell back to the server after {fallback:.1f} s, total {time.monotonic() - started:.1f} s"
    )


def page_me(page: Page) -> str:
    return str(page.evaluate("window.peerlane.room.me.participant_id"))


def test_a_remembered_name_opens_an_invite_link_straight_into_the_room(server, browsers) -> None:
    """Someone whose browser remembers their name (an earlier visit) is in the room as
    soon as they open the link: no form, no click, and the token leaves the address bar.
    A link that does not work shows the form with what went wrong, the name filled in;
    so does a link followed from another site (it may not join anyone at once)."""
    a = browsers.new("alice").page
    b = browsers.new("bob").page
    room_id = create_room_ui(a, server.base, "alice", "Friday plans")
    link = invite_link(a)
    b.goto(f"{server.base}/")
    b.locator("#display-name").fill("bob")  # remembered once changed, before any join
    b.locator("#display-name").blur()
    assert b.evaluate("localStorage.getItem('peerlane.name')") == "bob"

    b.goto(f"{server.base}/join#not-a-real-token")
    expect(b.get_by_role("alert")).to_contain_text("invite")
    expect(b.locator("#display-name")).to_have_value("bob")
    expect(b.get_by_role("button", name="Join room")).to_be_visible()
    assert b.url.endswith("/join#not-a-real-token")

    # From a page of another site (about:blank, an opaque origin): the form, no join.
    b.goto("about:blank")
    b.set_content(f'<a href="{link}">the invite</a>')
    b.get_by_role("link", name="the invite").click()
    expect(b.get_by_role("button", name="Join room")).to_be_visible()
    expect(b.locator("#display-name")).to_have_value("bob")
    expect(b.get_by_role("alert")).to_be_empty()
    assert "/join#" in b.url
    expect(a.locator(PEER)).to_have_count(0)  # bob is not in the room

    b.goto(f"{server.base}/")
    b.goto(link)  # opened by the person (the address bar): straight in
    b.wait_for_url(f"{server.base}/r/*")
    assert room_ready(b) == room_id
    assert "#" not in b.url, b.url
    assert b.evaluate("window.peerlane.room.me.name") == "bob"
    expect(a.locator(PEER)).to_contain_text("bob")
    send_ui(b, "straight in")
    wait_messages(a, ["straight in"])

    # The same link again (from a chat's history, say): back in as the same participant.
    me = page_me(b)
    b.goto(f"{server.base}/")
    b.goto(link)
    b.wait_for_url(f"{server.base}/r/*")
    assert room_ready(b) == room_id
    assert page_me(b) == me
    people = a.evaluate(f"fetch('/api/rooms/{room_id}/participants').then((r) => r.json())")
    assert sorted(p["name"] for p in people["participants"]) == ["alice", "bob"], people


def test_a_room_address_without_a_session_asks_for_the_room_code(server, browsers) -> None:
    """Someone who opens a room's address (not its invite) joins there with the code."""
    a = browsers.new("alice").page
    c = browsers.new("carol").page
    room_id = create_room_ui(a, server.base, "alice", "Friday plans")
    code = invite_code(a)
    c.goto(a.url)
    expect(c.get_by_role("heading", name="You're not in this room yet")).to_be_visible()
    c.locator("#display-name").fill("carol")
    c.get_by_role("button", name="Join", exact=True).click()
    expect(c.get_by_role("alert")).to_contain_text("Enter the room code")
    expect(c.locator("#join-code")).to_be_focused()
    c.locator("#join-code").fill(code)
    c.get_by_role("button", name="Join", exact=True).click()
    assert room_ready(c) == room_id
    assert c.url == a.url
    expect(a.locator(PEER)).to_contain_text("carol")
