"""Browsers and a terminal peer behind nginx (deploy/nginx/peerlane-lb.conf) in front of
two peerlane instances on shared PostgreSQL, Redis and files directory (issue #14).

Two Chromiums whose room sockets are on different instances (each instance's presence
entry in Redis names it, and /readyz shows each instance's id) chat both ways, each
message rendered exactly once, and send a file peer to peer (the WebRTC signaling
crosses instances through Redis; the download's SHA-256 is checked). A ``peerlane
chat`` terminal in the same room chats with them. Then the instance under one browser
is killed (SIGKILL): that browser reconnects through nginx to the survivor, a message
typed while it was cut off is delivered, and every message is stored and rendered
exactly once, in the server's order, on every side.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from balancer import Cluster
from e2e.helpers import (
    MESSAGE,
    PEER,
    accept_ui,
    create_room_ui,
    history,
    invite_link,
    join_by_link_ui,
    offer_files_ui,
    random_file,
    save_received_ui,
    send_ui,
    sha256_file,
    wait_js,
    wait_online,
    wait_transfer,
)
from support import ServerProcess, wait_until
from terminal import Terminal

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PEER_ID_JS = "() => window.peerlane.room.me.peer_id"


def holder(cluster: Cluster, page: Page, room_id: str) -> ServerProcess:
    """The instance holding the page's room socket (once its presence entry is in Redis)."""
    return wait_until(  # type: ignore[no-any-return]
        lambda: cluster.holder(room_id, page.evaluate(PEER_ID_JS)),
        what="the page's socket in the room's presence",
    )


# Drop the page's room socket and reconnect at once (the client's own "retry now"): a
# new socket through nginx, with no page load whose requests would shift the round robin
# (a service worker serves a reloaded page from its cache, a varying number of requests).
RECONNECT_JS = """() => {
  const outer = window.peerlane.room._server.signaling;
  const signaling = outer._inner ?? outer;  // e2e/room-crypto.js wraps it in some rooms
  signaling._drop('test: reconnect through the balancer');
  signaling.reconnectNow();
}"""


def on_different_instances(
    cluster: Cluster, first: Page, second: Page, room_id: str
) -> tuple[ServerProcess, ServerProcess]:
    """Reconnect ``second``'s socket until it is on another instance than ``first``'s;
    both holders, read after the move. nginx deals new connections round-robin: one
    extra request between tries changes which instance the next socket gets."""
    with httpx.Client(base_url=cluster.nginx.base) as nudge:
        for attempt in range(8):
            first_on, second_on = holder(cluster, first, room_id), holder(cluster, second, room_id)
            if first_on is not second_on:
                return first_on, second_on
            if attempt % 2:
                nudge.get("/healthz")
            second.evaluate(RECONNECT_JS)
            wait_online(second)
    raise AssertionError("the two browsers never landed on different instances")


def rendered_once(page: Page, bodies: list[str]) -> list[str]:
    """Wait until the page shows exactly ``bodies``, each once, all stored; the ids in order."""
    expect(page.locator(MESSAGE)).to_have_count(len(bodies), timeout=30_000)
    for body in bodies:
        expect(page.locator(MESSAGE).filter(has_text=body)).to_have_count(1)
    wait_js(page, "() => window.peerlane.room.messages.every((m) => m.seq !== null)")
    return [str(i) for i in page.locator(MESSAGE).evaluate_all("(r) => r.map((x) => x.dataset.id)")]


def test_browsers_and_a_terminal_behind_nginx_survive_losing_an_instance(
    cluster_of: Callable[..., Cluster], browsers, tmp_path: Path
) -> None:
    cluster = cluster_of(2)
    base = cluster.nginx.base
    alice = browsers.new("alice").page
    bob = browsers.new("bob").page
    # Without end-to-end encryption: `peerlane chat` joins below and cannot seal yet.
    room_id = create_room_ui(alice, base, "alice", encrypted=False)
    link = invite_link(alice)
    assert link.startswith(base), link  # the invite points at the balancer
    assert join_by_link_ui(bob, link, "bob") == room_id
    alice_on, bob_on = on_different_instances(cluster, alice, bob, room_id)
    for page in (alice, bob):  # direct links made through signaling across instances
        expect(page.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=30_000)

    bodies = ["alice on one", "bob on the other"]
    send_ui(alice, bodies[0])
    send_ui(bob, bodies[1])
    assert rendered_once(alice, bodies) == rendered_once(bob, bodies)

    path = tmp_path / "across.bin"
    sha, _root = random_file(path, 3 * 1024 * 1024)
    (tid,) = offer_files_ui(alice, [path], "bob")
    accept_ui(bob, tid)
    wait_transfer(bob, tid, "done", timeout=60)
    saved = save_received_ui(bob, tid, tmp_path / "saved.bin")
    assert sha256_file(saved) == sha

    # The terminal starts at the present: it shows what is sent from now on.
    term = Terminal(["chat", link, "--name", "carol"])
    try:
        term.wait_for("* in ")
        wait_js(
            bob,
            "() => [...window.peerlane.room.peers.values()].some((p) => p.name === 'carol')",
            what="carol in bob's peers",
        )
        term.type("from the terminal\n")
        bodies.append("from the terminal")
        rendered_once(alice, bodies)
        send_ui(bob, "bob to carol")
        bodies.append("bob to carol")
        term.wait_for("] bob: bob to carol")

        # SIGKILL under alice: no goodbye, her socket just breaks.
        alice_on.kill()
        send_ui(alice, "typed while cut off")  # kept by the client, sent once it is back
        wait_online(alice)
        assert holder(cluster, alice, room_id) is bob_on  # through nginx to the survivor
        send_ui(bob, "bob after the kill")
        term.type("terminal after the kill\n")
        bodies += ["typed while cut off", "bob after the kill", "terminal after the kill"]
        ids = rendered_once(alice, bodies)
        assert rendered_once(bob, bodies) == ids
        stored = history(bob, room_id)
        chats = [m for m in stored if isinstance(m["body"], str)]  # not the file transfer's records
        assert sorted(m["body"] for m in chats) == sorted(bodies)
        assert [m["id"] for m in chats] == ids  # one order, the server's, on every side
        seqs = [m["seq"] for m in stored]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # no gap
        for body in bodies[2:]:
            term.wait_for(f": {body}\n")
        term.interrupt()
        assert term.wait_exit() == 130, term.output
        # Shown once in all the terminal printed until it exited (its own typing is tty echo).
        for body in bodies[2:]:
            assert term.output.count(f": {body}\n") == 1, term.output
    finally:
        term.close()
