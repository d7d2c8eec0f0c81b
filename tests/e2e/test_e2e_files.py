"""The canary of end-to-end encryption for files and reactions (issue #15, items 1 and 6):
three browsers in an encrypted room send files whose names and contents carry a unique
marker peer to peer (alice → bob, a direct link) and through the server (alice → carol,
who can make no direct link: tus + Range), react with a marker, and share a marked file
by link (/share, downloaded in a fourth browser). Every received file is compared by
SHA-256 with the one on disk; then the server's database, files directory, log and
everything it received at its ASGI boundary (request headers included: tus's
Upload-Metadata) hold the marker zero times, in the clear or in base64."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect

from e2e.helpers import (
    MESSAGE,
    PEER,
    accept_ui,
    create_room_ui,
    history,
    invite_link,
    join_by_link_ui,
    offer_files_ui,
    save_received_ui,
    send_ui,
    wait_messages,
    wait_transfer,
)
from e2e.test_e2e_chat import everything_the_server_has, recording_server  # noqa: F401 (a fixture)
from e2e.test_share import share_ui

pytestmark = pytest.mark.browser


def marked_file(path: Path, marker: str, size: int) -> str:
    """A file of ``size`` bytes whose every line names the marker; its SHA-256."""
    line = f"{marker} is the secret contents of {path.name}\n".encode()
    data = (line * (size // len(line) + 1))[:size]
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def spellings(marker: str) -> list[bytes]:
    """The marker as the server might hold it: as is, and base64 (standard and url-safe) of
    a value that starts with it (tus metadata, JSON of bytes)."""
    head = marker.encode()[: len(marker) // 3 * 3]
    return [marker.encode(), base64.b64encode(head), base64.urlsafe_b64encode(head)]


# How many file blocks the page's block worker sealed or opened (web/e2e/block-crypto.js,
# imported by the URL the page loaded it from: the page's own module instance).
BLOCKS_IN_WORKER_JS = """async () => {
  const url = performance.getEntriesByType("resource").map((e) => e.name)
    .find((name) => name.endsWith("/e2e/block-crypto.js"));
  return url ? (await import(url)).blocks.inWorker : -1;
}"""


def test_files_and_reactions_reach_the_server_only_sealed(
    recording_server,  # noqa: F811 (the fixture imported above)
    browsers,
    tmp_path: Path,
) -> None:
    proc, record = recording_server
    marker = f"canary{secrets.token_hex(6)}"
    a = browsers.new("alice").page
    b = browsers.new("bob").page
    c = browsers.new("carol", p2p=False).page
    room_id = create_room_ui(a, proc.base, "alice", f"{marker} files room")
    expect(a.locator("[data-testid=e2e-mark]")).to_have_attribute("data-e2e", "on")
    link = invite_link(a)
    join_by_link_ui(b, link, "bob")
    join_by_link_ui(c, link, "carol")
    expect(b.locator(f"{PEER}[data-path=direct]")).to_have_count(1, timeout=30_000)

    # -- peer to peer, alice → bob; through the server, alice → carol.
    direct, via_server = tmp_path / f"{marker}-direct.txt", tmp_path / f"{marker}-server.txt"
    sha_direct = marked_file(direct, marker, 3 * 1024 * 1024 + 5)
    sha_server = marked_file(via_server, marker, 2 * 1024 * 1024 + 7)
    (to_bob,) = offer_files_ui(a, [direct], to_name="bob")
    (to_carol,) = offer_files_ui(a, [via_server], to_name="carol")
    accept_ui(b, to_bob)
    accept_ui(c, to_carol)
    for page, tid, path, sha, way in (
        (b, to_bob, direct, sha_direct, "direct"),
        (c, to_carol, via_server, sha_server, "server"),
    ):
        view = wait_transfer(page, tid, "done", timeout=120)
        assert (view["name"], view["path"]) == (path.name, way), view
        saved = save_received_ui(page, tid, tmp_path / f"saved-{way}.bin")
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == sha, way
    # Sealed and opened off the pages' main threads: 4 + 3 blocks sealed, 4 and 3 opened
    # (more if a block was sent again).
    assert a.evaluate(BLOCKS_IN_WORKER_JS) >= 7
    assert b.evaluate(BLOCKS_IN_WORKER_JS) >= 4
    assert c.evaluate(BLOCKS_IN_WORKER_JS) >= 3

    # -- a reaction whose "emoji" is a marker (the UI offers only a few emoji: the API).
    text = f"{marker} react to this"
    send_ui(a, text)
    wait_messages(b, [text])
    seq = b.evaluate(
        "(t) => window.peerlane.room.messages.find((m) => m.body === t)?.seq ?? null", text
    )
    assert isinstance(seq, int), seq
    reaction = f"{marker}r"
    b.evaluate("([seq, e]) => window.peerlane.room.react(seq, e)", [seq, reaction])
    expect(a.locator(MESSAGE).filter(has_text=text)).to_contain_text(reaction)

    # -- a share link: uploaded on /share, downloaded in another browser.
    shared = tmp_path / f"{marker}-shared.txt"
    sha_shared = marked_file(shared, marker, 1024 * 1024 + 11)
    share_link = share_ui(browsers.new("sharer").page, proc.base, [shared])
    d = browsers.new("dora").page
    d.goto(share_link)
    row = d.get_by_test_id("share-file")
    expect(row).to_contain_text(shared.name)
    with d.expect_download(timeout=60_000) as info:
        row.get_by_test_id("share-download").click()
    got = tmp_path / "shared-download.bin"
    info.value.save_as(got)
    assert info.value.suggested_filename == shared.name
    assert hashlib.sha256(got.read_bytes()).hexdigest() == sha_shared

    stored = history(a, room_id, opened=False)
    kinds = {m["kind"] for m in stored}
    assert {"file", "reaction"} <= kinds, kinds
    assert all(m["body"] is None or m["body"].startswith("e2e1.") for m in stored), stored

    proc.stop()  # everything on disk, the log closed
    seen = everything_the_server_has(proc, record)
    files_dir = [p for p in (proc.data_dir / "files").rglob("*") if p.is_file()]
    assert len(files_dir) == 2, files_dir  # carol's fallback copy and the share's file
    for spelling in spellings(marker):
        assert seen.count(spelling) == 0, f"{spelling!r} reached the server"
