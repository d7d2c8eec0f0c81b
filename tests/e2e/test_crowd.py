"""A room beyond the mesh limit (issue #9, "also expected"): 12 participants -- 4
browsers and 8 protocol clients (WebSocket clients of tests/support.py; the machine
could not carry 12 Chromiums) -- in a room with ``mesh_limit`` 2, so 3 browsers form a
full mesh and the 4th, like the protocol clients, goes through the server only.
Everyone chats at once for ``PEERLANE_E2E_CROWD_SECONDS`` (default 60, the issue's
minute; about 2 minutes in all); then every participant must
hold every message exactly once, in one order: the server's seq order.

Which browsers link directly follows the mesh rule (docs/web-client.md, "Direct
links"): the mesh_limit + 1 smallest peer ids of the room. Peer ids are random, so the
protocol clients take ids that sort after the browsers': before any browser joins, each
connects again until its id starts with one of the last letters (``w``-``z``), and once
the browsers are in, one whose id still sorts before the third browser's (rare) does it
again.

That messages really travel both ways is checked independently of the client: an init
script counts the ``chat`` frames arriving on each page's "chat" data channels.
"""

from __future__ import annotations

import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import MESSAGE, PEER, join_by_link_ui, wait_js
from support import Member, Peer, ServerProcess, create_room, join, link_token

pytestmark = pytest.mark.browser

CROWD_SECONDS = float(os.environ.get("PEERLANE_E2E_CROWD_SECONDS", "60"))
SEND_EVERY = 1.0  # seconds between one participant's messages, on average (0.5-1.5)
BROWSERS = 4
CLIENTS = 8
MESH_LIMIT = 2  # the 3 smallest peer ids form the mesh
HIGH_FIRST = "wxyz"  # base64url ids: these first letters sort after nearly every other id
DRAIN_SECONDS = 30  # after the chat: time for the last messages to reach everyone

# Counts the chat messages each page receives over its "chat" data channels (the mesh's,
# pre-negotiated: made with createDataChannel on both ends).
DATA_CHANNEL_TAP = """
(() => {
  window.__dcChats = 0;
  const create = RTCPeerConnection.prototype.createDataChannel;
  RTCPeerConnection.prototype.createDataChannel = function (...args) {
    const channel = create.apply(this, args);
    if (channel.label === 'chat') {
      channel.addEventListener('message', (ev) => {
        try {
          if (typeof ev.data === 'string' && JSON.parse(ev.data).t === 'chat') window.__dcChats++;
        } catch {}
      });
    }
    return channel;
  };
})();
"""

# In the page: send a message every 0.5-1.5 x `every` seconds for `seconds`; the ids sent
# end in window.__crowd.sent, and window.__crowd.done says it is over.
BROWSER_TALK = """
({seconds, every, name}) => {
  const room = window.peerlane.room;
  const crowd = (window.__crowd = {sent: [], done: false});
  const end = Date.now() + seconds * 1000;
  let n = 0;
  const tick = () => {
    if (Date.now() >= end) {
      crowd.done = true;
      return;
    }
    crowd.sent.push(room.send(`${name} says ${n++}`).id);
    setTimeout(tick, every * 1000 * (0.5 + Math.random()));
  };
  setTimeout(tick, every * 1000 * Math.random());
}
"""

# [sender, id, seq] of the room's messages as the page's client holds them, in its order.
BROWSER_MESSAGES = "() => window.peerlane.room.messages.map((m) => [m.sender, m.id, m.seq])"


@dataclass
class Client:
    """A protocol client of the room: its connection, what it sent and what it got."""

    name: str
    member: Member
    peer: Peer
    sent: list[str] = field(default_factory=list)
    got: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def take(self, message: dict[str, Any]) -> None:
        if message["type"] == "message":
            self.got.append(message)
        elif message["type"] == "error":
            self.errors.append(message)


