"""A ``peerlane send`` killed during its server upload (UDP blocked: no direct path)
resumes it when the same command runs again (issue #12, "a dropped connection resumes
instead of starting over"): the same participant comes back with the session it kept
(mode 0600 in the config directory), offers nothing new, HEADs the upload and PATCHes
from there. In a room without encryption and in an encrypted one (sealed blocks, the
same file key F). Marked ``browser``: runs in the e2e namespace (scripts/netns-run)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import httpx
import pytest

from e2e.cli_peers import (
    CLEAR,
    DATA_CHANNEL,
    Cli,
    browser_room,
    encrypted_room,
    receive,
    send,
    wait_offer,
    wire_bytes,
)
from e2e.helpers import (
    accept_ui,
    random_file,
    save_received_ui,
    sha256_file,
    transfer_ids,
    wait_transfer,
)
from peerlane.core import e2e_file
from peerlane.peer.server_copy import CHUNK_BYTES
from support import ServerProcess, wait_until

pytestmark = pytest.mark.browser
MIB = 1024 * 1024
SIZE = 120 * MIB + 11  # the chunk a kill loses (8 MiB) is under a tenth of it
ENV = {"PEERLANE_P2P_TIMEOUT": "4", **DATA_CHANNEL}  # (TCP is not blocked)


def uploading(server: ServerProcess, at_least: int) -> Path | None:
    """The server's partial upload once it holds ``at_least`` bytes."""
    parts = [p for p in server.data_dir.rglob("*.part") if p.stat().st_size >= at_least]
    return parts[0] if parts else None


def kept_state(tmp: Path) -> dict[str, object]:
    """The killed send's resume state: one file, readable by its owner only."""
    states = list((tmp / "peerlane" / "send").glob("*.json"))
    assert len(states) == 1, states
    assert stat.S_IMODE(states[0].stat().st_mode) == 0o600
    data: dict[str, object] = json.loads(states[0].read_text())
    return data


def committed(server: ServerProcess, state: dict[str, object]) -> int:
    """The upload's offset on the server (HEAD with the kept session)."""
    (url,) = state["uploads"].values()  # type: ignore[attr-defined]
    token = state["member"]["token"]  # type: ignore[index]
    answer = httpx.head(
        url, headers={"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return int(answer.headers["Upload-Offset"])


def kill_and_rerun(
    server: ServerProcess, tmp: Path, started: list[Cli], args: list[object], wire_size: int
) -> None:
    digest, _ = random_file(tmp / "film.mkv", SIZE)
    first = send(started, tmp, server, tmp / "film.mkv", *args, **ENV)
    link = first.wait_for(r"Link: (\S+)").group(1) if "--room" not in args else str(args[-1])
    receiver = receive(started, tmp, link, tmp / "got")
    wait_until(lambda: uploading(server, int(wire_size * 0.4)), timeout=180, what="40 % up")
    first.stop()
    state = kept_state(tmp)
    before = committed(server, state)
    assert 0 < before < wire_size
    second = send(started, tmp, server, tmp / "film.mkv", *args, **ENV)
    assert second.finish() == 0, second.describe()
    assert receiver.finish() == 0, receiver.describe()
    assert sha256_file(tmp / "got" / "film.mkv") == digest
    assert sorted(os.listdir(tmp / "got")) == ["film.mkv"]  # one file, no second offer
    assert "Received 1 file(s)" in receiver.output
    assert "via server" in second.output
    assert "via server" in receiver.output
    if "--room" not in args:  # the room the first run made, shown again
        assert second.wait_for(r"Link: (\S+)").group(1) == link
    again = wire_bytes(second)
    assert again <= wire_size - before + CHUNK_BYTES, second.describe()  # not from the start
    # In all: what the first run got committed, the chunk its kill lost, the rest.
    assert before + CHUNK_BYTES + again <= 1.1 * wire_size
    assert not list((tmp / "peerlane" / "send").glob("*.json"))  # done: the state went


def test_a_killed_send_resumes_its_upload_in_a_room_without_encryption(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
    udp_blocked: None,
) -> None:
    kill_and_rerun(server, tmp_path, clis, [*CLEAR], SIZE)


def test_a_killed_send_resumes_its_sealed_upload_in_an_encrypted_room(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
    udp_blocked: None,
) -> None:
    link = encrypted_room(server)
    kill_and_rerun(server, tmp_path, clis, ["--room", link], e2e_file.sealed_size(SIZE))


def test_a_browser_receiver_gets_one_offer_and_one_file_after_the_rerun(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
    browsers: object,
) -> None:
    size = 40 * MIB + 3
    page, link = browser_room(browsers, server.base, encrypted=True, p2p=False)
    digest, _ = random_file(tmp_path / "film.mkv", size)
    args = [tmp_path / "film.mkv", "--room", link]
    first = send(clis, tmp_path, server, *args, **ENV)
    incoming = wait_offer(page, first, timeout=60)
    accept_ui(page, incoming)
    wait_until(lambda: uploading(server, int(size * 0.4)), timeout=120, what="40 % up")
    first.stop()
    second = send(clis, tmp_path, server, *args, **ENV)
    view = wait_transfer(page, incoming)
    assert view["path"] == "server", view
    assert sha256_file(save_received_ui(page, incoming, tmp_path / "saved.bin")) == digest
    assert second.finish() == 0, second.describe()
    assert transfer_ids(page, "in") == [incoming]  # one offer, not a second one
    assert wire_bytes(second) < 0.7 * e2e_file.sealed_size(size)  # not from the start
