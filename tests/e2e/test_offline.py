"""The server goes away: direct chat goes on, and the outbox lands exactly once."""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import (
    MESSAGE,
    PEER,
    STATUS,
    create_room_ui,
    history,
    invite_link,
    join_by_link_ui,
    rendered,
    room_ready,
    send_ui,
    wait_js,
    wait_messages,
    wait_online,
)

pytestmark = pytest.mark.browser

ALL_NUMBERED = "() => window.peerlane.room.messages.every((m) => m.seq !== null)"


def two_in_a_room(server, browsers) -> tuple[str, Page, Page]:
    a, b = browsers.new("alice").page, browsers.new("bob").page
    room_id = create_room_ui(a, server.base, "alice")
    join_by_link_ui(b, invite_link(a), "bob")
    for page in (a, b):
        expect(page.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=20_000)
    return room_id, a, b


def assert_exactly_once(pages: list[Page], room_id: str, bodies: list[str]) -> None:
    """In the server's history and on every page: each body once, the same order."""
    for page in pages:
        wait_messages(page, bodies, timeout=30)
        wait_js(page, ALL_NUMBERED, timeout=30, what="every message numbered by the server")
    stored = history(pages[0], room_id)
    counts = Counter(m["body"] for m in stored)
    assert {body: counts[body] for body in bodies} == dict.fromkeys(bodies, 1), stored
    assert len(stored) == len(bodies), stored
    ids = [m["id"] for m in stored]
    for page in pages:
        assert [r["id"] for r in rendered(page)] == ids


def test_server_killed_direct_chat_continues_and_lands_once(server, browsers) -> None:
    started = time.monotonic()
    room_id, a, b = two_in_a_room(server, browsers)
    send_ui(a, "before 1 from alice")
    send_ui(b, "before 2 from bob")
    before = ["before 1 from alice", "before 2 from bob"]
    for page in (a, b):
        wait_messages(page, before)

    server.kill()  # SIGKILL: no goodbye on any socket
    for page in (a, b):
        expect(page.locator(STATUS)).to_have_text(
            "Reconnecting to the server — chatting directly with 1 person", timeout=20_000
        )
    during = []
    for i in range(3):
        for page, name in ((a, "alice"), (b, "bob")):
            body = f"during {i} from {name}"
            send_ui(page, body)
            during.append(body)
    # They arrive on the other side over the data channel, the server being down.
    for page in (a, b):
        wait_messages(page, before + during)
    for page in (a, b):
        mine = [r for r in rendered(page) if r["text"] and "during" in r["text"]]
        assert {r["seq"] for r in mine} == {""}, mine  # not numbered yet
    outage = time.monotonic()

    server.start()  # same port, same data directory
    for page in (a, b):
        wait_online(page)
    assert_exactly_once([a, b], room_id, before + during)
    for page in (a, b):
        expect(page.locator(STATUS)).to_contain_text("Connected")
    print(
        f"outage {time.monotonic() - outage:.1f} s until everything was stored; "
        f"total {time.monotonic() - started:.1f} s"
    )


class SocketGate:
    """Playwright WebSocket routing for one browser: while open, the room WebSocket goes
    through to the server; ``cut()`` drops the live one and refuses new ones. (The routing
    works by replacing window.WebSocket in new documents: install it before navigating.)"""

    def __init__(self, context) -> None:
        self.open = True
        self.live: list[Any] = []
        context.route_web_socket(re.compile(r"/api/rooms/[^/]+/ws(\?[^/]*)?$"), self._route)

    def _route(self, ws) -> None:
        if self.open:
            ws.connect_to_server()
            self.live.append(ws)
        else:
            ws.close(code=1011, reason="test: websocket unavailable")

    def cut(self) -> None:
        self.open = False
        for ws in self.live:
            ws.close(code=1011, reason="test: websocket unavailable")
        self.live.clear()


def test_reload_with_queued_outbox_delivers_each_once(server, browsers) -> None:
    """alice's WebSocket becomes unavailable (HTTP still works), she sends 3 messages
    (they stay "sending" in the IndexedDB outbox), reloads, and then the WebSocket comes
    back: each message lands exactly once, in history and on bob's page."""
    started = time.monotonic()
    # alice cannot connect directly either: nobody but the server could take her messages
    a, b = browsers.new("alice", p2p=False).page, browsers.new("bob").page
    gate = SocketGate(a.context)
    room_id = create_room_ui(a, server.base, "alice")
    join_by_link_ui(b, invite_link(a), "bob")
    send_ui(b, "hi from bob")
    for page in (a, b):
        wait_messages(page, ["hi from bob"])

    gate.cut()
    wait_js(a, "() => window.peerlane.room.serverState === 'offline'", what="alice offline")
    queued = [f"queued {i} from alice" for i in range(3)]
    for body in queued:
        send_ui(a, body)
    rows = wait_messages(a, ["hi from bob", *queued])
    assert [r["state"] for r in rows if "queued" in r["text"]] == ["sending"] * 3, rows

    a.reload()
    room_ready(a, online=False)
    # After the reload the three come back from the outbox, still "sending".
    rows = wait_messages(a, ["hi from bob", *queued])
    assert [r["state"] for r in rows if "queued" in r["text"]] == ["sending"] * 3, rows
    assert a.evaluate("window.peerlane.room.serverState") != "online"

    gate.open = True  # the next reconnect attempt gets through
    wait_online(a)
    assert_exactly_once([a, b], room_id, ["hi from bob", *queued])
    for page in (a, b):
        assert page.locator(MESSAGE).count() == 4
    print(f"total {time.monotonic() - started:.1f} s")
