"""Identity keys, safety codes and key rotation in real browsers (issue #15 items 4 and
5): two members see the same safety code; a server that substitutes a member's identity
key (here: its database, edited under it) makes a verified member's line a loud warning;
after the owner removes someone, or a member leaves by herself, the room key rotates:
the members left read new messages (and their history, after a reload), the removed
member's client cannot open them and shows the placeholder."""

from __future__ import annotations

import base64
import os
import re
import sqlite3

import pytest
from playwright.sync_api import Locator, Page, expect

from e2e.helpers import (
    create_room_ui,
    history,
    in_side_panel,
    invite_code,
    invite_link,
    join_by_code_ui,
    join_by_link_ui,
    room_ready,
    send_ui,
    wait_messages,
)
from support import ServerProcess

pytestmark = pytest.mark.browser

PLACEHOLDER = "This message could not be decrypted"
CODE = re.compile(r"^\d{5}( \d{5}){5}$")


def people(page: Page) -> Locator:
    """The people panel, shown (on a narrow window it sits behind the side panel's toggle)."""
    return in_side_panel(page, page.get_by_role("region", name="People in this room"))


def member_line(page: Page, participant_id: str) -> Locator:
    return people(page).locator(f"li[data-participant='{participant_id}']")


def me(page: Page) -> str:
    return str(page.evaluate("window.peerlane.room.me.participant_id"))


def safety_code(page: Page, participant_id: str) -> str:
    code = member_line(page, participant_id).locator("[data-testid=safety-code]")
    expect(code).to_have_text(CODE, timeout=15_000)
    return code.inner_text()


def key_epoch(page: Page, room_id: str) -> int:
    return int(
        page.evaluate(
            "async (id) => (await (await fetch('/api/rooms/' + id)).json()).room.key_epoch",
            room_id,
        )
    )


def test_safety_codes_agree_and_a_substituted_key_is_shown_loudly(
    server: ServerProcess, browsers
) -> None:
    a, b = (browsers.new(n).page for n in ("alice", "bob"))
    room_id = create_room_ui(a, server.base, "alice", "Verify me")
    join_by_link_ui(b, invite_link(a), "bob")
    alice_id, bob_id = me(a), me(b)
    code = safety_code(a, bob_id)
    assert safety_code(b, alice_id) == code  # the same six groups on both screens
    line = member_line(a, bob_id)
    line.get_by_role("button", name=re.compile("^Mark bob as verified")).click()
    expect(line.locator("[data-testid=verified-mark]")).to_be_visible()

    # The server in the middle: it hands out another key as bob's.
    forged = (
        base64.urlsafe_b64encode(
            bytes.fromhex("09") + os.urandom(31)  # any 32 bytes are an X25519 public key
        )
        .decode()
        .rstrip("=")
    )
    with sqlite3.connect(server.data_dir / "peerlane.db") as db:
        db.execute("UPDATE participants SET identity_key = ? WHERE id = ?", (forged, bob_id))
    a.reload()
    room_ready(a)
    line = member_line(a, bob_id)
    expect(line.locator("[data-testid=key-warning]")).to_contain_text(
        "security key of this verified person changed", timeout=15_000
    )
    expect(line.get_by_role("alert")).to_have_count(1)
    expect(line.locator("[data-testid=verified-mark]")).to_have_count(0)
    assert safety_code(a, bob_id) != code  # the codes no longer match bob's screen
    assert key_epoch(a, room_id) == 0


