"""The direct-TCP fast path between two ``peerlane`` CLIs, inside the test namespace: a
100 MB file over it (hash and root match, the summary says so); with the sender's TCP
listener unreachable the data channel carries the file instead; a ``send`` killed midway
and run again goes on over the fast path (its new listener), from the receiver's last
verified block. The refusals of a wrong key are tested on loopback
(tests/unit/test_fast_link.py)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from e2e.cli_peers import CLEAR, Cli, receive, send, wire_bytes
from e2e.helpers import random_file, sha256_file
from peerlane.core import e2e_file
from support import ServerProcess, wait_until

pytestmark = pytest.mark.browser
MB = 1000 * 1000


def test_cli_to_cli_100_mb_over_the_fast_path(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
) -> None:
    size = 100 * MB + 17
    digest, root = random_file(tmp_path / "big.bin", size)
    # A clear room: its blocks cross unsealed, so the wire carries exactly the file's size.
    sender = send(clis, tmp_path, server, tmp_path / "big.bin", *CLEAR)
    code = sender.wait_for(r"Code: (\S+)").group(1)
    receiver = receive(clis, tmp_path, code, tmp_path / "got", "--server", server.base)
    assert receiver.finish() == 0, receiver.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(tmp_path / "got" / "big.bin") == digest
    assert "via fast path" in receiver.output
    assert "via fast path" in sender.output
    assert f"verified {root}  big.bin" in receiver.output
    assert wire_bytes(sender) == size


def test_an_unreachable_fast_path_leaves_the_file_to_the_data_channel(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
    tcp_blocked: None,
) -> None:
    digest, _ = random_file(tmp_path / "small.bin", 2 * MB + 3)
    sender = send(clis, tmp_path, server, tmp_path / "small.bin", *CLEAR, PEERLANE_P2P_TIMEOUT="60")
    code = sender.wait_for(r"Code: (\S+)").group(1)
    receiver = receive(clis, tmp_path, code, tmp_path / "got", "--server", server.base)
    assert receiver.finish() == 0, receiver.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(tmp_path / "got" / "small.bin") == digest
    assert "via peer to peer" in receiver.output
    assert "fast path" not in sender.output


@pytest.mark.parametrize("receiver_too", [False, True], ids=["receiver-kept", "receiver-rerun"])
def test_a_killed_send_run_again_goes_on_over_the_fast_path(
    server: ServerProcess,
    tmp_path: Path,
    clis: list[Cli],
    receiver_too: bool,
) -> None:
    """The earlier run's offer names its listener, gone with it: the rerun offers again
    (the same transfer) with its own, and the receiver, still running or run again after
    the rerun (reading the room's history), resumes over it."""
    size = 300 * MB
    digest, _ = random_file(tmp_path / "film.mkv", size)
    first = send(clis, tmp_path, server, tmp_path / "film.mkv")  # an encrypted room
    link = first.wait_for(r"Link: (\S+)").group(1)
    out = tmp_path / "got"
    receiver = receive(clis, tmp_path, link, out)
    state = out / "film.mkv.peerlane-part.json"
    wait_until(state.exists, timeout=120, what="a first resume state saved")
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    if receiver_too:
        receiver.proc.send_signal(signal.SIGKILL)
        receiver.proc.wait()
    assert not (out / "film.mkv").exists()
    second = send(clis, tmp_path, server, tmp_path / "film.mkv")
    if receiver_too:
        second.wait_for(r"Link: (\S+)")  # (the same room, entered again)
        receiver = receive(clis, tmp_path, link, out)
    assert second.finish() == 0, second.describe()
    assert receiver.finish() == 0, receiver.describe()
    assert sha256_file(out / "film.mkv") == digest
    assert "Resuming the earlier run" in second.err_path.read_text()
    # The rerun's bytes went over its fast path, not the data channel, from the
    # receiver's last verified block.
    assert "via fast path" in second.output, second.describe()
    assert "peer to peer" not in second.output, second.describe()
    sealed = e2e_file.sealed_size(size)
    if receiver_too:  # (a run of its own: what it got is what was missing)
        assert wire_bytes(receiver) < sealed
        # The first receiver's accept, its participant gone, has the rerun upload a
        # server copy for it at once (the fallback for a receiver away): not counted.
    else:
        assert wire_bytes(second) < sealed
        assert wire_bytes(receiver) <= 1.1 * sealed  # both runs' bytes, in all