def connect_high(server: ServerProcess, member: Member, above: str = "") -> Peer:
    """A connection whose peer id sorts after ``above`` and starts with one of
    HIGH_FIRST (each try is a new connection with a new random id)."""
    for _ in range(500):
        # Unbounded incoming queue: frames (and pongs) are read even while nobody calls
        # recv (the presence of every other try piles up meanwhile).
        peer = Peer(server, member, max_queue=None)
        if peer.peer_id[0] in HIGH_FIRST and peer.peer_id > above:
            return peer
        peer.close()
    raise AssertionError("no high peer id in 500 connections")


def talk(client: Client, until: float, rng: random.Random) -> None:
    """Send a chat every 0.5-1.5 x SEND_EVERY until ``until``, taking in what arrives."""
    peer = client.peer
    for message in peer.inbox:
        client.take(message)
    peer.inbox.clear()
    next_send = time.monotonic() + rng.uniform(0, SEND_EVERY)
    while (now := time.monotonic()) < until:
        if now >= next_send:
            chat_id = f"{client.name}-{len(client.sent)}"
            peer.send({"type": "chat", "id": chat_id, "body": f"{client.name} says {chat_id}"})
            client.sent.append(chat_id)
            next_send += SEND_EVERY * rng.uniform(0.5, 1.5)
            continue
        try:
            client.take(peer.recv(timeout=min(next_send, until) - now))
        except TimeoutError:
            continue


def drain(client: Client, total: int, deadline: float) -> None:
    """Take in messages until ``total`` have arrived (or the deadline)."""
    while len(client.got) < total and (left := deadline - time.monotonic()) > 0:
        try:
            client.take(client.peer.recv(timeout=left))
        except TimeoutError:
            break


def server_history(server: ServerProcess, member: Member) -> list[dict[str, Any]]:
    """Every message of the room, by seq, read page by page."""
    out: list[dict[str, Any]] = []
    with httpx.Client(base_url=server.base, headers=member.auth, timeout=10) as http:
        while True:
            r = http.get(
                f"/api/rooms/{member.room_id}/messages",
                params={"after": out[-1]["seq"] if out else 0, "limit": 100},
            )
            assert r.status_code == 200, r.text
            page = r.json()
            out.extend(page["messages"])
            if not page["has_more"]:
                return out


