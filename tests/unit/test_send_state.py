"""What a killed ``peerlane send`` resumes from (peer/send_state.py) and the upload that
goes on from the server's offset (peer/server_copy.py ``Resume``), against a real server
process; two ``peerlane send`` processes of the same files at once (one holds the state)."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from peerlane.core import e2e
from peerlane.core.integrity import BLOCK_SIZE
from peerlane.peer import PeerError, http_api, server_copy
from peerlane.peer.owner_keys import Rotated
from peerlane.peer.room_create import NewRoom
from peerlane.peer.send_state import SendState, command_id
from support import TIMEOUT, ServerProcess, wait_until

STARTS = 6 * TIMEOUT  # a command starting under load (it imports aiortc, joins a room)


def _room(server: ServerProcess) -> http_api.Membership:
    body = {"display_name": "alice", "session": "bearer"}
    answer = httpx.post(f"{server.base}/api/rooms", json=body)
    assert answer.status_code == 201, answer.text
    return http_api._membership(server.base, answer.json())


def test_an_upload_goes_on_from_the_servers_offset(server: ServerProcess, tmp_path: Path) -> None:
    member = _room(server)
    content = os.urandom(3 * BLOCK_SIZE + 5)
    source = tmp_path / "a.bin"
    source.write_bytes(content)
    metadata: dict[str, str | None] = {"room": member.room_id, "name": "a.bin"}
    # A first run made the upload and got one chunk in before it was killed.
    url = server_copy._create(member, len(content), metadata)
    server_copy._patch(member, url, content[:BLOCK_SIZE], 0, lambda _n: None)
    made: list[str] = []
    sent: list[int] = []
    resume = server_copy.Resume(url, made.append)
    file_id = server_copy.upload(member, source, metadata, sent.append, None, resume)
    assert sum(sent) == len(content) - BLOCK_SIZE  # only the rest
    assert made == []  # no new upload
    copy = httpx.get(
        f"{server.base}/api/rooms/{member.room_id}/files/{file_id}", headers=member.auth
    )
    assert copy.content == content


def test_an_upload_that_is_gone_starts_anew(server: ServerProcess, tmp_path: Path) -> None:
    member = _room(server)
    content = os.urandom(BLOCK_SIZE + 1)
    source = tmp_path / "b.bin"
    source.write_bytes(content)
    metadata: dict[str, str | None] = {"room": member.room_id}
    gone = server_copy._create(member, len(content), metadata)
    deleted = httpx.delete(gone, headers={"Tus-Resumable": "1.0.0", **member.auth})
    assert deleted.status_code == 204, deleted.text
    made: list[str] = []
    sent: list[int] = []
    server_copy.upload(
        member, source, metadata, sent.append, None, server_copy.Resume(gone, made.append)
    )
    assert sum(sent) == len(content)
    assert len(made) == 1
    assert made[0] != gone


def _member() -> http_api.Membership:
    body = {"room": {"id": "r1", "name": "x"}, "participant": {"id": "p1", "name": "a"}}
    return http_api._membership("http://127.0.0.1:1", {**body, "token": "secret"})


def test_the_state_is_kept_0600_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "f.txt").write_text("hello")
    files = [(tmp_path / "f.txt", "f.txt")]
    command = command_id("http://s|True", None, files)
    assert SendState.load(command) is None
    key = e2e.RoomKey(os.urandom(32))
    member = _member()
    room = NewRoom(member, key, "http://s/join#t.k", "7-amber-falcon", "inv", "amber-falcon")
    state = SendState.start(command, member, key, room)
    state.set_batch("b1", {"b1-0": "root"}, {"b1-0": "F"})
    state.set_upload("b1-0", "http://s/api/rooms/r1/uploads/u1")
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o600
    again = SendState.load(command)
    assert again is not None
    assert again.member() == member
    assert again.room_key() is not None
    assert again.room_key().encoded() == key.encoded()  # type: ignore[union-attr]
    assert again.new_room() == room
    assert (again.batch, again.offered, again.keys()) == ("b1", False, {"b1-0": "F"})
    assert again.upload_url("b1-0") == "http://s/api/rooms/r1/uploads/u1"
    again.check({"b1-0": "root"})  # the same files
    # Another mtime is another command; other roots drop the state.
    os.utime(tmp_path / "f.txt", ns=(1, 1))
    assert command_id("http://s|True", None, files) != command
    with pytest.raises(PeerError, match="changed"):
        again.check({"b1-0": "other"})
    assert SendState.load(command) is None


def test_a_damaged_state_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    state = SendState.start("c1", _member(), None, None)
    state.save()
    state.path.write_text("{not json")
    assert SendState.load("c1") is None
    state.path.write_text('{"v": 1, "member": {"x": 1}, "room_key": null}')
    assert SendState.load("c1") is None


class _Send:
    """A ``peerlane send`` process, its output in a file (read while it runs)."""

    def __init__(self, tmp: Path, label: str, args: list[str]) -> None:
        self.log = tmp / f"{label}.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "peerlane", "send", *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={
                    **os.environ,
                    "XDG_CONFIG_HOME": str(tmp / "config"),
                    "PEERLANE_SERVER": "",
                    "PEERLANE_FAST_PATH": "0",  # (no listener: nothing comes to it)
                },
            )

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def link(self) -> str:
        def shown() -> str | None:
            assert self.proc.poll() is None, self.output
            found = re.search(r"Link: (\S+)", self.output)
            return found.group(1) if found else None

        link: str = wait_until(shown, timeout=STARTS, what="the link")
        return link

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def test_the_same_send_twice_at_once_is_refused_with_the_first_ones_pid(
    server: ServerProcess, tmp_path: Path
) -> None:
    (tmp_path / "f.txt").write_text("hello")
    args = [str(tmp_path / "f.txt"), "--server", server.base, "--name", "alice"]
    started = [first := _Send(tmp_path, "first", args)]
    try:
        link = first.link()
        # Two runs would share one state file (session, offers, uploads): refused at once.
        second = _Send(tmp_path, "second", args)
        started.append(second)
        assert second.proc.wait(timeout=STARTS) == 1, second.output
        assert f"already being sent by another `peerlane send` (pid {first.proc.pid})" in (
            second.output
        )
        assert "Resuming" not in second.output
        # --new sends them again beside it, into a room of its own.
        third = _Send(tmp_path, "third", [*args, "--new"])
        started.append(third)
        assert third.link() != link
        assert "cannot be resumed" in third.output
        third.stop()
        # The lock goes with its process, even killed: the same command resumes its state.
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait()
        again = _Send(tmp_path, "again", args)
        started.append(again)
        assert again.link() == link
        assert "Resuming the earlier run" in again.output
    finally:
        for send in started:
            send.stop()


def test_a_rotation_replaces_the_invite_a_rerun_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    key = e2e.RoomKey(os.urandom(32))
    member = _member()
    room = NewRoom(member, key, "http://s/join#t.k", "7-amber-falcon", "inv", "amber-falcon")
    state = SendState.start("c2", member, key, room)
    state.replace_invite(
        Rotated(1, "inv2", "http://s/join#t2.k1", "8-tiny-cloud", "tiny-cloud", ["inv"])
    )
    again = SendState.load("c2")
    assert again is not None
    assert again.new_room() == NewRoom(
        member, key, "http://s/join#t2.k1", "8-tiny-cloud", "inv2", "tiny-cloud"
    )
    # A --room send made no room: nothing to replace, nothing written.
    joined = SendState.start("c3", member, key, None)
    joined.replace_invite(Rotated(1, "inv2", "l", "c", "w", []))
    assert SendState.load("c3") is None
