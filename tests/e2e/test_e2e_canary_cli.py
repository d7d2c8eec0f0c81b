"""The end-to-end canary with the terminal (issue #15, Tests: "three browsers (and a CLI
once it exists)"): beside a browser in an encrypted room, a ``peerlane chat`` sends and
reads bodies carrying a unique marker and a ``peerlane send --room`` offers a file whose
name and contents carry it; the browser opens and verifies both. Then the server's
database, files directory, log and everything it received at its ASGI boundary hold the
marker zero times, in the clear or in base64 (the search helpers of
tests/e2e/test_e2e_files.py). The terminal's display name, which the server may see, is
found there: the search does cover the terminal's traffic."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect

from e2e.cli_peers import DATA_CHANNEL, Cli, wait_offer
from e2e.helpers import (
    MESSAGE,
    accept_ui,
    create_room_ui,
    history,
    invite_link,
    save_received_ui,
    send_ui,
    wait_messages,
    wait_transfer,
)
from e2e.test_e2e_chat import everything_the_server_has, recording_server  # noqa: F401
from e2e.test_e2e_files import marked_file, spellings
from terminal import Terminal

pytestmark = pytest.mark.browser


def test_terminal_chat_and_send_reach_the_server_only_sealed(
    recording_server,  # noqa: F811 (the fixture imported above)
    browsers,
    clis: list[Cli],
    tmp_path: Path,
) -> None:
    proc, record = recording_server
    marker = f"canary{secrets.token_hex(6)}"
    visible = f"term{secrets.token_hex(6)}"  # a display name: the server may see it
    a = browsers.new("alice", p2p=True).page
    room_id = create_room_ui(a, proc.base, "alice", f"{marker} room")
    link = invite_link(a)
    config = {"XDG_CONFIG_HOME": str(tmp_path / "config")}

    # -- peerlane chat: a marked line each way.
    term = Terminal(["chat", link, "--name", visible], env=config)
    try:
        term.wait_for(f"* in {marker} room as {visible} (here: alice), end-to-end encrypted")
        from_browser, from_terminal = f"{marker} from the browser", f"{marker} from the terminal"
        send_ui(a, from_browser)
        at = term.wait_for(f"] alice: {from_browser}\n")
        term.type(f"{from_terminal}\n")
        term.wait_for(f"] {visible}: {from_terminal}", start=at)
        wait_messages(a, [from_browser, from_terminal])
        term.interrupt()
        assert term.wait_exit() == 130, term.output
    finally:
        term.close()

    # -- peerlane send --room: a marked file name and contents, to the browser.
    path = tmp_path / f"{marker}-from-the-terminal.txt"
    sha = marked_file(path, marker, 2 * 1024 * 1024 + 3)
    args = ["send", str(path), "--room", link, "--name", f"{visible}s"]
    sender = Cli(tmp_path, "send", args, PEERLANE_P2P_TIMEOUT="90", **DATA_CHANNEL, **config)
    clis.append(sender)
    incoming = wait_offer(a, sender, timeout=60)
    accept_ui(a, incoming)
    view = wait_transfer(a, incoming, "done", timeout=120)
    assert view["name"] == path.name, view
    saved = save_received_ui(a, incoming, tmp_path / "saved.bin")
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == sha
    assert sender.finish() == 0, sender.describe()
    expect(a.locator(MESSAGE).filter(has_text="could not be decrypted")).to_have_count(0)

    # Both terminals published their identity keys in the room (as a browser does).
    keys = a.evaluate(
        "async (id) => (await (await fetch(`/api/rooms/${id}/participants`)).json())"
        ".participants.map((p) => [p.name, p.identity_key])",
        room_id,
    )
    published = {name for name, key in keys if key}
    assert {visible, f"{visible}s"} <= published, keys

    stored = history(a, room_id, opened=False)
    assert {m["kind"] for m in stored} >= {"text", "file"}, stored
    assert all(m["body"] is None or m["body"].startswith("e2e1.") for m in stored), stored

    proc.stop()  # everything on disk, the log closed
    seen = everything_the_server_has(proc, record)
    assert seen.count(visible.encode()) > 0, "the search misses the terminal's traffic"
    for spelling in spellings(marker):
        assert seen.count(spelling) == 0, f"{spelling!r} reached the server"
