"""``peerlane send`` / ``peerlane receive`` inside the test namespace: CLI to CLI (a file
and a directory), a receive killed halfway and run again (resumes), peer to peer made
impossible (tus fallback), and CLI ↔ Chromium both ways (the browser's own transfer
protocol). Marked ``browser`` so they run in the e2e stage (scripts/netns-run)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from e2e.helpers import (
    accept_ui,
    create_room_ui,
    invite_link,
    offer_files_ui,
    random_file,
    save_received_ui,
    sha256_file,
    transfer_ids,
    wait_transfer,
)
from support import ServerProcess, interruptible_python, wait_until
from terminal import Terminal

pytestmark = pytest.mark.browser
MIB = 1024 * 1024
DEADLINE = 180.0
# The sender offers no direct-TCP fast path (tests/e2e/test_cli_fast_path.py has it): these
# tests are about the data channel and the server.
DATA_CHANNEL = {"PEERLANE_FAST_PATH": "0"}
# A room without end-to-end encryption (`send` makes an encrypted one by default:
# tests/e2e/test_cli_pake.py): for the exact byte count, and the server fallback (the
# terminal does not send an encrypted room's file through the server yet).
CLEAR = ("--no-encrypt",)


class Cli:
    """A ``peerlane`` command with its output in files (read while it runs)."""

    def __init__(
        self, tmp: Path, label: str, args: list[str], prefix: Sequence[str] = (), **env: str
    ) -> None:
        """``prefix``: what runs the command (``ip netns exec NS``: tests/netlab)."""
        self.out_path, self.err_path = tmp / f"{label}.out", tmp / f"{label}.err"
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                [*prefix, *interruptible_python("-m", "peerlane", *args)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env={**os.environ, "PEERLANE_SERVER": "", "XDG_CONFIG_HOME": str(tmp), **env},
            )

    @property
    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def wait_for(self, pattern: str) -> re.Match[str]:
        def found() -> re.Match[str] | None:
            if self.proc.poll() is not None and not re.search(pattern, self.output):
                raise AssertionError(f"exited {self.proc.returncode}: {self.describe()}")
            return re.search(pattern, self.output)

        match: re.Match[str] = wait_until(found, timeout=DEADLINE, what=pattern)
        return match

    def finish(self) -> int:
        try:
            return self.proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"still running: {self.describe()}") from None

    def describe(self) -> str:
        return f"\nstdout:\n{self.output}\nstderr:\n{self.err_path.read_text(errors='replace')}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def clis(tmp_path: Path) -> Iterator[list[Cli]]:
    started: list[Cli] = []
    yield started
    for cli in started:
        cli.stop()
        # Shown under the report of a failed test ("Captured stdout teardown"): what each
        # command printed, whichever wait or assertion failed.
        print(f"--- {cli.out_path.stem} (exit {cli.proc.returncode}):{cli.describe()}")


def send(clis: list[Cli], tmp: Path, server: ServerProcess, *args: object, **env: str) -> Cli:
    args = ["send", *map(str, args), "--server", server.base, "--name", "alice"]
    cli = Cli(tmp, f"send{len(clis)}", args, **env)
    clis.append(cli)
    return cli


def receive(clis: list[Cli], tmp: Path, invite: str, out: Path, *more: str) -> Cli:
    args = ["receive", invite, "-o", str(out), "--yes", "--name", "bob", *more]
    cli = Cli(tmp, f"receive{len(clis)}", args)
    clis.append(cli)
    return cli


def wire_bytes(cli: Cli) -> int:
    return int(cli.wait_for(r"bytes on the wire: (\d+)").group(1))


def tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_cli_to_cli_a_large_file_and_a_directory_of_small_files(
    server: ServerProcess, tmp_path: Path, clis: list[Cli]
) -> None:
    big_hash, big_root = random_file(tmp_path / "big.bin", 24 * MIB + 123)
    folder = tmp_path / "photos"
    (folder / "2024" / "summer").mkdir(parents=True)
    for i in range(40):
        random_file(folder / "2024" / "summer" / f"p{i}.jpg", 4096 + i)
    random_file(folder / "notes.txt", 10)
    (folder / "empty").touch()
    sender = send(clis, tmp_path, server, tmp_path / "big.bin", folder, *CLEAR, **DATA_CHANNEL)
    code = sender.wait_for(r"Code: (\S+)").group(1)
    out = tmp_path / "got"
    receiver = receive(clis, tmp_path, code, out, "--server", server.base)
    assert receiver.finish() == 0, receiver.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(out / "big.bin") == big_hash
    assert tree(out / "photos") == tree(folder)
    assert "via peer to peer" in receiver.output
    assert f"verified {big_root}  big.bin" in receiver.output
    files = [p for p in folder.rglob("*") if p.is_file()]
    size = (24 * MIB + 123) + sum(p.stat().st_size for p in files)
    # Every byte once; at most 1 % more (86 KB more was seen once at load 30, not traced
    # further): a second copy of the lot would still fail.
    assert size <= wire_bytes(sender) <= size * 1.01
    assert not list(out.rglob("*.peerlane-part*"))


def test_a_receive_killed_halfway_resumes_from_its_verified_blocks(
    server: ServerProcess, tmp_path: Path, clis: list[Cli]
) -> None:
    size = 48 * MIB
    digest, _ = random_file(tmp_path / "film.mkv", size)
    sender = send(clis, tmp_path, server, tmp_path / "film.mkv", **DATA_CHANNEL)
    link = sender.wait_for(r"Link: (\S+)").group(1)
    out = tmp_path / "got"
    first = receive(clis, tmp_path, link, out)
    part = out / "film.mkv.peerlane-part"
    wait_until(
        lambda: part.exists() and part.stat().st_size >= size // 2,
        timeout=DEADLINE,
        what="half the file received",
    )
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    assert not (out / "film.mkv").exists()
    second = receive(clis, tmp_path, link, out)
    assert second.finish() == 0, second.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(out / "film.mkv") == digest
    assert wire_bytes(second) < size * 0.75  # only what the first run had not verified
    assert wire_bytes(sender) <= size * 1.1


def test_without_a_direct_path_the_file_goes_through_the_server(
    server: ServerProcess, tmp_path: Path, clis: list[Cli], udp_blocked: None
) -> None:
    digest, _ = random_file(tmp_path / "report.pdf", 3 * MIB + 5)
    env = {"PEERLANE_P2P_TIMEOUT": "4", **DATA_CHANNEL}  # (TCP is not blocked)
    sender = send(clis, tmp_path, server, tmp_path / "report.pdf", *CLEAR, **env)
    link = sender.wait_for(r"Link: (\S+)").group(1)
    # A file of that name is there: nothing is accepted, nothing overwritten.
    (tmp_path / "got").mkdir()
    (tmp_path / "got" / "report.pdf").write_text("mine")
    refused = receive(clis, tmp_path, link, tmp_path / "got")
    assert refused.finish() == 2, refused.describe()
    assert "exists already; add --overwrite" in refused.err_path.read_text()
    assert (tmp_path / "got" / "report.pdf").read_text() == "mine"
    receiver = receive(clis, tmp_path, link, tmp_path / "got", "--overwrite")
    assert receiver.finish() == 0, receiver.describe()
    assert sender.finish() == 0, sender.describe()
    assert sha256_file(tmp_path / "got" / "report.pdf") == digest
    assert "via server" in receiver.output
    assert "via server" in sender.output


def test_cli_and_browser_in_a_room_the_browser_made_both_ways(
    server: ServerProcess, tmp_path: Path, clis: list[Cli], browsers: object
) -> None:
    page = browsers.new("carol", p2p=True).page  # type: ignore[attr-defined]
    # A room without end-to-end encryption: the terminal cannot seal yet (it refuses an
    # encrypted room's link: tests/unit/test_cli_chat_e2e.py).
    create_room_ui(page, server.base, "carol", "Drop", encrypted=False)
    link = invite_link(page)
    # The terminal sends into the browser's room; the browser accepts as from a browser.
    digest, _ = random_file(tmp_path / "to-browser.bin", 6 * MIB + 7)
    # (No fallback upload meanwhile: the receive below must find no copy of it.)
    file = tmp_path / "to-browser.bin"
    sender = send(clis, tmp_path, server, file, "--room", link, PEERLANE_P2P_TIMEOUT="90")
    incoming = wait_until(lambda: transfer_ids(page, "in"), timeout=DEADLINE, what="the offer")
    accept_ui(page, incoming[0])
    view = wait_transfer(page, incoming[0])
    assert view["path"] in ("direct", "turn"), view
    assert sha256_file(save_received_ui(page, incoming[0], tmp_path / "saved.bin")) == digest
    assert sender.finish() == 0, sender.describe()
    # The terminal names the path the browser saw (and nothing else: no server copy).
    words = {"direct": "direct", "turn": "TURN relay"}[view["path"]]
    assert f"via peer to peer ({words})\n" in sender.output, sender.describe()

    # The browser sends to a terminal that joined its room (the gone sender's offer in
    # the history is not taken).
    names = "() => [...window.peerlane.room.peers.values()].map((p) => p.name)"
    wait_until(lambda: "alice" not in page.evaluate(names), timeout=DEADLINE, what="alice gone")
    receiver = receive(clis, tmp_path, link, tmp_path / "got")
    wait_until(lambda: "bob" in page.evaluate(names), timeout=DEADLINE, what="bob in the room")
    digest2, _ = random_file(tmp_path / "from-browser.bin", 5 * MIB + 3)
    [outgoing] = offer_files_ui(page, [tmp_path / "from-browser.bin"])
    assert receiver.finish() == 0, receiver.describe()
    assert sha256_file(tmp_path / "got" / "from-browser.bin") == digest2
    assert not (tmp_path / "got" / "to-browser.bin").exists()
    assert "via peer to peer" in receiver.output
    wait_transfer(page, outgoing)


def test_ctrl_c_cancels_and_tells_the_other_side(
    server: ServerProcess, tmp_path: Path, clis: list[Cli]
) -> None:
    # Big enough that the Ctrl-C lands mid-way even when the data channel runs fast.
    random_file(tmp_path / "slow.bin", 160 * MIB)
    sender = send(clis, tmp_path, server, tmp_path / "slow.bin", **DATA_CHANNEL)
    link = sender.wait_for(r"Link: (\S+)").group(1)
    receiver = receive(clis, tmp_path, link, tmp_path / "got")
    part = tmp_path / "got" / "slow.bin.peerlane-part"
    wait_until(lambda: part.exists() and part.stat().st_size > 0, timeout=DEADLINE, what="bytes")
    receiver.proc.send_signal(signal.SIGINT)
    assert receiver.finish() == 130, receiver.describe()
    assert sender.finish() == 5, sender.describe()
    assert "bob cancelled slow.bin" in sender.err_path.read_text()
    assert part.exists()  # kept: the same command again resumes


def test_receive_asks_first_and_a_no_tells_the_sender(
    server: ServerProcess, tmp_path: Path, clis: list[Cli]
) -> None:
    (tmp_path / "plan.txt").write_text("the plan")
    sender = send(clis, tmp_path, server, tmp_path / "plan.txt")
    link = sender.wait_for(r"Link: (\S+)").group(1)
    term = Terminal(
        ["receive", link, "-o", str(tmp_path / "got"), "--name", "bob"],
        env={"XDG_CONFIG_HOME": str(tmp_path), "PEERLANE_SERVER": ""},
    )
    try:
        at = term.wait_for("plan.txt  (8 B)", timeout=DEADLINE)
        term.wait_for("Accept 1 file(s), 8 B, from alice? [y/N] ", timeout=DEADLINE, start=at)
        term.type("n\n")
        # It used to ask again as it left (its links closing brought the offer back) and
        # hang on that unanswered question: once asked, once declined.
        assert term.wait_exit(timeout=DEADLINE) == 5, term.output
        assert term.output.count("plan.txt  (8 B)") == 1, term.output
    finally:
        term.close()
    assert sender.finish() == 5, sender.describe()
    assert "bob declined plan.txt" in sender.err_path.read_text()
    assert not (tmp_path / "got").exists()
