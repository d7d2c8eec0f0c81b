"""Edit, delete and reply in the browser (issue #10): what each person sees, on every
device, after a reload, and when the change was made while the server was away."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import Page, expect
from websockets.sync.client import connect

from e2e.helpers import (
    MESSAGE,
    PEER,
    create_room_ui,
    history,
    invite_link,
    join_by_link_ui,
    room_ready,
    send_ui,
    wait_js,
    wait_online,
)
from e2e.test_offline import SocketGate
from support import create_room

pytestmark = pytest.mark.browser

BOX = "#message-input"


def two_in_a_room(server, browsers, **alice: bool) -> tuple[str, Page, Page, SocketGate]:
    a = browsers.new("alice", **alice).page
    gate = SocketGate(a.context)
    b = browsers.new("bob").page
    room_id = create_room_ui(a, server.base, "alice")
    join_by_link_ui(b, invite_link(a), "bob")
    return room_id, a, b, gate


def row(page: Page, text: str):
    return page.locator(MESSAGE).filter(has_text=text)


def numbered(page: Page, text: str) -> int:
    r = row(page, text)
    expect(r).to_have_attribute("data-seq", re.compile(r"^\d+$"))
    return int(r.get_attribute("data-seq") or 0)


def test_edit_own_message_everyone_sees_the_new_words(server, browsers) -> None:
    _, a, b, _ = two_in_a_room(server, browsers)
    send_ui(a, "see you at 7")
    numbered(a, "see you at 7")
    expect(row(b, "see you at 7")).to_have_count(1)
    # Only one's own messages offer Edit and Delete; everyone's offer Reply.
    expect(row(b, "see you at 7").locator("[data-action=edit]")).to_have_count(0)
    expect(row(b, "see you at 7").locator("[data-action=delete]")).to_have_count(0)
    expect(row(b, "see you at 7").locator("[data-action=reply]")).to_have_count(1)

    # Keyboard only: focus Edit, Enter; the box takes the words; Escape gives the draft back.
    a.locator(BOX).fill("a draft")
    row(a, "see you at 7").locator("[data-action=edit]").focus()
    a.keyboard.press("Enter")
    expect(a.locator(BOX)).to_have_value("see you at 7")
    expect(a.locator(BOX)).to_be_focused()
    expect(a.locator(".composer-mode")).to_contain_text("Editing")
    a.keyboard.press("Escape")
    expect(a.locator(BOX)).to_have_value("a draft")
    expect(a.locator(".composer-mode")).to_be_hidden()

    row(a, "see you at 7").locator("[data-action=edit]").click()
    a.locator(BOX).fill("see you at 8")
    a.locator(BOX).press("Enter")
    expect(a.locator(BOX)).to_have_value("a draft")
    for page in (a, b):
        changed = row(page, "see you at 8")
        expect(changed).to_have_count(1)
        expect(changed.locator(".msg-edited")).to_contain_text("edited")
        expect(changed.locator(".msg-edited")).to_have_attribute("title", re.compile(r"^Edited "))
        expect(row(page, "see you at 7")).to_have_count(0)
        expect(page.locator(MESSAGE)).to_have_count(1)


def test_delete_asks_first_and_stays_deleted_after_a_reload(server, browsers) -> None:
    room_id, a, b, _ = two_in_a_room(server, browsers)
    send_ui(a, "sent by mistake")
    send_ui(a, "this one stays")
    seq = numbered(a, "sent by mistake")
    expect(row(b, "sent by mistake")).to_have_count(1)

    mistake = row(a, "sent by mistake")
    mistake.locator("[data-action=delete]").focus()
    a.keyboard.press("Enter")
    expect(mistake.locator(".msg-confirm")).to_contain_text("Delete this message")
    expect(mistake.locator("[data-action=cancel-delete]")).to_be_focused()
    a.keyboard.press("Escape")  # No
    expect(mistake.locator(".msg-confirm")).to_have_count(0)
    expect(mistake.locator("[data-action=delete]")).to_be_focused()
    expect(row(b, "sent by mistake")).to_have_count(1)

    mistake.locator("[data-action=delete]").click()
    mistake.locator("[data-action=confirm-delete]").click()
    for page in (a, b):
        gone = page.locator(f"{MESSAGE}[data-seq='{seq}']")
        expect(gone).to_contain_text("Message deleted")
        expect(row(page, "sent by mistake")).to_have_count(0)
        # A deleted message offers nothing: no react, edit, reply or delete.
        expect(gone.locator("button")).to_have_count(0)
        expect(row(page, "this one stays")).to_have_count(1)

    b.reload()
    room_ready(b)
    expect(b.locator(f"{MESSAGE}[data-seq='{seq}']")).to_contain_text("Message deleted")
    expect(row(b, "sent by mistake")).to_have_count(0)
    stored = {m["seq"]: m for m in history(b, room_id)}
    assert stored[seq]["body"] is None, stored[seq]
    assert stored[seq]["deleted_at"], stored[seq]


def test_reply_quotes_the_original_and_says_when_it_was_deleted(server, browsers) -> None:
    room_id, a, b, _ = two_in_a_room(server, browsers)
    send_ui(a, "lunch at noon?\nor later")
    seq = numbered(a, "lunch at noon?")
    original = row(b, "lunch at noon?")
    original.locator("[data-action=reply]").click()
    bar = b.locator(".composer-mode")
    expect(bar).to_contain_text("Replying to alice: lunch at noon?")
    expect(bar).not_to_contain_text("or later")  # the first line only
    expect(b.locator(BOX)).to_be_focused()
    b.keyboard.type("noon works")
    b.keyboard.press("Enter")
    expect(bar).to_be_hidden()
    for page in (a, b):
        reply = row(page, "noon works")
        expect(reply.locator(".msg-quote")).to_contain_text("alice")
        expect(reply.locator(".msg-quote")).to_contain_text("lunch at noon?")
    wait_js(b, "() => window.peerlane.room.messages.every((m) => m.seq !== null)")
    stored = [m for m in history(b, room_id) if m["body"] == "noon works"]
    assert stored, stored
    assert stored[0]["ref"] == seq, stored

    # Cancel: the bar's button and Escape.
    row(b, "noon works").locator("[data-action=reply]").click()
    expect(bar).to_be_visible()
    b.keyboard.press("Escape")
    expect(bar).to_be_hidden()

    row(a, "lunch at noon?").locator("[data-action=delete]").click()
    row(a, "lunch at noon?").locator("[data-action=confirm-delete]").click()
    for page in (a, b):
        quote = row(page, "noon works").locator(".msg-quote")
        expect(quote).to_contain_text("Message deleted")
        expect(quote).not_to_contain_text("lunch")


def fill(server, count: int) -> dict:
    """``count`` messages, then a reply to the first, from a bearer-token participant."""
    with httpx.Client(base_url=server.base, timeout=10) as http:
        owner = create_room(http, "loader")
    with connect(
        server.ws_url(owner.room_id), additional_headers=owner.auth, open_timeout=10
    ) as ws:
        ws.send(json.dumps({"type": "hello", "v": 1}))
        chats = [{"id": f"h{i:04d}", "body": f"history message {i}"} for i in range(count)]
        chats.append({"id": "reply", "body": "answering the very first", "ref": 1})
        for chat in chats:
            ws.send(json.dumps({"type": "chat", **chat}))
            while (answer := json.loads(ws.recv(timeout=30)))["type"] != "ack":
                assert answer["type"] != "error", answer
    return owner.body


def test_a_quote_jumps_to_an_original_not_loaded_yet(server_factory, browsers) -> None:
    server = server_factory(
        PEERLANE_MESSAGE_BURST="100000",
        PEERLANE_PARTICIPANT_MESSAGE_BURST="100000",
        PEERLANE_IP_MESSAGE_BURST="100000",
    )
    body = fill(server, 160)  # three history pages and more: seq 1 is far from loaded
    page = browsers.new("reader").page
    join_by_link_ui(page, body["invite"]["link"], "reader")
    reply = row(page, "answering the very first")
    expect(reply).to_be_visible()
    assert page.evaluate("window.peerlane.room.message(1)") is None
    quote = reply.locator(".msg-quote")
    quote.focus()
    page.keyboard.press("Enter")
    first = page.locator(f"{MESSAGE}[data-seq='1']")
    expect(first).to_contain_text("history message 0", timeout=20_000)
    expect(first).to_be_in_viewport()
    expect(first).to_have_class(re.compile(r"\bflash\b"))
    expect(first.locator(".msg")).to_be_focused()
    rows = page.locator(MESSAGE).count()
    assert rows < 200, rows  # still virtualized
    # Now loaded, the quote names the original's sender.
    page.locator("pl-message-list").evaluate("(el) => el.scrollToBottom()")
    expect(reply.locator(".msg-quote")).to_contain_text("loader")
    expect(reply.locator(".msg-quote")).to_contain_text("history message 0")
    # Scrolled out of view (not far: loaded), the jump brings it back.
    reply.locator(".msg-quote").click()
    expect(first).to_be_in_viewport()


def test_an_edit_made_offline_survives_a_reload_and_reaches_everyone(server, browsers) -> None:
    # alice reaches nobody but the server: her edit has to wait in her outbox.
    room_id, a, b, gate = two_in_a_room(server, browsers, p2p=False)
    send_ui(a, "first words")
    seq = numbered(a, "first words")
    expect(row(b, "first words")).to_have_count(1)
    expect(b.locator(PEER)).to_have_count(1)

    gate.cut()
    wait_js(a, "() => window.peerlane.room.serverState === 'offline'", what="alice offline")
    row(a, "first words").locator("[data-action=edit]").click()
    a.locator(BOX).fill("second thoughts")
    a.locator(BOX).press("Enter")
    expect(row(a, "second thoughts")).to_have_count(1)  # shown at once, waiting
    wait_js(
        a,
        "async () => (await window.peerlane.room._outbox.read()).some((i) => i.kind === 'edit')",
        what="the edit in the IndexedDB outbox",
    )

    a.reload()
    room_ready(a, online=False)
    expect(row(a, "second thoughts")).to_have_count(1)  # from the outbox, after the reload
    expect(row(b, "first words")).to_have_count(1)

    gate.open = True
    wait_online(a)
    for page in (a, b):
        changed = page.locator(f"{MESSAGE}[data-seq='{seq}']")
        expect(changed).to_contain_text("second thoughts", timeout=20_000)
        expect(changed.locator(".msg-edited")).to_have_count(1)
    stored = {m["seq"]: m for m in history(b, room_id)}
    assert stored[seq]["body"] == "second thoughts", stored[seq]
    assert stored[seq]["edited_at"], stored[seq]
    edits = [m for m in stored.values() if m["kind"] == "edit"]
    assert len(edits) == 1, edits
