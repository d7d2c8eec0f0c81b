"""End-to-end encrypted chat in the browser (issue #15, first slice): two browsers chat in
a new room and read each other, live, after a reload (history) and after an edit; the
server holds only ciphertext. The canary: unique markers in the room's name and in
bodies never appear in the server's database files, its log, or anything it received at
its ASGI boundary (tests/e2e/recording_server.py). A body that cannot be opened shows a
placeholder; a room made before encryption keeps working, marked as such."""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from websockets.sync.client import connect

from e2e.helpers import (
    MESSAGE,
    create_room_ui,
    history,
    invite_link,
    join_by_link_ui,
    send_ui,
    wait_messages,
)
from support import ServerProcess

pytestmark = pytest.mark.browser

LAUNCHER = Path(__file__).resolve().parent / "recording_server.py"
PLACEHOLDER = "This message could not be decrypted"


@pytest.fixture
def recording_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    """A server whose every received byte is recorded; the record's path."""
    record = tmp_path / "received.bin"
    proc = ServerProcess(
        tmp_path / "data",
        env={"PEERLANE_HOST": "127.0.0.1", "PEERLANE_LOG_LEVEL": "debug"},
        command=[sys.executable, str(LAUNCHER), str(record)],
    )
    proc.start()
    try:
        yield proc, record
    finally:
        proc.stop()


def row(page: Page, text: str):
    return page.locator(MESSAGE).filter(has_text=text)


def everything_the_server_has(proc: ServerProcess, record: Path) -> bytes:
    """The data directory's files (database and its WAL, files, log) and the record."""
    files = [p for p in proc.data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix in (".db", ".sqlite", ".sqlite3") or "db" in p.name for p in files), files
    return b"\n".join(p.read_bytes() for p in [*files, record])


def test_two_browsers_chat_and_the_server_sees_only_ciphertext(recording_server, browsers) -> None:
    proc, record = recording_server
    marker = f"canary{secrets.token_hex(6)}"
    room_name, first, reply, edited = (f"{marker}-{what}" for what in ("room", "a", "b", "edit"))
    a = browsers.new("alice").page
    b = browsers.new("bob").page
    room_id = create_room_ui(a, proc.base, "alice", room_name)
    expect(a.locator("h1")).to_have_text(room_name)
    expect(a.locator("[data-testid=e2e-mark]")).to_have_attribute("data-e2e", "on")
    link = invite_link(a)
    token_and_key = link.split("#", 1)[1]
    assert "." in token_and_key  # the room key rides in the fragment
    # The code is there to be read aloud (a member's browser checks it: a PAKE).
    expect(a.locator("#invite-code-label")).to_have_text("Room code (read aloud)")

    join_by_link_ui(b, link, "bob")
    expect(b.locator("h1")).to_have_text(room_name)
    expect(b.locator("[data-testid=e2e-mark]")).to_have_attribute("data-e2e", "on")
    send_ui(a, first)
    wait_messages(b, [first])
    send_ui(b, reply)
    for page in (a, b):
        wait_messages(page, [first, reply])
    row(a, first).locator("[data-action=edit]").click()
    a.locator("#message-input").fill(edited)
    a.locator("#message-input").press("Enter")
    for page in (a, b):
        expect(row(page, edited)).to_have_count(1)
        expect(row(page, first)).to_have_count(0)

    # History from the server opens too (a reload has nothing in memory).
    b.reload()
    wait_messages(b, [edited, reply])
    expect(b.locator("h1")).to_have_text(room_name)

    stored = history(a, room_id, opened=False)
    assert [m["body"][:5] for m in stored if m["body"] is not None] == ["e2e1."] * 3, stored
    room = a.evaluate(
        "async (id) => (await (await fetch('/api/rooms/' + id)).json()).room", room_id
    )
    assert room["name"].startswith("e2e1.")
    assert a.locator(f"{MESSAGE}:has-text('{PLACEHOLDER}')").count() == 0
    assert b.locator(f"{MESSAGE}:has-text('{PLACEHOLDER}')").count() == 0

    proc.stop()  # everything on disk, the log closed
    seen = everything_the_server_has(proc, record)
    assert room["name"].encode() in seen  # the record holds what the server got, sealed
    assert seen.count(marker.encode()) == 0, "a marker reached the server in the clear"


def test_a_body_that_cannot_be_opened_is_a_placeholder(recording_server, browsers) -> None:
    proc, _ = recording_server
    a = browsers.new("alice").page
    room_id = create_room_ui(a, proc.base, "alice", "sealed")
    send_ui(a, "hello from alice")
    wait_messages(a, ["hello from alice"])
    # Someone with a session but not the key (or a server that forges): a clear body, a
    # sealed one with another key, and garbage. None crashes the list.
    token = invite_link(a).split("#", 1)[1].split(".")[0]
    joined = httpx.post(f"{proc.base}/api/join", json={"display_name": "mallory", "token": token})
    joined.raise_for_status()
    url = f"ws://127.0.0.1:{proc.port}/api/rooms/{room_id}/ws"
    headers = {"Authorization": f"Bearer {joined.json()['token']}"}
    bodies = [
        "plain words",
        "e2e1.AAAAAAAAAAA.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
        "e2e9.future",
        {"text": "an object"},
    ]
    with connect(url, additional_headers=headers) as ws:
        ws.send('{"type": "hello", "v": 1}')
        for index, body in enumerate(bodies):
            ws.send(json.dumps({"type": "chat", "id": f"m{index}", "body": body}))
        acks = 0
        while acks < len(bodies):
            if json.loads(ws.recv(timeout=15)).get("type") == "ack":
                acks += 1
    expect(a.locator(f"{MESSAGE}:has-text('{PLACEHOLDER}')")).to_have_count(len(bodies))
    expect(row(a, "hello from alice")).to_have_count(1)
    expect(row(a, "plain words")).to_have_count(0)
    send_ui(a, "still working")
    expect(row(a, "still working")).to_have_count(1)


def test_a_room_made_before_encryption_keeps_working_and_says_so(server, browsers) -> None:
    # Made as before this change (and as the CLI still does): a clear name, no key.
    made = httpx.post(f"{server.base}/api/rooms", json={"display_name": "old", "name": "Old room"})
    assert made.status_code == 201, made.text
    link = made.json()["invite"]["link"]
    assert "." not in link.split("#", 1)[1]
    a = browsers.new("alice").page
    b = browsers.new("bob").page
    join_by_link_ui(a, link, "alice")
    join_by_link_ui(b, link, "bob")
    for page in (a, b):
        expect(page.locator("h1")).to_have_text("Old room")
        expect(page.locator("[data-testid=e2e-mark]")).to_have_attribute("data-e2e", "off")
        expect(page.locator("[data-testid=e2e-mark]")).to_have_text("Not end-to-end encrypted")
    send_ui(a, "plain as before")
    wait_messages(b, ["plain as before"])
    assert [m["body"] for m in history(a, made.json()["room"]["id"])] == ["plain as before"]
