"""``peerlane chat`` in a pseudo-terminal, with a browser in the same room: messages flow
both ways, each shown exactly once on both sides, in the server's order."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    MESSAGE,
    create_room_ui,
    history,
    invite_link,
    send_ui,
    wait_js,
    wait_messages,
)
from terminal import Terminal

pytestmark = pytest.mark.browser


def test_terminal_and_browser_chat_exactly_once(server, browsers) -> None:
    page = browsers.new("alice", p2p=True).page
    # The terminal cannot seal yet (issue #15): it chats in rooms without end-to-end
    # encryption, and refuses an encrypted room's link.
    room_id = create_room_ui(page, server.base, "alice", "Standup", encrypted=False)
    term = Terminal(["chat", invite_link(page), "--name", "bob"])
    try:
        term.wait_for("* in Standup as bob (here: alice)")
        # The browser sees the terminal join (its people panel lists bob).
        wait_js(
            page,
            "() => [...window.peerlane.room.peers.values()].some((p) => p.name === 'bob')",
            what="bob in the browser's peers",
        )
        send_ui(page, "from the browser")
        at = term.wait_for("] alice: from the browser")
        term.type("from the terminal\n")
        term.wait_for("] bob: from the terminal", start=at)
        send_ui(page, "browser again")
        term.wait_for("] alice: browser again", start=at)

        bodies = ["from the browser", "from the terminal", "browser again"]
        rows = wait_messages(page, bodies)
        expect(page.locator(MESSAGE).filter(has_text="from the terminal")).to_have_count(1)
        stored = history(page, room_id)
        assert [m["body"] for m in stored] == bodies
        assert [r["id"] for r in rows] == [m["id"] for m in stored]
        # Each message printed exactly once in the terminal (the tty echo of the typed
        # line is not a "] bob:" row).
        for body in bodies:
            assert term.output.count(f": {body}\n") == 1, term.output
        term.interrupt()
        assert term.wait_exit() == 130
    finally:
        term.close()
