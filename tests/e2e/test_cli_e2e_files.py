"""``peerlane send --room LINK`` into an end-to-end encrypted room a browser made: the
offer (with the file's key F) is a sealed chat body, the blocks travel sealed on the data
channel, the browser opens and verifies them; the server holds no marker of the file's
name or contents."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from e2e.cli_peers import (
    DATA_CHANNEL,
    Cli,
    browser_room,
    encrypted_room,
    files_holding,
    kill_when_half_received,
    receive,
    send,
    wait_offer,
    wait_peer,
    wire_bytes,
)
from e2e.helpers import (
    accept_ui,
    offer_files_ui,
    save_received_ui,
    sha256_file,
    wait_transfer,
)
from support import ServerProcess

pytestmark = pytest.mark.browser
MIB = 1024 * 1024
MARKER = b"canary-c1f3-" + os.urandom(6).hex().encode()


def test_cli_sends_into_a_browsers_encrypted_room(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
    browsers: object,
) -> None:
    page, link = browser_room(browsers, server.base, encrypted=True)
    assert "." in link.split("#", 1)[1], link  # the room key rides in the fragment
    name = f"{MARKER.decode()}.bin"
    file = tmp_path / name
    file.write_bytes((MARKER * 1000) + os.urandom(3 * MIB + 5) + MARKER)
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    sender = send(clis, tmp_path, server, file, "--room", link, PEERLANE_P2P_TIMEOUT="90")
    incoming = wait_offer(page, sender)
    accept_ui(page, incoming)
    view = wait_transfer(page, incoming)
    assert view["path"] in ("direct", "turn"), view
    assert sha256_file(save_received_ui(page, incoming, tmp_path / "saved.bin")) == digest
    assert sender.finish() == 0, sender.describe()
    assert "via peer to peer" in sender.output, sender.describe()
    # The server's database, files and log: no marker of the name or the contents.
    assert files_holding(server.data_dir, MARKER) == []


def test_a_browser_sends_to_cli_in_its_encrypted_room(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
    browsers: object,
) -> None:
    page, link = browser_room(browsers, server.base, encrypted=True)
    receiver = receive(clis, tmp_path, link, tmp_path / "got")
    wait_peer(page, "bob")
    name = f"{MARKER.decode()}-b.bin"
    (tmp_path / name).write_bytes(MARKER * 1000 + os.urandom(2 * MIB + 3))
    digest = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    [outgoing] = offer_files_ui(page, [tmp_path / name])
    assert receiver.finish() == 0, receiver.describe()
    assert sha256_file(tmp_path / "got" / name) == digest
    assert "via peer to peer" in receiver.output
    wait_transfer(page, outgoing)
    assert files_holding(server.data_dir, MARKER) == []


def test_cli_to_cli_encrypted_resumes_after_a_kill(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
) -> None:
    link = encrypted_room(server)
    size = 24 * MIB
    name = f"{MARKER.decode()}.mkv"
    (tmp_path / name).write_bytes(MARKER + os.urandom(size - len(MARKER)))
    digest = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    # The data channel (the fast path's kill and resume: tests/e2e/test_cli_sealed.py)
    env = {"PEERLANE_P2P_TIMEOUT": "90", **DATA_CHANNEL}
    sender = send(clis, tmp_path, server, tmp_path / name, "--room", link, **env)
    out = tmp_path / "got"
    first = receive(clis, tmp_path, link, out)
    kill_when_half_received(first, out / f"{name}.peerlane-part", size)
    second = receive(clis, tmp_path, link, out)
    assert second.finish() == 0, second.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(out / name) == digest
    assert wire_bytes(second) < size * 0.75  # only what the first run had not verified
    assert wire_bytes(sender) <= size * 1.1  # sealed blocks: 16 bytes a MiB more
    assert files_holding(server.data_dir, MARKER) == []
