"""Message states (read receipts, a refused message), typing indicator, reactions."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import (
    MESSAGE,
    PEER,
    create_room_ui,
    history,
    invite_link,
    join_by_link_ui,
    rendered,
    send_ui,
    wait_js,
    wait_messages,
)

pytestmark = pytest.mark.browser


def two_in_a_room(
    server, browsers, *, direct: bool = True, p2p: bool = True
) -> tuple[str, Page, Page]:
    a, b = browsers.new("alice", p2p=p2p).page, browsers.new("bob", p2p=p2p).page
    room_id = create_room_ui(a, server.base, "alice")
    join_by_link_ui(b, invite_link(a), "bob")
    if direct:
        for page in (a, b):
            expect(page.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=20_000)
    return room_id, a, b


def row(page: Page, text: str):
    return page.locator(MESSAGE).filter(has_text=text)


def test_message_reaches_read_after_the_receiver_sees_it(server, browsers) -> None:
    _, a, b = two_in_a_room(server, browsers)
    send_ui(a, "did you read this?")
    wait_messages(b, ["did you read this?"])
    # bob's page is visible and at the bottom: his read receipt comes back to alice
    expect(row(a, "did you read this?")).to_have_attribute("data-state", "read", timeout=15_000)
    expect(row(a, "did you read this?")).to_contain_text("Read")
    # the other way round too
    send_ui(b, "yes I did")
    expect(row(b, "yes I did")).to_have_attribute("data-state", "read", timeout=15_000)


def test_too_large_message_is_refused_in_words_and_can_be_deleted(server_factory, browsers) -> None:
    """Issue #10, rough edge 4: the composer refuses a message over max_body_bytes in plain
    words and keeps its text; one that fails anyway (sent by script, past the composer)
    offers no Retry that can never succeed, but Delete."""
    server = server_factory(PEERLANE_MAX_BODY_BYTES="100")
    # server only: what bob sees of a refused message over a data channel is the next test
    room_id, a, b = two_in_a_room(server, browsers, direct=False, p2p=False)
    send_ui(a, "small one")
    big = "this message is far too long for this server " + "x" * 150
    send_ui(a, big)
    note = a.locator("#composer-length")
    expect(note).to_contain_text("Too long for one message")
    expect(note).not_to_contain_text("limited to")
    assert a.locator("#message-input").input_value() == big, "the text stays in the box"
    expect(row(a, "far too long")).to_have_count(0)

    a.evaluate("(text) => window.peerlane.room.send(text)", big)
    failed = row(a, "far too long")
    expect(failed).to_have_attribute("data-state", "failed", timeout=15_000)
    expect(failed.get_by_role("button", name="Retry")).to_have_count(0)
    # the room says why, in plain words, never the server's developer wording
    expect(a.get_by_role("alert").filter(has_text="too long to send")).to_have_count(1)
    expect(a.get_by_role("alert").filter(has_text="limited to")).to_have_count(0)
    failed.get_by_role("button", name="Delete").click()
    expect(row(a, "far too long")).to_have_count(0)

    wait_messages(b, ["small one"])
    stored = history(a, room_id)
    assert [m["body"] for m in stored] == ["small one"], stored
    assert row(a, "small one").get_attribute("data-state") in ("sent", "delivered", "read")


def test_refused_message_is_not_left_on_direct_peers(server_factory, browsers) -> None:
    """The refused message also went over the data channel at once; once the server
    refuses it, it must not stay on bob's page as if it were part of the conversation."""
    server = server_factory(PEERLANE_MAX_BODY_BYTES="100")
    _, a, b = two_in_a_room(server, browsers, direct=True)
    big = "refused " + "y" * 150
    # past the composer, which refuses it (issue #10, rough edge 4)
    a.evaluate("(text) => window.peerlane.room.send(text)", big)
    expect(row(a, "refused")).to_have_attribute("data-state", "failed", timeout=15_000)
    send_ui(a, "after the refused one")
    wait_js(
        b,
        "() => window.peerlane.room.messages.some((m) => m.body === 'after the refused one')",
    )
    shown = [r["text"] for r in rendered(b)]
    assert not any("y" * 150 in t for t in shown), (
        f"bob still shows the message the server refused: {shown}"
    )


def test_typing_indicator_and_reactions(server, browsers) -> None:
    _, a, b = two_in_a_room(server, browsers)
    typing_b = b.locator("[data-testid=typing]")
    expect(typing_b).to_have_text("")
    a.locator("#message-input").press_sequentially("hel")
    expect(typing_b).to_have_text("alice is typing…")
    a.locator("#message-input").fill("")
    a.locator("#message-input").press("Backspace")  # an input event with an empty box
    expect(typing_b).to_have_text("", timeout=10_000)

    send_ui(a, "react to me")
    for page in (a, b):
        wait_messages(page, ["react to me"])
    target = row(b, "react to me")
    expect(target).not_to_have_attribute("data-seq", "")
    target.hover()
    target.get_by_role("button", name="React").click()
    b.get_by_role("menuitem", name="👍 Thumbs up").click()
    for page in (a, b):
        expect(row(page, "react to me").get_by_role("button", name="👍 1")).to_be_visible()
    # alice adds hers: two on both sides
    row(a, "react to me").get_by_role("button", name="👍 1").click()
    for page in (a, b):
        expect(row(page, "react to me").get_by_role("button", name="👍 2")).to_be_visible()
    # reactions are not rows of their own
    for page in (a, b):
        expect(page.locator(MESSAGE)).to_have_count(1)
