"""The direct-TCP fast path between two ``peerlane`` CLIs, inside the test namespace: a
100 MB file over it (hash and root match, the summary says so); with the sender's TCP
listener unreachable the data channel carries the file instead. The refusals of a wrong
key are tested on loopback (tests/unit/test_fast_link.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.cli_peers import CLEAR, Cli, receive, send, wire_bytes
from e2e.helpers import random_file, sha256_file
from support import ServerProcess

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
