"""The terminal beside Chromium in a key rotation (issue #15 items 4 and 5): ``peerlane
chat`` publishes its identity key, so the owner's browser shows its safety code and the
terminal's ``/people`` shows the same digits; the owner removes a third member (a
browser): the owner's client rotates and wraps the new key to the terminal's identity
key, the terminal keeps reading (it fetches the wrap) and writing (sealed with the new
key, which the owner opens), and the removed browser cannot open the new messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    MESSAGE,
    create_room_ui,
    history,
    invite_link,
    join_by_link_ui,
    send_ui,
    wait_js,
    wait_messages,
)
from e2e.test_e2e_identity import PLACEHOLDER, key_epoch, me, member_line, safety_code
from support import ServerProcess
from terminal import Terminal

pytestmark = pytest.mark.browser


def test_terminal_follows_a_rotation_after_the_owner_removes_a_browser(
    server: ServerProcess, browsers, tmp_path: Path
) -> None:
    a, c = (browsers.new(n).page for n in ("alice", "carol"))
    room_id = create_room_ui(a, server.base, "alice", "Rotate with a terminal")
    link = invite_link(a)
    term = Terminal(
        ["chat", link, "--name", "term"], env={"XDG_CONFIG_HOME": str(tmp_path / "config")}
    )
    try:
        term.wait_for("* in Rotate with a terminal as term (here: alice), end-to-end encrypted")
        join_by_link_ui(c, link, "carol")
        carol_id = me(c)
        term_id = wait_js(
            a,
            "() => [...window.peerlane.room.peers.values()].find((p) => p.name === 'term')"
            "?.participant_id",
            what="the terminal among alice's peers",
        )
        # The terminal published its key: alice's people panel shows its safety code,
        # and the terminal shows the same digits for alice.
        code = safety_code(a, str(term_id))
        safety_code(a, carol_id)
        term.type("/people\n")
        term.wait_for(f"* alice (owner, online): safety code {code}")

        send_ui(a, "before the removal")
        at = term.wait_for("] alice: before the removal\n")
        wait_messages(c, ["before the removal"])
        c.evaluate("window.__e2e = window.peerlane.room.e2e")  # kept past the removal

        a.once("dialog", lambda dialog: dialog.accept())
        member_line(a, carol_id).get_by_role("button", name="Remove carol").click()
        expect(c.locator(".ended")).to_be_visible(timeout=15_000)
        a.wait_for_function("() => window.peerlane.room.e2e.key.epoch === 1", timeout=15_000)
        assert key_epoch(a, room_id) == 1

        send_ui(a, "after the removal")
        term.wait_for("] alice: after the removal\n", start=at)
        term.type("a reply from the terminal\n")
        bodies = ["before the removal", "after the removal", "a reply from the terminal"]
        wait_messages(a, bodies)
        expect(a.locator(MESSAGE).filter(has_text=PLACEHOLDER)).to_have_count(0)
        assert "could not be decrypted" not in term.output

        sealed = history(a, room_id, opened=False)
        kids = [m["body"].split(".")[1] for m in sealed]
        assert kids[0] != kids[1], "the owner seals with the new key"
        assert kids[1] == kids[2], "the terminal seals with the new key too"
        opened = c.evaluate(
            "async (ms) => Promise.all(ms.map(async (m) => "
            "(await window.__e2e.openMessage(m)).body))",
            sealed,
        )
        assert opened[0] == "before the removal"
        assert all(PLACEHOLDER in body for body in opened[1:]), opened
        term.interrupt()
        assert term.wait_exit() == 130, term.output
        assert "could not be decrypted" not in term.output  # in all it printed
    finally:
        term.close()
