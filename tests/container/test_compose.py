"""The compose stack end to end with podman-compose: two peerlane instances behind nginx
(TLS, WebSocket upgrade), PostgreSQL, Redis, coturn, settings from `peerlane deploy init`.

The clients are Python clients of the real protocol (WebSocket chat, tus uploads, HTTP
downloads), not browsers: the stack's TLS certificate is trusted exactly, through the
published port on 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from container.podman import Podman, unique
from container.stack import Stack, build_service_images, make_stack
from files.tusraw import Tus
from support import TIMEOUT, Peer, create_room, join, link_token

START_TIMEOUT = 18 * TIMEOUT  # six containers on a shared 2-core machine
# Within the participant's chat burst (40) with the other messages alice sends, so that
# no rate limit decides what the test sees.
BURST = 20


@pytest.fixture(scope="session")
def service_images(podman: Podman, base_image: str) -> dict[str, str]:
    return build_service_images(podman, base_image)


@pytest.fixture
def stack(
    podman: Podman, peerlane_image: str, service_images: dict[str, str], tmp_path: Path
) -> Iterator[Stack]:
    images = {"PEERLANE_IMAGE": peerlane_image, **service_images}
    made = make_stack(podman, unique("plt"), tmp_path / "project", images)
    try:
        yield made
    finally:
        made.remove_everything()  # a no-op when the test brought it down itself


def env_values(stack: Stack) -> dict[str, str]:
    lines = (stack.directory / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_stack_chat_files_and_losing_an_instance(stack: Stack):
    env = env_values(stack)
    assert oct((stack.directory / ".env").stat().st_mode & 0o777) == "0o600"
    volumes_before = set(stack.podman.run("volume", "ls", "--quiet").stdout.split())
    stack.up(START_TIMEOUT)

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
        on = {s: stack.websocket_connections(s) for s in ("peerlane-1", "peerlane-2")}
        assert sorted(on.values()) == [0, 1], on
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
        state = stack.podman.inspect(stack.container(victim), "{{.State.Status}}")
        assert state in ("exited", "stopped"), state

        # Both clients carry on through nginx: alice reconnects (to the survivor) and
        # gets every acknowledged message back from storage; nothing acked is lost.
        a2 = Peer(stack, alice, last_seq=0, ssl=stack.tls)  # type: ignore[arg-type]
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

    # Down: nothing of the project is left behind.
    stack.compose("down", "--volumes", "--timeout", "20")
    left = stack.leftovers()
    # podman-compose 1.0.3 (Debian 12) removes containers, pods and volumes but not the
    # project's network (`docker compose down` does): the one thing removed by hand.
    assert left["network"] in ([], [f"{stack.project}_default"]), left
    for name in left["network"]:
        stack.podman.run("network", "rm", name)
    assert stack.leftovers() == {"container": [], "network": [], "volume": [], "pod": []}
    # Nor an anonymous volume (the image's VOLUME, had compose.yaml not named them all).
    volumes_after = set(stack.podman.run("volume", "ls", "--quiet").stdout.split())
    assert volumes_after <= volumes_before, volumes_after - volumes_before


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
                stack.podman.run("kill", "--signal", "KILL", stack.container(victim))
                killed = True
    except (ConnectionClosed, TimeoutError):
        pass
    if not killed:  # every ack came before the kill could land: kill now all the same
        stack.podman.run("kill", "--signal", "KILL", stack.container(victim))
    return acked


def bob_still_connected(peer: Peer) -> bool:
    try:
        peer.send({"type": "ping", "nonce": "alive"})
        peer.expect("pong", nonce="alive", timeout=TIMEOUT)
    except (ConnectionClosed, TimeoutError):
        return False
    return True
