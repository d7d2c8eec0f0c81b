"""``peerlane send`` makes an end-to-end encrypted room and answers joins by its short code
as a PAKE member (issues #15 and #12; docs/cli.md, docs/protocol.md "Short codes by
PAKE"): a ``peerlane receive CODE`` and a Chromium typing the code both get the room key
from the sending terminal and the file; the server's database, files and log hold neither
the file's name nor the code's words; a wrong code is refused, counted by the server and
by the sending terminal. Marked ``browser``: WebRTC runs inside scripts/netns-run."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from e2e.cli_peers import Cli, files_holding, receive, send, wait_offer
from e2e.helpers import accept_ui, join_by_code_ui, save_received_ui, sha256_file, wait_transfer
from peerlane.core import e2e
from support import ServerProcess, wait_until

pytestmark = pytest.mark.browser
MIB = 1024 * 1024
MARKER = b"canary-p4ke-" + os.urandom(6).hex().encode()


def _marked_file(tmp: Path, size: int) -> tuple[Path, str]:
    path = tmp / f"{MARKER.decode()}.bin"
    path.write_bytes(MARKER * 100 + os.urandom(size))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _invite(sender: Cli) -> tuple[str, str]:
    """The link and the code the sending terminal printed."""
    link = sender.wait_for(r"Link: (\S+)").group(1)
    code = sender.wait_for(r"Code: (\S+)").group(1)
    return link, code


def _room_of(server: ServerProcess, link: str) -> dict[str, object]:
    """The room as the server holds it, through a second member (joined by the link)."""
    token = link.split("#", 1)[1].split(".", 1)[0]
    r = httpx.post(f"{server.base}/api/join", json={"display_name": "probe", "token": token})
    assert r.status_code == 200, r.text
    room: dict[str, object] = r.json()["room"]
    return room


def test_send_makes_an_encrypted_room_and_receive_joins_by_its_code(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
) -> None:
    file, digest = _marked_file(tmp_path, 3 * MIB + 7)
    sender = send(clis, tmp_path, server, file, PEERLANE_FAST_PATH="0")
    link, code = _invite(sender)
    # The room key rides in the link's fragment; the server's room name is sealed.
    key = e2e.parse_invite_fragment(link.split("#", 1)[1])[1]
    assert key is not None, link
    room = _room_of(server, link)
    assert e2e.is_sealed_name(room["name"]), room
    assert e2e.open_room_name(key, room["name"]) == "alice's room"
    assert "End-to-end encrypted" in sender.output

    out = tmp_path / "got"
    receiver = receive(clis, tmp_path, code, out, "--server", server.base)
    assert receiver.finish() == 0, receiver.describe() + sender.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(out / file.name) == digest
    assert "via peer to peer" in receiver.output
    # Neither the file's name (nor its contents) nor the code's words reached the server.
    words = code.split("-", 1)[1]
    assert files_holding(server.data_dir, MARKER) == []
    assert files_holding(server.data_dir, words.encode()) == []


def test_a_wrong_code_is_refused_and_counted_then_the_right_one_joins(
    server_factory: object,
    tmp_path: Path,
    clis: list[Cli],
) -> None:
    server: ServerProcess = server_factory()  # type: ignore[operator]
    file, digest = _marked_file(tmp_path, 256 * 1024)
    sender = send(clis, tmp_path, server, file, PEERLANE_FAST_PATH="0")
    link, code = _invite(sender)
    nameplate = code.split("-", 1)[0]
    room_id = str(_room_of(server, link)["id"])

    wrong = receive(
        clis, tmp_path, f"{nameplate}-wrong-words", tmp_path / "no", "--server", server.base
    )
    assert wrong.finish() == 3, wrong.describe()
    assert "That code is not right" in wrong.err_path.read_text()
    assert not (tmp_path / "no").exists()
    # The sending terminal counted the failure, said so, and keeps the count on disk.
    wait_until(
        lambda: "wrong room code (1 of 100" in sender.err_path.read_text(),
        timeout=60,
        what="the sender's failure note",
    )
    counts = json.loads((tmp_path / "peerlane" / "pake-failures.json").read_text())
    assert list(counts.values()) == [1]
    assert next(iter(counts)).startswith(f"{room_id}/")

    out = tmp_path / "got"
    receiver = receive(clis, tmp_path, code, out, "--server", server.base)
    assert receiver.finish() == 0, receiver.describe() + sender.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(out / file.name) == digest
    # The server counted the wrong guess against the code (the right one was refunded).
    db = next(server.data_dir.rglob("*.db"))
    with sqlite3.connect(db) as conn:
        (failures,) = conn.execute(
            "SELECT failures FROM invites WHERE room_id = ?", (room_id,)
        ).fetchone()
    assert failures == 1


def test_a_browser_joins_by_the_terminals_code_and_takes_the_file(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
    browsers: object,
) -> None:
    file, digest = _marked_file(tmp_path, 2 * MIB + 3)
    sender = send(clis, tmp_path, server, file, PEERLANE_P2P_TIMEOUT="90")
    _, code = _invite(sender)
    page = browsers.new("carol", p2p=True).page  # type: ignore[attr-defined]
    join_by_code_ui(page, server.base, code, "carol")
    # The terminal's hand-over gave the browser the room key: the sealed name opens.
    expect(page.locator("[data-testid=e2e-mark]")).to_have_attribute("data-e2e", "on")
    expect(page.locator("h1")).to_have_text("alice's room")
    incoming = wait_offer(page, sender, timeout=60)
    accept_ui(page, incoming)
    wait_transfer(page, incoming)
    assert sha256_file(save_received_ui(page, incoming, tmp_path / "saved.bin")) == digest
    assert sender.finish() == 0, sender.describe()
    assert files_holding(server.data_dir, MARKER) == []
    assert files_holding(server.data_dir, code.split("-", 1)[1].encode()) == []
