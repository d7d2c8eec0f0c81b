"""The compose stack end to end with podman-compose: two peerlane instances behind nginx
(TLS, WebSocket upgrade), PostgreSQL, Redis, coturn, settings from `peerlane deploy init`.

The stack comes up once for the module; each test starts again whatever instance an
earlier one killed, and the last test brings the stack down and checks that nothing is
left. Two kinds of client go through nginx's published HTTPS port on 127.0.0.1:

* Python clients of the real protocol (WebSocket chat, tus uploads, HTTP downloads),
  which trust exactly the stack's self-signed certificate: nginx, the TURN secret, and
  the protocol's exactly-once repair (``stored``) after an instance dies mid-burst.
* Two headless Chromiums using the web client as a person would (create, join by the
  invite link, chat, send a file), one instance killed under them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from playwright.sync_api import expect
from websockets.exceptions import ConnectionClosed

from chromium_browsers import Browsers
from container.podman import Podman, unique
from container.stack import INSTANCES, Stack, build_service_images, make_stack
from e2e.helpers import (
    MIB,
    PEER,
    accept_ui,
    create_room_ui,
    history,
    invite_link,
    join_by_link_ui,
    offer_files_ui,
    random_file,
    room_files,
    save_received_ui,
    send_ui,
    sha256_file,
    wait_js,
    wait_messages,
    wait_transfer,
)
from files.tusraw import Tus
from support import TIMEOUT, Peer, create_room, join, link_token

if TYPE_CHECKING:
    from playwright.sync_api import Page

START_TIMEOUT = 18 * TIMEOUT  # six containers on a shared 2-core machine
# Within the participant's chat burst (40) with the other messages alice sends, so that
# no rate limit decides what the test sees.
BURST = 20
# A browser notices a dead server by its keep-alive: a ping every 20 s answered within
# 10 s, every 2 s within 4 s while it waits for an ack (web/signaling.js).
RECONNECT_TIMEOUT = 60
# The stack's certificate is self-signed: the pages ignore the HTTPS errors (Playwright),
# and so does the service worker's registration, which Playwright's setting does not
# cover (Chromium's switch does).
TRUST_THE_STACK: dict[str, Any] = {
    "ignore_https_errors": True,
    "extra_args": ["--ignore-certificate-errors"],
}


@pytest.fixture(scope="module")
def service_images(podman: Podman, base_image: str) -> dict[str, str]:
    return build_service_images(podman, base_image)


@pytest.fixture(scope="module")
def stack(
    podman: Podman,
    peerlane_image: str,
    service_images: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """The stack, up (once for the module)."""
    images = {"PEERLANE_IMAGE": peerlane_image, **service_images}
    directory = tmp_path_factory.mktemp("compose") / "project"
    made = make_stack(podman, unique("plt"), directory, images)
    made.volumes_before = frozenset(podman.run("volume", "ls", "--quiet").stdout.split())
    try:
        made.up(START_TIMEOUT)
        yield made
    finally:
        made.remove_everything()  # a no-op when the last test brought it down itself


@pytest.fixture
def both_instances(stack: Stack) -> Stack:
    """The stack with both instances running (again) and no WebSocket left open."""
    stack.revive(START_TIMEOUT)
    stack.wait_connections(lambda counts: sum(counts.values()) == 0, TIMEOUT)
    return stack


def env_values(stack: Stack) -> dict[str, str]:
    lines = (stack.directory / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_python_clients_chat_and_files_and_losing_an_instance(both_instances: Stack):
    stack = both_instances
    env = env_values(stack)
    assert oct((stack.directory / ".env").stat().st_mode & 0o777) == "0o600"

    with stack.http() as http:
        # nginx: HTTP goes to HTTPS, the app comes through TLS, HSTS from the public URL.
        plain = httpx.get(f"http://127.0.0.1:{env['HTTP_PORT']}/r/x", timeout=TIMEOUT)
        assert plain.status_code == 308
        assert plain.headers["location"].startswith("https://")
        page = http.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert "strict-transport-security" in page.headers
        alice = create_room(http, "alice")
        bob = join(http, "bob", token=link_token(alice))
        assert alice.body["invite"]["link"].startswith(env["PUBLIC_URL"] + "/")

        # Chat through nginx's WebSocket upgrade, on whichever instances nginx picked.
        a = Peer(stack, alice, ssl=stack.tls)  # type: ignore[arg-type]
        on = stack.wait_connections(lambda counts: sum(counts.values()) == 1, TIMEOUT)
        victim = "peerlane-1" if on["peerlane-1"] else "peerlane-2"  # the one alice is on
        survivor = "peerlane-2" if victim == "peerlane-1" else "peerlane-1"
        b = Peer(stack, bob, ssl=stack.tls)  # type: ignore[arg-type]
        # The TURN secret is the one coturn got: the credentials check out against it.
        [turn] = [s for s in a.welcome["ice_servers"] if "turn:" in str(s["urls"])]
        expected = hmac.new(
            env["TURN_SECRET"].encode(), turn["username"].encode(), hashlib.sha1
        ).digest()
        assert turn["credential"] == base64.b64encode(expected).decode()
        assert f"turn:localhost:{env['TURN_PORT']}" in str(turn["urls"])
        a.chat("hello", body="hello bob")
        assert b.expect("message", id="hello")["body"] == "hello bob"
        b.chat("hi", body="hi alice")
        assert a.expect("message", id="hi")["body"] == "hi alice"

        # A file upload in 1 MiB PATCHes (spread over both instances by nginx: they share
        # the files volume and the database), then bob downloads it.
        data = os.urandom(3 * (1 << 20) + 123)
        url = Tus.member(http, alice).upload(data, room=alice.room_id, name="notes.bin")
        assert url.startswith(env["PUBLIC_URL"] + "/")
        listing = http.get(f"/api/rooms/{alice.room_id}/files", headers=bob.auth).json()
        [entry] = listing["files"]
        download = http.get(entry["url"], headers=bob.auth)
        assert download.status_code == 200
        assert hashlib.sha256(download.content).digest() == hashlib.sha256(data).digest()

        # Kill the instance alice is on in the middle of a burst of her messages.
        acked = burst_and_kill(stack, a, victim)
        assert acked, "no ack before the kill"

        # Both clients carry on through nginx: alice reconnects (to the survivor) and
        # gets every acknowledged message back from storage; nothing acked is lost.
        # (nginx tries the dead instance first, 2 s, on a machine the stack keeps busy)
        a2 = Peer(stack, alice, last_seq=0, ssl=stack.tls, open_timeout=RECONNECT_TIMEOUT)  # type: ignore[arg-type]
        assert stack.websocket_connections(survivor) == 2  # alice again, and bob
        replay = {m["id"]: m for m in a2.inbox if m["type"] == "message"}
        for client_id, seq in acked.items():
            assert client_id in replay, (client_id, sorted(replay))
            assert replay[client_id]["seq"] == seq
        # The client asks which of its ids were stored and resends only the missing ones
        # (docs/protocol.md, "Acks"): each stored once, none twice.
        burst_ids = [f"burst-{i}" for i in range(BURST)]
        a2.send({"type": "stored", "ids": burst_ids})
        stored = a2.expect("stored")
        assert {ack["id"]: ack["seq"] for ack in stored["acks"]}.items() >= acked.items()
        for client_id in stored["missing"]:
            a2.chat(client_id, body=int(client_id.split("-")[1]))
        b2 = b if bob_still_connected(b) else Peer(stack, bob, last_seq=0, ssl=stack.tls)  # type: ignore[arg-type]
        a2.chat("after", body="still here")
        assert b2.expect("message", id="after")["body"] == "still here"
        history = http.get(
            f"/api/rooms/{alice.room_id}/messages", params={"after": 0, "limit": 200},
            headers=alice.auth,
        ).json()["messages"]  # fmt: skip
        ids = [m["id"] for m in history]
        assert len(ids) == len(set(ids)), ids
        assert {f"burst-{i}" for i in range(BURST)} <= set(ids)
        # The file is still there (shared volume), served by whichever instance is up.
        again = http.get(entry["url"], headers=bob.auth)
        assert again.status_code == 200
        assert again.content == data
        for peer in (a2, b2, b):
            peer.close()


def test_browsers_chat_and_files_through_nginx_and_losing_an_instance(
    both_instances: Stack, browsers: Browsers, tmp_path: Path
):
    """Two Chromiums on the stack's https URL (self-signed: HTTPS errors ignored in
    their contexts): alice creates a room, bob joins by the invite link, they chat both
    ways and send a file; the instance alice's WebSocket is on is killed (-9) right
    after a burst of her messages; both reconnect through nginx to the survivor, chat
    goes on, every message is stored exactly once and shown exactly once on both sides,
    and a file sent after the kill arrives too.

    Which path: the browsers gather no ICE candidate at all (the profile's WebRTC IP
    handling policy "disable_non_proxied_udp", chromium_browsers.NO_P2P_PREFS), so the
    real machine's addresses never reach WebRTC and no direct link can form: chat goes
    through the server's WebSocket and files through the server (tus upload, Range
    download) -- through nginx, which is what this test is about. That is simpler and
    sturdier than running the browsers in a network namespace that reaches a port
    podman published on the host; direct links are the browser suite's (tests/e2e).
    """
    stack = both_instances
    env = env_values(stack)
    a, b = (browsers.new(name, p2p=False, **TRUST_THE_STACK).page for name in ("alice", "bob"))
    room_id = create_room_ui(a, stack.base, "alice")
    on = stack.wait_connections(lambda counts: sum(counts.values()) == 1, TIMEOUT)
    victim = next(service for service, count in on.items() if count == 1)
    [survivor] = [service for service in INSTANCES if service != victim]
    link = invite_link(a)
    assert link.startswith(env["PUBLIC_URL"] + "/join#"), link
    assert join_by_link_ui(b, link, "bob") == room_id
    stack.wait_connections(lambda counts: sum(counts.values()) == 2, TIMEOUT)

    send_ui(a, "hello from alice")
    for page in (a, b):
        wait_messages(page, ["hello from alice"])
    send_ui(b, "hello from bob")
    bodies = ["hello from alice", "hello from bob"]
    for page in (a, b):
        wait_messages(page, bodies)
    send_file(tmp_path, sender=a, receiver=b, to_name="bob", name="before.bin")

    # A burst from alice, then her instance dies: whatever of it was not acknowledged
    # yet, and what she writes while cut off, her outbox sends again once she is back.
    burst = [f"burst {i} from alice" for i in range(5)]
    for body in burst:
        send_ui(a, body)
    stack.kill(victim)
    killed = time.monotonic()
    send_ui(a, "during from alice")
    bodies += [*burst, "during from alice"]
    # nginx holds the browsers' side of a dead upstream open: they notice by their
    # keep-alive (a missing pong), then reconnect through nginx, to the survivor.
    stack.wait_connections(lambda counts: counts == {survivor: 2}, RECONNECT_TIMEOUT)
    for page in (a, b):
        wait_js(page, "() => window.peerlane.room.serverState === 'online'",
                what="back online through nginx")  # fmt: skip
    print(f"kill -9 → both browsers online on the survivor: {time.monotonic() - killed:.1f} s")
    send_ui(b, "after from bob")
    send_ui(a, "after from alice")
    bodies += ["after from bob", "after from alice"]
    for page in (a, b):
        wait_messages(page, bodies, timeout=60)
        wait_js(page, "() => window.peerlane.room.messages.every((m) => m.seq !== null)",
                what="every message acknowledged")  # fmt: skip
    stored = history(a, room_id)
    assert len({m["id"] for m in stored}) == len(stored), stored
    texts = [m["body"] for m in stored if isinstance(m["body"], str)]  # not the file's row
    assert sorted(texts) == sorted(bodies), texts  # each exactly once
    send_file(tmp_path, sender=b, receiver=a, to_name="alice", name="after.bin")
    # Both files are on the server (the shared volume), the one from before the kill too;
    # sealed (the room is end-to-end encrypted): the server lists neither name.
    files = room_files(b, room_id)
    assert len(files) == 2, files
    assert not {f["name"] for f in files} & {"after.bin", "before.bin"}, files
    for page in (a, b):  # never a direct link: all of the above went through the stack
        assert page.evaluate("window.peerlane.room.directCount") == 0, "a direct link"
        expect(page.locator(f"{PEER}[data-path=direct]")).to_have_count(0)


def send_file(tmp: Path, *, sender: Page, receiver: Page, to_name: str, name: str) -> None:
    """``sender`` offers a random file to ``to_name``, ``receiver`` accepts and saves it;
    it went through the server and is byte for byte the file sent (SHA-256)."""
    path = tmp / name
    sha, _ = random_file(path, 2 * MIB + 123)
    (tid,) = offer_files_ui(sender, [path], to_name=to_name)
    accept_ui(receiver, tid)
    view = wait_transfer(receiver, tid, "done", timeout=120)
    assert view["path"] == "server", view
    saved = save_received_ui(receiver, tid, tmp / f"saved-{name}")
    assert sha256_file(saved) == sha, f"{name}: the saved file differs from the one sent"


def test_down_leaves_nothing_behind(stack: Stack):
    """Last in the module: the stack's own `down` takes everything of the project away."""
    stack.compose("down", "--volumes", "--timeout", "20")
    left = stack.leftovers()
    # podman-compose 1.0.3 (Debian 12) removes containers, pods and volumes but not the
    # project's network (`docker compose down` does), and podman's CNI backend keeps the
    # network's address bookkeeping after `network rm`: the two things removed by hand.
    assert left["network"] in ([], [stack.network]), left
    for name in left["network"]:
        stack.podman.run("network", "rm", name)
    stack.forget_network_addresses()
    nothing: dict[str, list[str]] = {"container": [], "network": [], "volume": [], "pod": []}
    assert stack.leftovers() == {**nothing, "cni-ipam": []}
    # Nor an anonymous volume (the image's VOLUME, had compose.yaml not named them all).
    volumes_after = set(stack.podman.run("volume", "ls", "--quiet").stdout.split())
    assert volumes_after <= stack.volumes_before, volumes_after - stack.volumes_before


def burst_and_kill(stack: Stack, peer: Peer, victim: str) -> dict[str, int]:
    """Send BURST chats without waiting; SIGKILL ``victim`` once a third are acked; the
    acks that arrived (client id → seq)."""
    for i in range(BURST):
        peer.send({"type": "chat", "id": f"burst-{i}", "body": i})
    acked: dict[str, int] = {}
    killed = False
    try:
        while len(acked) < BURST:
            message = peer.recv(TIMEOUT)
            if message["type"] == "ack":
                acked[message["id"]] = message["seq"]
            if not killed and len(acked) >= BURST // 3:
                stack.kill(victim)
                killed = True
    except (ConnectionClosed, TimeoutError):
        pass
    if not killed:  # every ack came before the kill could land: kill now all the same
        stack.kill(victim)
    return acked


def bob_still_connected(peer: Peer) -> bool:
    try:
        peer.send({"type": "ping", "nonce": "alive"})
        peer.expect("pong", nonce="alive", timeout=TIMEOUT)
    except (ConnectionClosed, TimeoutError):
        return False
    return True
