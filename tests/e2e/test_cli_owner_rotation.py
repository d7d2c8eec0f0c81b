"""A room ``peerlane send`` made, owned by the terminal, beside Chromium (issue #15 item
5): a member (carol, a client with an identity key as a browser holds one) leaves for
good; the terminal rotates (its process, on the keys frame), Chromium's bob takes the
new key and, at the new epoch, accepts and receives the file (his accept is sealed with
the new key, which the terminal opens); carol's keys stop at epoch 0, her link is revoked,
and the terminal prints the new invite."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import httpx
import pytest

from e2e.cli_peers import Cli, send
from e2e.helpers import (
    accept_ui,
    join_by_link_ui,
    save_received_ui,
    sha256_file,
    transfer_ids,
    wait_js,
    wait_transfer,
)
from peerlane.core import e2e
from support import ServerProcess, wait_until

pytestmark = pytest.mark.browser


def test_the_terminal_owner_rotates_and_the_browser_reads_on(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
    browsers: object,
) -> None:
    file = tmp_path / "after.bin"
    file.write_bytes(os.urandom(2 * 1024 * 1024 + 3))
    sender = send(clis, tmp_path, server, file, PEERLANE_P2P_TIMEOUT="90")
    link = sender.wait_for(r"Link: (\S+)").group(1)
    token = link.split("#", 1)[1].split(".", 1)[0]
    page = browsers.new("bob", p2p=True).page  # type: ignore[attr-defined]
    room_id = join_by_link_ui(page, link, "bob")

    with httpx.Client(base_url=server.base, timeout=10) as http:
        r = http.post("/api/join", json={"display_name": "carol", "token": token})
        assert r.status_code == 200, r.text
        carol = r.json()
        auth = {"Authorization": f"Bearer {carol['token']}"}
        carol_key = e2e.b64u_encode(e2e.x25519_public_bytes(e2e.x25519_private(os.urandom(32))))
        path = f"/api/rooms/{room_id}"
        assert http.put(f"{path}/identity", json={"key": carol_key}, headers=auth).is_success

        def bob_published() -> bool:
            listed = http.get(f"{path}/participants", headers=auth).json()["participants"]
            return any(p["name"] == "bob" and p["identity_key"] for p in listed)

        wait_until(bob_published, timeout=30, what="bob's identity key published")
        assert http.delete(f"{path}/session", headers=auth).status_code == 204  # for good

        told = wait_until(
            # (named when the terminal had listed her before she left; her key's frame
            # and her leaving come close together here)
            lambda: re.search(
                r"(carol|A member) left this room for good.*invite: (\S+)", errors(sender)
            ),
            timeout=60,
            what="the terminal's rotation",
        )
        assert "(epoch 1)" in told.group(0)
        assert told.group(2) != link
        k1 = e2e.RoomKey.decode(told.group(2).rsplit(".", 1)[1], 1)  # the new link's key
        # bob's page takes the key the terminal wrapped to it.
        wait_js(page, "() => window.peerlane.room.e2e.key.epoch === 1", what="bob at epoch 1")
        r = http.post("/api/join", json={"display_name": "carol", "token": token})
        assert r.json()["error"]["code"] == "invite_revoked"

    incoming = wait_until(lambda: transfer_ids(page, "in"), timeout=60, what="the offer")
    accept_ui(page, incoming[0])  # sealed with epoch 1's key: the terminal opens it
    wait_transfer(page, incoming[0])
    saved = save_received_ui(page, incoming[0], tmp_path / "saved.bin")
    assert sha256_file(saved) == sha256_file(file)
    assert sender.finish() == 0, sender.describe()
    with sqlite3.connect(server.data_dir / "peerlane.db") as db:
        rows = db.execute(
            "SELECT epoch FROM key_wraps WHERE recipient_id = ?", (carol["participant"]["id"],)
        )
        assert list(rows) == []  # nothing after epoch 0 (her link's key) is hers
        rows = db.execute("SELECT body FROM messages WHERE sender_name = 'bob'")
        bob_kids = {json.loads(body).split(".")[1] for (body,) in rows}
    assert k1.kid in bob_kids  # bob's accept: sealed at epoch 1, and the terminal opened it


def errors(cli: Cli) -> str:
    return cli.err_path.read_text(errors="replace")