def test_twelve_participants_beyond_the_mesh_limit_see_one_order(server_factory, browsers) -> None:
    started = time.monotonic()
    # Everyone comes from 127.0.0.1, and the protocol clients reconnect until their peer
    # ids sort last: the per-address and per-participant socket limits would refuse that.
    server = server_factory(
        PEERLANE_MESH_LIMIT=str(MESH_LIMIT),
        PEERLANE_IP_CONNECTS_PER_MINUTE="100000",
        PEERLANE_PARTICIPANT_CONNECTS_PER_MINUTE="100000",
    )

    # The protocol clients first: one creates the room, all take high peer ids.
    with httpx.Client(base_url=server.base, timeout=10) as http:
        owner = create_room(http, "bot0")
        token = link_token(owner)
        members = [owner] + [join(http, f"bot{i}", token=token) for i in range(1, CLIENTS)]
    clients = [
        Client(f"bot{i}", member, connect_high(server, member)) for i, member in enumerate(members)
    ]

    pages: list[Page] = []
    for i in range(BROWSERS):
        browser = browsers.new(f"web{i}")
        browser.context.add_init_script(DATA_CHANNEL_TAP)
        pages.append(browser.page)
        join_by_link_ui(browser.page, f"{server.base}/join#{token}", f"web{i}")
    peer_ids = [str(p.evaluate("window.peerlane.room.me.peer_id")) for p in pages]
    in_mesh = sorted(peer_ids)[: MESH_LIMIT + 1]
    highest_in_mesh = in_mesh[-1]
    for client in clients:
        if client.peer.peer_id < highest_in_mesh:  # rare: it would take a mesh place
            client.peer.close()
            client.peer = connect_high(server, client.member, above=highest_in_mesh)
    meshed = [p for p, pid in zip(pages, peer_ids, strict=True) if pid in in_mesh]
    (alone,) = [p for p, pid in zip(pages, peer_ids, strict=True) if pid not in in_mesh]

    # Everyone sees all 11 others; the mesh is up: 2 direct peers each, none for the 4th.
    for page in pages:
        expect(page.locator(PEER)).to_have_count(BROWSERS + CLIENTS - 1, timeout=30_000)
    for page in meshed:
        expect(page.locator(f"{PEER}[data-path=direct]")).to_have_count(MESH_LIMIT, timeout=30_000)
    assert alone.evaluate("window.peerlane.room.directCount") == 0
    ready = time.monotonic()

    # Everyone chats at once for CROWD_SECONDS.
    for page, name in zip(pages, [f"web{i}" for i in range(BROWSERS)], strict=True):
        page.evaluate(BROWSER_TALK, {"seconds": CROWD_SECONDS, "every": SEND_EVERY, "name": name})
    until = time.monotonic() + CROWD_SECONDS
    with ThreadPoolExecutor(len(clients)) as pool:
        for future in [
            pool.submit(talk, c, until, random.Random(i)) for i, c in enumerate(clients)
        ]:
            future.result()
    sent_by_page = [
        wait_js(p, "() => window.__crowd.done && window.__crowd.sent", what="the page's chat over")
        for p in pages
    ]
    chatted = time.monotonic()

    # What was sent: (participant, id) pairs, each once.
    sent = {(c.member.participant_id, chat_id) for c in clients for chat_id in c.sent}
    for page, ids in zip(pages, sent_by_page, strict=True):
        me = str(page.evaluate("window.peerlane.room.me.participant_id"))
        sent |= {(me, chat_id) for chat_id in ids}
    total = sum(len(c.sent) for c in clients) + sum(len(ids) for ids in sent_by_page)
    assert len(sent) == total

    # Every participant ends with every message once, in the same order.
    deadline = time.monotonic() + DRAIN_SECONDS
    with ThreadPoolExecutor(len(clients)) as pool:
        for future in [pool.submit(drain, c, total, deadline) for c in clients]:
            future.result()
    for page in pages:
        wait_js(
            page,
            "(total) => { const m = window.peerlane.room.messages;"
            " return m.length >= total && m.every((x) => x.seq !== null); }",
            total,
            timeout=max(1.0, deadline - time.monotonic()),
            what=f"{total} messages, all numbered by the server",
        )

    stored = server_history(server, owner)
    order = [(m["sender"], m["id"]) for m in stored]
    assert len(order) == total, (len(order), total)
    assert set(order) == sent, "the server holds exactly what was sent"
    assert [m["seq"] for m in stored] == list(range(stored[0]["seq"], stored[0]["seq"] + total))

    for client in clients:
        assert not client.errors, (client.name, client.errors[:3])
        got = [(m["sender"], m["id"]) for m in client.got]
        assert got == order, f"{client.name}: {len(got)} messages, not the server's order"
    for page, name in zip(pages, [f"web{i}" for i in range(BROWSERS)], strict=True):
        held = page.evaluate(BROWSER_MESSAGES)
        assert [(s, i) for s, i, _ in held] == order, f"{name}: not the server's order"
        assert [seq for _, _, seq in held] == [m["seq"] for m in stored], name
        # The list is virtualized: the rows in view, stuck to the newest, are the tail of
        # the same order (each once).
        rows = page.locator(MESSAGE).evaluate_all("(rows) => rows.map((r) => r.dataset.id)")
        ids = [chat_id for _, chat_id in order]
        assert rows, name
        assert rows == ids[len(ids) - len(rows) :], f"{name}: rendered rows differ: {rows}"

    # Both ways were used: chat frames came over data channels in the mesh, none elsewhere.
    over_channels = [int(p.evaluate("window.__dcChats")) for p in meshed]
    assert all(n > 0 for n in over_channels), over_channels
    assert alone.evaluate("window.__dcChats") == 0

    print(
        json.dumps(
            {
                "participants": BROWSERS + CLIENTS,
                "chat_seconds": CROWD_SECONDS,
                "messages": total,
                "chat_frames_over_data_channels": over_channels,
                "setup_s": round(ready - started, 1),
                "chat_s": round(chatted - ready, 1),
                "check_s": round(time.monotonic() - chatted, 1),
                "total_s": round(time.monotonic() - started, 1),
            }
        )
    )
