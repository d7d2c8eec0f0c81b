"""``peerlane chat`` in a pseudo-terminal, with a browser in the same room: messages flow
both ways, each shown exactly once on both sides, in the server's order; in an end-to-end
encrypted room (the browser's default) each side opens what the other sealed."""

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
from peerlane.core.e2e import is_envelope
from terminal import Terminal

pytestmark = pytest.mark.browser


def test_terminal_and_browser_chat_exactly_once(server, browsers) -> None:
    page = browsers.new("alice", p2p=True).page
    # A room made without end-to-end encryption (as before issue #15): bodies in clear.
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
        # Whole lines: a line's end comes in a read of its own (tests/terminal.py); a line
        # typed before it arrived is echoed into the line ("browserfrom the terminal").
        at = term.wait_for("] alice: from the browser\n")
        term.type("from the terminal\n")
        term.wait_for("] bob: from the terminal\n", start=at)
        send_ui(page, "browser again")
        term.wait_for("] alice: browser again\n", start=at)

        bodies = ["from the browser", "from the terminal", "browser again"]
        rows = wait_messages(page, bodies)
        expect(page.locator(MESSAGE).filter(has_text="from the terminal")).to_have_count(1)
        stored = history(page, room_id)
        assert [m["body"] for m in stored] == bodies
        assert [r["id"] for r in rows] == [m["id"] for m in stored]
        term.interrupt()
        assert term.wait_exit() == 130, term.output
        # Each message printed exactly once in the terminal, in all it printed until it
        # exited (the tty echo of the typed line is not a "] bob:" row).
        for body in bodies:
            assert term.output.count(f": {body}\n") == 1, term.output
    finally:
        term.close()


def test_terminal_and_browser_chat_in_an_encrypted_room(server, browsers) -> None:
    page = browsers.new("alice", p2p=True).page
    room_id = create_room_ui(page, server.base, "alice", "Secret standup")
    link = invite_link(page)
    assert "." in link.split("#", 1)[1]  # the room key rides in the fragment
    term = Terminal(["chat", link, "--name", "bob"])
    try:
        term.wait_for("* in Secret standup as bob (here: alice), end-to-end encrypted")
        send_ui(page, "sealed in the browser")
        # The whole line (the tty echoes what is typed next: not into this line).
        at = term.wait_for("] alice: sealed in the browser\n")
        term.type("sealed in the terminal\n")
        term.wait_for("] bob: sealed in the terminal\n", start=at)
        send_ui(page, "browser again")
        term.wait_for("] alice: browser again\n", start=at)

        bodies = ["sealed in the browser", "sealed in the terminal", "browser again"]
        wait_messages(page, bodies)
        expect(page.locator(MESSAGE).filter(has_text="sealed in the terminal")).to_have_count(1)
        expect(page.locator(MESSAGE).filter(has_text="could not be decrypted")).to_have_count(0)
        assert [m["body"] for m in history(page, room_id)] == bodies
        # What the server holds is sealed, the terminal's message too.
        assert all(is_envelope(m["body"]) for m in history(page, room_id, opened=False))
        term.interrupt()
        assert term.wait_exit() == 130, term.output
        for body in bodies:
            assert term.output.count(f": {body}\n") == 1, term.output
        assert "could not be decrypted" not in term.output
    finally:
        term.close()