def test_after_a_removal_the_key_rotates_and_the_removed_member_cannot_read(
    server: ServerProcess, browsers
) -> None:
    a, b, c = (browsers.new(n).page for n in ("alice", "bob", "carol"))
    room_id = create_room_ui(a, server.base, "alice", "Rotate")
    link = invite_link(a)
    join_by_link_ui(b, link, "bob")
    join_by_link_ui(c, link, "carol")
    bob_id, carol_id = me(b), me(c)
    # Both published their identity keys (the owner's panel shows their codes).
    safety_code(a, bob_id)
    safety_code(a, carol_id)
    send_ui(a, "before the removal")
    for page in (a, b, c):
        wait_messages(page, ["before the removal"])
    # Carol's room crypto, kept past her removal (the page drops the room then).
    c.evaluate("window.__e2e = window.peerlane.room.e2e")

    a.once("dialog", lambda dialog: dialog.accept())
    member_line(a, carol_id).get_by_role("button", name="Remove carol").click()
    expect(c.locator(".ended")).to_be_visible(timeout=15_000)
    # The owner's client seals with the new key once the server took the rotation.
    a.wait_for_function("() => window.peerlane.room.e2e.key.epoch === 1", timeout=15_000)
    assert key_epoch(a, room_id) == 1

    send_ui(a, "after the removal")
    wait_messages(b, ["before the removal", "after the removal"])
    send_ui(b, "a reply from bob")
    wait_messages(a, ["before the removal", "after the removal", "a reply from bob"])
    sealed = history(a, room_id, opened=False)
    kids = [m["body"].split(".")[1] for m in sealed]
    assert kids[0] != kids[1], "the new messages are sealed with a new key"
    assert kids[1] == kids[2], "bob seals with the new key too"

    # The removed member's client has only the old key: the new messages stay closed.
    opened = c.evaluate(
        "async (ms) => Promise.all(ms.map(async (m) => (await window.__e2e.openMessage(m)).body))",
        sealed,
    )
    assert opened[0] == "before the removal"
    assert all(PLACEHOLDER in body for body in opened[1:]), opened

    # Bob's device kept both epochs: after a reload all of the history opens.
    b.reload()
    wait_messages(b, ["before the removal", "after the removal", "a reply from bob"])
    assert b.locator(f"[data-testid=message]:has-text('{PLACEHOLDER}')").count() == 0


def test_a_member_who_leaves_by_herself_cannot_read_what_comes_next(
    server: ServerProcess, browsers
) -> None:
    """Carol presses "Leave room": the server takes her out (her last session), its
    `keys` frame makes alice's (the owner's) client rotate; bob reads on, carol's kept
    room crypto cannot open the new messages, and her invite link no longer works."""
    a, b, c = (browsers.new(n).page for n in ("alice", "bob", "carol"))
    room_id = create_room_ui(a, server.base, "alice", "Leave")
    link = invite_link(a)
    join_by_link_ui(b, link, "bob")
    join_by_link_ui(c, link, "carol")
    safety_code(a, me(b))
    safety_code(a, me(c))
    send_ui(a, "before she left")
    for page in (a, b, c):
        wait_messages(page, ["before she left"])
    c.evaluate("window.__e2e = window.peerlane.room.e2e")  # kept past the page's room

    leave = in_side_panel(c, c.get_by_role("button", name="Leave room"))
    c.once("dialog", lambda dialog: dialog.accept())
    leave.click()
    c.wait_for_url(f"{server.base}/")
    a.wait_for_function("() => window.peerlane.room.e2e.key.epoch === 1", timeout=20_000)
    assert key_epoch(a, room_id) == 1

    send_ui(a, "after she left")
    wait_messages(b, ["before she left", "after she left"])
    sealed = history(a, room_id, opened=False)
    assert sealed[0]["body"].split(".")[1] != sealed[1]["body"].split(".")[1]
    opened = c.evaluate(
        "async (ms) => Promise.all(ms.map(async (m) => (await window.__e2e.openMessage(m)).body))",
        sealed,
    )
    assert opened[0] == "before she left"
    assert PLACEHOLDER in opened[1], opened
    # The invites she knew were replaced with the rotation: her link takes nobody back.
    status = c.evaluate(
        """async (token) => (await fetch('/api/join', {method: 'POST',
            headers: {'content-type': 'application/json'},
            body: JSON.stringify({display_name: 'carol', token})})).status""",
        link.split("#", 1)[1].split(".")[0],
    )
    assert status == 410, status


def test_an_owner_away_when_a_member_left_rotates_on_coming_back(
    server: ServerProcess, browsers
) -> None:
    a, b, c = (browsers.new(n).page for n in ("alice", "bob", "carol"))
    room_id = create_room_ui(a, server.base, "alice", "Away")
    link = invite_link(a)
    join_by_link_ui(b, link, "bob")
    join_by_link_ui(c, link, "carol")
    safety_code(a, me(b))
    safety_code(a, me(c))
    room_url = a.url
    a.goto("about:blank")  # the owner's page is gone while carol leaves
    leave = in_side_panel(c, c.get_by_role("button", name="Leave room"))
    c.once("dialog", lambda dialog: dialog.accept())
    leave.click()
    c.wait_for_url(f"{server.base}/")
    assert key_epoch(b, room_id) == 0
    a.goto(room_url)
    room_ready(a)
    a.wait_for_function("() => window.peerlane.room.e2e?.key?.epoch === 1", timeout=20_000)
    send_ui(a, "while you were away")
    wait_messages(b, ["while you were away"])
    assert key_epoch(b, room_id) == 1


