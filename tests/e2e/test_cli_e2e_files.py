"""``peerlane send --room LINK`` into an end-to-end encrypted room a browser made: the
offer (with the file's key F) is a sealed chat body, the blocks travel sealed on the data
channel, the browser opens and verifies them; the server holds no marker of the file's
name or contents."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import httpx
import pytest

from e2e.helpers import (
    accept_ui,
    create_room_ui,
    invite_link,
    offer_files_ui,
    save_received_ui,
    sha256_file,
    transfer_ids,
    wait_transfer,
)
from e2e.test_cli_transfer import (  # noqa: F401 (the fixture)
    DATA_CHANNEL,
    DEADLINE,
    Cli,
    clis,
    receive,
    send,
    wire_bytes,
)
from peerlane.core import e2e
from support import ServerProcess, wait_until

pytestmark = pytest.mark.browser
MIB = 1024 * 1024
MARKER = b"canary-c1f3-" + os.urandom(6).hex().encode()


def _hits(root: Path, marker: bytes) -> list[Path]:
    return [f for f in root.rglob("*") if f.is_file() and marker in f.read_bytes()]


def test_cli_sends_into_a_browsers_encrypted_room(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],  # noqa: F811
    browsers: object,
) -> None:
    page = browsers.new("carol", p2p=True).page  # type: ignore[attr-defined]
    create_room_ui(page, server.base, "carol", "Drop", encrypted=True)
    link = invite_link(page)
    assert "." in link.split("#", 1)[1], link  # the room key rides in the fragment
    name = f"{MARKER.decode()}.bin"
    file = tmp_path / name
    file.write_bytes((MARKER * 1000) + os.urandom(3 * MIB + 5) + MARKER)
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    sender = send(clis, tmp_path, server, file, "--room", link, PEERLANE_P2P_TIMEOUT="90")
    try:
        incoming = wait_until(lambda: transfer_ids(page, "in"), timeout=DEADLINE, what="the offer")
    except TimeoutError as exc:
        raise AssertionError(sender.describe()) from exc
    accept_ui(page, incoming[0])
    view = wait_transfer(page, incoming[0])
    assert view["path"] in ("direct", "turn"), view
    assert sha256_file(save_received_ui(page, incoming[0], tmp_path / "saved.bin")) == digest
    assert sender.finish() == 0, sender.describe()
    assert "via peer to peer" in sender.output, sender.describe()
    # The server's database, files and log: no marker of the name or the contents.
    assert _hits(server.data_dir, MARKER) == []


def test_a_browser_sends_to_cli_in_its_encrypted_room(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],  # noqa: F811
    browsers: object,
) -> None:
    page = browsers.new("carol", p2p=True).page  # type: ignore[attr-defined]
    create_room_ui(page, server.base, "carol", "Drop", encrypted=True)
    link = invite_link(page)
    receiver = receive(clis, tmp_path, link, tmp_path / "got")
    names = "() => [...window.peerlane.room.peers.values()].map((p) => p.name)"
    wait_until(lambda: "bob" in page.evaluate(names), timeout=DEADLINE, what="bob in the room")
    name = f"{MARKER.decode()}-b.bin"
    (tmp_path / name).write_bytes(MARKER * 1000 + os.urandom(2 * MIB + 3))
    digest = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    [outgoing] = offer_files_ui(page, [tmp_path / name])
    assert receiver.finish() == 0, receiver.describe()
    assert sha256_file(tmp_path / "got" / name) == digest
    assert "via peer to peer" in receiver.output
    wait_transfer(page, outgoing)
    assert _hits(server.data_dir, MARKER) == []


def test_cli_to_cli_encrypted_resumes_after_a_kill(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],  # noqa: F811
) -> None:
    # A room made as the browser makes one: its name sealed, the key in the link.
    key = e2e.RoomKey(os.urandom(32))
    sealed = e2e.seal_room_name(key, os.urandom(12), "Drop")
    r = httpx.post(f"{server.base}/api/rooms", json={"display_name": "owner", "name": sealed})
    assert r.status_code == 201, r.text
    link = f"{r.json()['invite']['link']}.{key.encoded()}"
    size = 24 * MIB
    name = f"{MARKER.decode()}.mkv"
    (tmp_path / name).write_bytes(MARKER + os.urandom(size - len(MARKER)))
    digest = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    # The data channel (the fast path's kill and resume: tests/e2e/test_cli_sealed.py)
    env = {"PEERLANE_P2P_TIMEOUT": "90", **DATA_CHANNEL}
    sender = send(clis, tmp_path, server, tmp_path / name, "--room", link, **env)
    out = tmp_path / "got"
    first = receive(clis, tmp_path, link, out)
    part = out / f"{name}.peerlane-part"
    wait_until(
        lambda: part.exists() and part.stat().st_size >= size // 2,
        timeout=DEADLINE,
        what="half the file received",
    )
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    second = receive(clis, tmp_path, link, out)
    assert second.finish() == 0, second.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(out / name) == digest
    assert wire_bytes(second) < size * 0.75  # only what the first run had not verified
    assert wire_bytes(sender) <= size * 1.1  # sealed blocks: 16 bytes a MiB more
    assert _hits(server.data_dir, MARKER) == []
