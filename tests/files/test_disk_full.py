"""A full disk mid-upload: a clean 507 ``storage_full``, nothing partial is served as
complete, and the upload resumes once space is freed. On a real 1 MiB tmpfs where the
tests may mount one (root), else on a store that emulates a 1 MiB disk."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from files.capped_server import CappedServer
from files.tusraw import Tus, file_id, sha
from support import ServerProcess, assert_error, create_room

KIB = 1024
CAPACITY = 1024 * KIB


@contextlib.contextmanager
def small_tmpfs(path: Path) -> Iterator[bool]:
    """Mount a 1 MiB tmpfs on ``path`` if this machine lets us; yields whether it did."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={CAPACITY}", "tmpfs", str(path)],
        capture_output=True, check=False,
    ).returncode == 0  # fmt: skip
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@pytest.fixture(params=["tmpfs", "emulated"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    """A server whose files go to a 1 MiB disk; the disk's directory."""
    files_dir = tmp_path / "small-disk"
    with (
        small_tmpfs(files_dir)
        if request.param == "tmpfs"
        else contextlib.nullcontext(False) as real
    ):
        env = {"PEERLANE_FILES_DIR": str(files_dir)}
        if real:
            server: ServerProcess = ServerProcess(tmp_path / "data", env=env)
        else:  # cannot mount here: the same test on the emulated disk
            server = CappedServer(tmp_path / "data", env=env, capacity=CAPACITY)
        server.start()
        try:
            yield server, files_dir
        finally:
            server.stop()


def free_space(files_dir: Path, server: ServerProcess) -> int:
    if isinstance(server, CappedServer):
        used = sum(p.stat().st_size for p in files_dir.rglob("*") if p.is_file())
        return CAPACITY - used
    st = os.statvfs(files_dir)
    return st.f_bavail * st.f_frsize


def test_disk_full_then_resume(disk: tuple[ServerProcess, Path]) -> None:
    server, files_dir = disk
    data = os.urandom(600 * KIB)
    with httpx.Client(base_url=server.base, timeout=30) as http:
        member = create_room(http)
        tus = Tus.member(http, member)
        # A file the disk could never hold is refused up front.
        assert_error(tus.create(2 * CAPACITY, room=member.room_id), 507, "storage_full")

        url = tus.new(len(data), room=member.room_id, name="big.bin")
        assert tus.patch(url, data[: 100 * KIB], 0).status_code == 204
        filler = files_dir / "filler"
        filler.write_bytes(b"\0" * (free_space(files_dir, server) - 150 * KIB))

        r = tus.patch(url, data[100 * KIB :], 100 * KIB)
        message = assert_error(r, 507, "storage_full")
        assert "resumed" in message
        offset = tus.offset(url)
        assert 100 * KIB <= offset < len(data)  # what reached the disk was kept

        # Nothing partial is served as complete.
        listed = http.get(f"/api/rooms/{member.room_id}/files", headers=member.auth).json()
        assert listed["files"] == []
        r = http.get(f"/api/rooms/{member.room_id}/files/{file_id(url)}", headers=member.auth)
        assert_error(r, 404, "file_not_found")

        filler.unlink()  # space frees up
        r = tus.patch(url, data[offset:], offset)
        assert r.status_code == 204, r.text
        got = http.get(f"/api/rooms/{member.room_id}/files/{file_id(url)}", headers=member.auth)
        assert sha(got.content) == sha(data)