def test_a_placeholder_opens_by_itself_when_its_key_comes_later(
    server: ServerProcess, browsers
) -> None:
    """Bob joins after a rotation while the owner is away: the history sealed under epoch
    0 shows as placeholders (no wrap of it for him yet). When the owner comes back, its
    client wraps epoch 0 to bob, the server's `keys` frame makes bob's client fetch it, and
    the placeholder turns into the message on bob's page, without a reload."""
    a, b, c = (browsers.new(n).page for n in ("alice", "bob", "carol"))
    room_id = create_room_ui(a, server.base, "alice", "Late keys")
    join_by_link_ui(c, invite_link(a), "carol")
    carol_id = me(c)
    safety_code(a, carol_id)
    send_ui(a, "before the rotation")
    wait_messages(c, ["before the rotation"])
    a.once("dialog", lambda dialog: dialog.accept())
    member_line(a, carol_id).get_by_role("button", name="Remove carol").click()
    a.wait_for_function("() => window.peerlane.room.e2e.key.epoch === 1", timeout=15_000)
    send_ui(a, "after the rotation")
    wait_messages(a, ["before the rotation", "after the rotation"])
    a.reload()
    room_ready(a)
    link = invite_link(a)  # carries epoch 1's key
    room_url = a.url
    a.goto("about:blank")  # the owner is away: nobody can wrap epoch 0 to bob

    join_by_link_ui(b, link, "bob")
    wait_messages(b, [PLACEHOLDER, "after the rotation"])
    b.evaluate("window.__page = window.peerlane.room")  # the same page throughout

    a.goto(room_url)
    room_ready(a)
    wait_messages(b, ["before the rotation", "after the rotation"], timeout=30)
    assert b.evaluate("window.__page === window.peerlane.room"), "no reload"
    assert key_epoch(b, room_id) == 1


def test_a_removal_retires_the_invites_the_removed_member_knew(server, browsers) -> None:
    """Carol saw the room's invite (link and code words). After alice removes her, the old
    code and link take nobody in (revoked, not "wrong code"); the owner is told; the new
    invite's code, sealed under the new key, is shown to bob too and bob's page alone
    answers it: dave joins by it and reads the room."""
    a, b, c, d = (browsers.new(n).page for n in ("alice", "bob", "carol", "dave"))
    create_room_ui(a, server.base, "alice", "Retire")
    old_link, old_code = invite_link(a), invite_code(a)
    join_by_link_ui(b, old_link, "bob")
    join_by_link_ui(c, old_link, "carol")
    bob_id, carol_id = me(b), me(c)
    safety_code(a, bob_id)
    safety_code(a, carol_id)
    assert invite_code(c) == old_code  # the removed member knew the words

    a.once("dialog", lambda dialog: dialog.accept())
    member_line(a, carol_id).get_by_role("button", name="Remove carol").click()
    expect(a.locator(".toast[data-code=invites_replaced]")).to_contain_text("carol knew")
    a.wait_for_function("() => window.peerlane.room.e2e.key.epoch === 1", timeout=15_000)
    new_code = a.locator("[data-testid=invite-code]")
    expect(new_code).not_to_have_text(old_code, timeout=15_000)
    code = invite_code(a)
    assert re.fullmatch(r"\d+-[a-z]+-[a-z]+", code), code
    # Bob's panel shows the new code too: it opens only with the new key, fetched on the
    # keys frame.
    expect(b.locator("[data-testid=invite-code]")).to_have_text(code, timeout=15_000)
    send_ui(a, "after carol left")
    wait_messages(b, ["after carol left"])

    # The old code: revoked, said so (no wrong-code guess counted against it).
    d.goto(f"{server.base}/")
    d.locator("#display-name").fill("carol again")
    d.locator("#join-code").fill(old_code)
    d.get_by_role("button", name="Join", exact=True).click()
    expect(d.locator("#join-error")).to_contain_text("revoked")
    # The old link too.
    d.goto(old_link)
    d.locator("#display-name").fill("carol again")
    d.get_by_role("button", name="Join room").click()
    expect(d.get_by_role("alert").filter(has_text="revoked")).to_be_visible(timeout=15_000)

    # The new code, with only bob online to answer it.
    a.goto("about:blank")
    join_by_code_ui(d, server.base, code, "dave")
    wait_messages(d, ["after carol left"])
