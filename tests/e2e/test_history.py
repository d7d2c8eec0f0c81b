"""A long history: the message list stays virtualized and pages older messages in."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from e2e.helpers import MESSAGE, join_by_link_ui, rendered, wait_js
from support import create_room

pytestmark = pytest.mark.browser

COUNT = 10_000
PAGE = 50  # chat.js PAGE_SIZE
MAX_ROWS = 200


def fill_history(server, count: int, window: int = 200) -> dict:
    """``count`` messages from a bearer-token participant over one WebSocket, pipelined
    (at most ``window`` unacknowledged); returns the create-room response body."""
    with httpx.Client(base_url=server.base, timeout=10) as http:
        owner = create_room(http, "loader")
    # No keep-alive pings: a server busy storing thousands of messages answers late.
    with connect(
        server.ws_url(owner.room_id),
        additional_headers=owner.auth,
        open_timeout=10,
        ping_interval=None,
        max_size=None,
    ) as ws:
        ws.send(json.dumps({"type": "hello", "v": 1}))
        sent = acked = 0
        while acked < count:
            while sent < count and sent - acked < window:
                ws.send(
                    json.dumps(
                        {"type": "chat", "id": f"h{sent:05d}", "body": f"history message {sent}"}
                    )
                )
                sent += 1
            message = json.loads(ws.recv(timeout=60))
            if message["type"] == "error":
                raise AssertionError(f"server refused a history message: {message}")
            acked += message["type"] == "ack"
    return owner.body


def test_ten_thousand_messages_stay_virtualized(server_factory, browsers) -> None:
    server = server_factory(
        PEERLANE_MESSAGES_PER_SECOND="100000",
        PEERLANE_MESSAGE_BURST="100000",
        PEERLANE_PARTICIPANT_MESSAGES_PER_SECOND="100000",
        PEERLANE_PARTICIPANT_MESSAGE_BURST="100000",
        PEERLANE_IP_MESSAGES_PER_SECOND="100000",
        PEERLANE_IP_MESSAGE_BURST="100000",
    )
    started = time.monotonic()
    body = fill_history(server, COUNT)
    filled = time.monotonic() - started

    page = browsers.new("reader").page
    join_by_link_ui(page, body["invite"]["link"], "reader")
    log = page.locator("pl-message-list")
    # the newest page is loaded and the newest message shown; few rows exist
    expect(log).to_have_attribute("data-total", str(PAGE))
    expect(page.locator(MESSAGE).filter(has_text=f"history message {COUNT - 1}")).to_be_visible()
    rows = page.locator(MESSAGE).count()
    assert 0 < rows < MAX_ROWS, rows

    # Scroll up again and again: each time older pages come in, the DOM stays small.
    total = PAGE
    for _ in range(6):
        log.evaluate("(el) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
        total = int(
            wait_js(
                page,
                "(before) => { const n = Number(document.querySelector('pl-message-list')"
                ".dataset.total); return n > before && n; }",
                total,
                what="an older page loaded",
            )
        )
        rows = page.locator(MESSAGE).count()
        assert rows < MAX_ROWS, f"{rows} message rows in the DOM with {total} loaded"
    assert total >= 4 * PAGE, total
    # the rendered rows are a contiguous run of seqs, in order
    seqs = [int(r["seq"]) for r in rendered(page)]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    assert seqs[0] <= COUNT - total + 2 * MAX_ROWS, (seqs[0], total)
    held = page.evaluate("window.peerlane.room.messages.length")
    assert held == total, (held, total)
    print(f"filled {COUNT} in {filled:.1f} s; total {time.monotonic() - started:.1f} s")
