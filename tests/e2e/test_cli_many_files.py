"""Many files and resume over the CLI's fast path, inside the test namespace: a directory
of 5,000 small files CLI → CLI (batched offers, accepts and dones; one fast-path
connection per parallel slot, reused file after file); a receive killed midway over the
fast path and run again (resumes: at most 1.1 times the size on the wire); a batch from the CLI
taken by Chromium, and many files from Chromium taken by the CLI (the browser's side of
the batched messages, web/transfer-batch.js)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from e2e.cli_peers import (
    CLEAR,
    DEADLINE,
    Cli,
    browser_room,
    kill_when_half_received,
    receive,
    send,
    tree,
    wait_peer,
    wire_bytes,
)
from e2e.helpers import (
    accept_ui,
    offer_files_ui,
    random_file,
    save_received_ui,
    sha256_file,
    transfer_ids,
    wait_transfer,
)
from support import ServerProcess, wait_until

pytestmark = pytest.mark.browser
MB = 1000 * 1000


def test_a_directory_of_5000_small_files_arrives_intact(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
) -> None:
    folder = tmp_path / "many"
    for sub in range(10):
        (folder / f"d{sub}").mkdir(parents=True)
        for i in range(500):
            (folder / f"d{sub}" / f"f{i:03}.bin").write_bytes(os.urandom(4096))
    # Both CLI-to-CLI runs here are about the fast path: it carries a clear room's blocks.
    sender = send(clis, tmp_path, server, folder, *CLEAR)
    code = sender.wait_for(r"Code: (\S+)").group(1)
    started = time.monotonic()
    receiver = receive(clis, tmp_path, code, tmp_path / "got", "--server", server.base)
    assert receiver.finish() == 0, receiver.describe()
    assert sender.finish() == 0, sender.describe()
    took = time.monotonic() - started
    assert tree(tmp_path / "got" / "many") == tree(folder)
    assert "Received 5000 file(s), 20480000 bytes" in receiver.output
    assert "via fast path\n" in receiver.output
    assert wire_bytes(sender) == 5000 * 4096
    # One chat message per file each way took 5000 / 4 s: paced messages alone would be
    # over 20 minutes. (A loose bound: the machine is shared; the bench measures.)
    assert took < 120, took


def test_a_receive_killed_midway_over_the_fast_path_resumes(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
) -> None:
    size = 300 * MB + 11  # the resume state is saved every 0.2 s at up to ~100 MB/s
    digest, root = random_file(tmp_path / "film.mkv", size)
    sender = send(clis, tmp_path, server, tmp_path / "film.mkv", *CLEAR)
    link = sender.wait_for(r"Link: (\S+)").group(1)
    out = tmp_path / "got"
    first = receive(clis, tmp_path, link, out)
    kill_when_half_received(first, out / "film.mkv.peerlane-part", size)
    assert not (out / "film.mkv").exists()
    second = receive(clis, tmp_path, link, out)
    assert second.finish() == 0, second.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(out / "film.mkv") == digest
    assert "via fast path\n" in second.output
    assert f"verified {root}  film.mkv" in second.output
    assert wire_bytes(second) < size * 0.6  # only what the first run had not verified
    assert wire_bytes(sender) <= size * 1.1


def test_a_batch_from_the_cli_to_chromium_and_many_files_back(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
    browsers: object,
) -> None:
    page, link = browser_room(browsers, server.base, encrypted=False)
    folder = tmp_path / "batch"
    folder.mkdir()
    digests = {f"n{i}.bin": random_file(folder / f"n{i}.bin", 30_000 + i)[0] for i in range(3)}
    sender = send(clis, tmp_path, server, folder, "--room", link, PEERLANE_P2P_TIMEOUT="90")
    incoming = wait_until(
        lambda: len(ids := transfer_ids(page, "in")) == 3 and ids, timeout=DEADLINE, what="3 offers"
    )
    for transfer in incoming:
        accept_ui(page, transfer)
    for transfer in incoming:
        view = wait_transfer(page, transfer)
        name = view["name"].split("/")[-1]
        saved = save_received_ui(page, transfer, tmp_path / f"saved-{name}")
        assert sha256_file(saved) == digests[name]
    assert sender.finish() == 0, sender.describe()

    # Chromium offers 30 files to a terminal in its room: the terminal accepts them all
    # in one `accepts`, confirms them with `dones`, and the browser takes both.
    wait_peer(page, "alice", present=False)
    receiver = receive(clis, tmp_path, link, tmp_path / "got")
    wait_peer(page, "bob")
    many = tmp_path / "many"
    many.mkdir()
    paths = [many / f"m{i:02}.txt" for i in range(30)]
    for path in paths:
        path.write_bytes(os.urandom(2000))
    outgoing = offer_files_ui(page, paths)
    for transfer in outgoing:
        wait_transfer(page, transfer)
    assert receiver.finish() == 0, receiver.describe()
    for path in paths:
        assert sha256_file(tmp_path / "got" / path.name) == sha256_file(path)
    assert not list((tmp_path / "got").glob("n*.bin"))  # the gone sender's batch: not taken
