"""The terminal's other ways for an end-to-end encrypted room's files (issue #15 item 6/7,
issue #12): the sealed server copy (tus up, Range down, in sealed blocks) between two
CLIs and with Chromium both ways, and the direct-TCP fast path carrying the same sealed
blocks between two CLIs. Files are compared by SHA-256; the server's database, files,
log and (with Chromium) everything it received at its ASGI boundary hold no marker of a
file's name or contents, in the clear or in base64."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from e2e.cli_peers import (
    DATA_CHANNEL,
    Cli,
    browser_room,
    encrypted_room,
    receive,
    send,
    wait_offer,
    wait_peer,
    wire_bytes,
)
from e2e.helpers import (
    accept_ui,
    offer_files_ui,
    random_file,
    save_received_ui,
    sha256_file,
    wait_transfer,
)
from e2e.test_e2e_chat import everything_the_server_has, recording_server  # noqa: F401
from e2e.test_e2e_files import marked_file, spellings
from peerlane.core import e2e_file
from support import ServerProcess, wait_until

pytestmark = pytest.mark.browser
MB = 1000 * 1000
MIB = 1024 * 1024


def server_holds(server: ServerProcess, marker: str, record: Path | None = None) -> list[bytes]:
    """The marker's spellings found in what the server holds (and received)."""
    if record is None:
        seen = b"\n".join(p.read_bytes() for p in server.data_dir.rglob("*") if p.is_file())
    else:
        seen = everything_the_server_has(server, record)
    return [s for s in spellings(marker) if s in seen]


def test_cli_to_cli_100_mb_sealed_over_the_fast_path(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
) -> None:
    marker = f"canary{secrets.token_hex(6)}"
    size = 100 * MB + 17
    name = f"{marker}.bin"
    digest = marked_file(tmp_path / name, marker, size)
    link = encrypted_room(server)
    sender = send(clis, tmp_path, server, tmp_path / name, "--room", link)
    receiver = receive(clis, tmp_path, link, tmp_path / "got")
    assert receiver.finish() == 0, receiver.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(tmp_path / "got" / name) == digest
    assert "via fast path" in receiver.output
    assert "via fast path" in sender.output
    sent = wire_bytes(sender)
    assert sent == e2e_file.sealed_size(size), receiver.describe() + sender.describe()
    assert server_holds(server, marker) == []


def test_cli_to_cli_sealed_through_the_server(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
    udp_blocked: None,
) -> None:
    marker = f"canary{secrets.token_hex(6)}"
    name = f"{marker}.txt"
    size = 5 * MIB + 3
    digest = marked_file(tmp_path / name, marker, size)
    link = encrypted_room(server)
    env = {"PEERLANE_P2P_TIMEOUT": "4", **DATA_CHANNEL}  # (TCP is not blocked)
    sender = send(clis, tmp_path, server, tmp_path / name, "--room", link, **env)
    receiver = receive(clis, tmp_path, link, tmp_path / "got")
    assert receiver.finish() == 0, receiver.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(tmp_path / "got" / name) == digest
    assert "via server" in receiver.output
    assert "via server" in sender.output
    assert wire_bytes(receiver) == e2e_file.sealed_size(size)
    stored = [p for p in (server.data_dir / "files").rglob("*") if p.is_file()]
    assert [p.stat().st_size for p in stored] == [e2e_file.sealed_size(size)]
    assert server_holds(server, marker) == []


def test_a_browser_uploads_sealed_and_the_cli_downloads(
    recording_server: tuple[ServerProcess, Path],  # noqa: F811
    tmp_path: Path,
    clis: list[Cli],
    browsers: object,
) -> None:
    proc, record = recording_server
    marker = f"canary{secrets.token_hex(6)}"
    page, link = browser_room(browsers, proc.base, encrypted=True, p2p=False)
    receiver = receive(clis, tmp_path, link, tmp_path / "got")
    wait_peer(page, "bob", timeout=60)
    name = f"{marker}-b.txt"
    digest = marked_file(tmp_path / name, marker, 2 * MIB + 7)
    [outgoing] = offer_files_ui(page, [tmp_path / name])
    assert receiver.finish() == 0, receiver.describe()
    assert sha256_file(tmp_path / "got" / name) == digest
    assert "via server" in receiver.output
    wait_transfer(page, outgoing)
    proc.stop()  # everything on disk, the log closed
    assert server_holds(proc, marker, record) == []


def test_the_cli_uploads_sealed_and_a_browser_downloads(
    recording_server: tuple[ServerProcess, Path],  # noqa: F811
    tmp_path: Path,
    clis: list[Cli],
    browsers: object,
) -> None:
    proc, record = recording_server
    marker = f"canary{secrets.token_hex(6)}"
    page, link = browser_room(browsers, proc.base, encrypted=True, p2p=False)
    name = f"{marker}-a.txt"
    digest = marked_file(tmp_path / name, marker, 3 * MIB + 5)
    sender = send(clis, tmp_path, proc, tmp_path / name, "--room", link, PEERLANE_P2P_TIMEOUT="4")
    incoming = wait_offer(page, sender, timeout=60)
    accept_ui(page, incoming)
    view = wait_transfer(page, incoming)
    assert (view["name"], view["path"]) == (name, "server"), view
    assert sha256_file(save_received_ui(page, incoming, tmp_path / "saved.bin")) == digest
    assert sender.finish() == 0, sender.describe()
    assert "via server" in sender.output
    proc.stop()
    assert server_holds(proc, marker, record) == []


def test_a_sealed_fast_path_resumes_after_the_receiver_is_killed(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
) -> None:
    size = 300 * MB
    digest, _ = random_file(tmp_path / "film.mkv", size)
    link = encrypted_room(server)
    sender = send(clis, tmp_path, server, tmp_path / "film.mkv", "--room", link)
    out = tmp_path / "got"
    first = receive(clis, tmp_path, link, out)
    state = out / "film.mkv.peerlane-part.json"
    wait_until(state.exists, timeout=120, what="a first resume state saved")
    first.stop()
    assert not (out / "film.mkv").exists()
    second = receive(clis, tmp_path, link, out)
    assert second.finish() == 0, second.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(out / "film.mkv") == digest
    assert "via fast path" in second.output
    assert wire_bytes(second) < e2e_file.sealed_size(size)  # not from the start
    assert wire_bytes(sender) <= size * 1.1
