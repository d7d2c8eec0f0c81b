"""Terminal peers for the end-to-end tests: a ``peerlane`` command run in the background
with its output in files (``Cli``), ``send`` / ``receive`` as the tests start them, the
``clis`` fixture that stops every one and prints what it said (tests/e2e/conftest.py
provides it to this directory; tests/netlab imports it), and the setup the CLI tests
share with a browser: carol's room, the terminal's offer in her page, a peer in her room.

Not a test module: ``tests/e2e/test_cli_*.py``, tests/e2e/test_e2e_canary_cli.py,
tests/e2e/test_scaleout_cli.py and tests/netlab/test_cli.py import from here.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from e2e.helpers import create_room_ui, invite_link, sha256_file, transfer_ids
from peerlane.core import e2e
from support import ServerProcess, interruptible_python, wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from chromium_browsers import Browsers

DEADLINE = 180.0
# The sender offers no direct-TCP fast path (tests/e2e/test_cli_fast_path.py has it): for
# tests about the data channel and the server.
DATA_CHANNEL = {"PEERLANE_FAST_PATH": "0"}
# A room without end-to-end encryption (`send` makes an encrypted one by default:
# tests/e2e/test_cli_pake.py): for the exact byte count, the fast path's clear blocks, and
# the server fallback (the terminal does not send an encrypted room's file through the
# server yet).
CLEAR = ("--no-encrypt",)
# The names of the peers a browser's room page sees.
PEER_NAMES_JS = "() => [...window.peerlane.room.peers.values()].map((p) => p.name)"


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
        """SIGKILL (no goodbye: as a crash or a pulled plug) unless it has exited."""
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


def kill_when_half_received(receiver: Cli, part: Path, size: int) -> None:
    """The first run of a resume test: killed once its partial file holds half of ``size``."""
    wait_until(
        lambda: part.exists() and part.stat().st_size >= size // 2,
        timeout=DEADLINE,
        what="half the file received",
    )
    receiver.stop()


def encrypted_room(server: ServerProcess) -> str:
    """A room made as the browser makes one (its name sealed); its link, key included."""
    key = e2e.RoomKey(os.urandom(32))
    sealed = e2e.seal_room_name(key, os.urandom(12), "Drop")
    r = httpx.post(f"{server.base}/api/rooms", json={"display_name": "owner", "name": sealed})
    assert r.status_code == 201, r.text
    return f"{r.json()['invite']['link']}.{key.encoded()}"


def files_holding(root: Path, marker: bytes) -> list[Path]:
    """The files below ``root`` (a server's data directory) that contain ``marker``."""
    return [f for f in root.rglob("*") if f.is_file() and marker in f.read_bytes()]


def browser_room(
    browsers: Browsers, base: str, *, encrypted: bool, p2p: bool = True
) -> tuple[Page, str]:
    """Carol's Chromium in a room she made ("Drop"): her page and the room's invite link."""
    page = browsers.new("carol", p2p=p2p).page
    create_room_ui(page, base, "carol", "Drop", encrypted=encrypted)
    return page, invite_link(page)


def wait_peer(page: Page, name: str, *, present: bool = True, timeout: float = DEADLINE) -> None:
    """Until the page sees ``name`` among its room's peers (or, ``present=False``, not)."""
    wait_until(
        lambda: (name in page.evaluate(PEER_NAMES_JS)) == present,
        timeout=timeout,
        what=f"{name} in the room" if present else f"{name} gone",
    )


def wait_offer(page: Page, sender: Cli, timeout: float = DEADLINE) -> str:
    """The id of the first incoming transfer the page shows (the terminal's offer); the
    sending terminal's output as the failure when none comes."""
    try:
        incoming: list[str] = wait_until(
            lambda: transfer_ids(page, "in"), timeout=timeout, what="the offer"
        )
    except TimeoutError as exc:
        raise AssertionError(sender.describe()) from exc
    return incoming[0]
