"""A server restart keeps the direct links: the same RTCPeerConnection carries the chat
before, during and after, and the status never says "Offline" (docs/protocol.md,
"Resuming a peer id")."""

from __future__ import annotations

import signal
import time

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import (
    PEER,
    STATUS,
    create_room_ui,
    invite_link,
    join_by_link_ui,
    send_ui,
    wait_js,
    wait_messages,
    wait_online,
)

pytestmark = pytest.mark.browser

# Every text the status shows from now on, in order (a MutationObserver: nothing missed).
WATCH_STATUS_JS = """
(selector) => {
  const node = document.querySelector(selector);
  window.__statusSeen = [node.textContent];
  new MutationObserver(() => window.__statusSeen.push(node.textContent))
    .observe(node, {childList: true, characterData: true, subtree: true});
}
"""

# My peer id, the connections the mesh made so far, and each link's connection number.
MESH_JS = """
() => {
  const mesh = window.peerlane.room._links.mesh;
  const serials = {};
  for (const id of mesh.peers.keys()) serials[id] = mesh.linkSerial?.(id) ?? null;
  return {self: mesh.selfPeerId, made: mesh.connectionsMade ?? null, serials, open: mesh.openCount};
}
"""

# Keep the RTCPeerConnection objects of the mesh's links, to compare by identity later.
KEEP_PCS_JS = """
() => {
  const mesh = window.peerlane.room._links.mesh;
  window.__pcs = [...mesh._links.values()].map((link) => link.pc);
  return window.__pcs.length;
}
"""

# How many of the kept RTCPeerConnection objects still carry a link of the mesh.
SAME_PCS_JS = """
() => {
  const mesh = window.peerlane.room._links.mesh;
  const now = [...mesh._links.values()].map((link) => link.pc);
  return window.__pcs.filter((pc) => now.includes(pc)).length;
}
"""


def mesh_state(page: Page) -> dict:
    state: dict = page.evaluate(MESH_JS)
    return state


@pytest.mark.parametrize("how", ["restart", "kill"])
def test_direct_links_survive_a_server_restart(server, browsers, how: str) -> None:
    a, b = browsers.new("alice").page, browsers.new("bob").page
    create_room_ui(a, server.base, "alice")
    join_by_link_ui(b, invite_link(a), "bob")
    for page in (a, b):
        expect(page.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=20_000)
        page.evaluate(WATCH_STATUS_JS, STATUS)
    send_ui(a, "before from alice")
    for page in (a, b):
        wait_messages(page, ["before from alice"])
    before = [mesh_state(a), mesh_state(b)]
    assert [page.evaluate(KEEP_PCS_JS) for page in (a, b)] == [1, 1]

    server.stop(signal.SIGTERM if how == "restart" else signal.SIGKILL)
    for page in (a, b):
        expect(page.locator(STATUS)).to_have_text(
            "Reconnecting to the server — chatting directly with 1 person", timeout=20_000
        )
    send_ui(b, "during from bob")
    for page in (a, b):
        wait_messages(page, ["before from alice", "during from bob"])

    server.start()  # same port, same data directory: ready when this returns
    back = time.monotonic()
    online = []
    for page in (a, b):
        wait_online(page)
        online.append(time.monotonic() - back)
    for page in (a, b):
        expect(page.locator(STATUS)).to_have_text("Connected to 1 person directly")
    connected = time.monotonic() - back
    send_ui(a, "after from alice")
    bodies = ["before from alice", "during from bob", "after from alice"]
    for page in (a, b):
        wait_messages(page, bodies)
        wait_js(
            page,
            "() => window.peerlane.room.messages.every((m) => m.seq !== null)",
            what="every message stored",
        )
    after = [mesh_state(a), mesh_state(b)]
    print(
        f"{how}: server ready -> online {online[0]:.2f} s / {online[1]:.2f} s; "
        f"-> both 'Connected to 1 person directly' {connected:.2f} s"
    )
    # The same peer ids, the same RTCPeerConnection for each link, none made since.
    assert [page.evaluate(SAME_PCS_JS) for page in (a, b)] == [1, 1]
    assert after == before
    for page in (a, b):
        seen = page.evaluate("() => window.__statusSeen")
        assert not any(text.startswith("Offline") for text in seen), seen
