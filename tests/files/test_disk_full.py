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
from peerlane.core.tus import encode_metadata
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


@pytest.fixture
def reserve() -> int:
    """storage_reserve_bytes of the server (a test parametrises it to change it)."""
    return 0


@pytest.fixture
def quota() -> int | None:
    """storage_quota_bytes of the server: by default more than the disk, so that the
    disk's own limits are what the tests meet; None leaves it unset (derived)."""
    return 10 * CAPACITY


@pytest.fixture(params=["tmpfs", "emulated"])
def disk(
    request: pytest.FixtureRequest, tmp_path: Path, reserve: int, quota: int | None
) -> Iterator[tuple[ServerProcess, Path]]:
    """A server whose files go to a 1 MiB disk; the disk's directory."""
    files_dir = tmp_path / "small-disk"
    with (
        small_tmpfs(files_dir)
        if request.param == "tmpfs"
        else contextlib.nullcontext(False) as real
    ):
        env = {
            "PEERLANE_FILES_DIR": str(files_dir),
            "PEERLANE_STORAGE_RESERVE_BYTES": str(reserve),
            "PEERLANE_FILE_OVERHEAD_BYTES": "0",
        }
        if quota is not None:
            env["PEERLANE_STORAGE_QUOTA_BYTES"] = str(quota)
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
        assert_error(tus.create(2 * CAPACITY, room=member.room_id), 507, "insufficient_storage")

        url = tus.new(len(data), room=member.room_id, name="big.bin")
        assert tus.patch(url, data[: 100 * KIB], 0).status_code == 204
        filler = files_dir / "filler"
        filler.write_bytes(b"\0" * (free_space(files_dir, server) - 150 * KIB))

        r = tus.patch(url, data[100 * KIB :], 100 * KIB)
        # What fits is written (and the reserve, here 0, stops it), or the disk itself
        # says ENOSPC first (a real file system's blocks): either way, a clean 507.
        code = r.json()["error"]["code"]
        message = assert_error(r, 507, code)
        assert code in ("storage_full", "insufficient_storage")
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


@pytest.mark.parametrize("reserve", [256 * KIB])
def test_the_reserve_stays_free(disk: tuple[ServerProcess, Path], reserve: int) -> None:
    """Uploads are refused (507 insufficient_storage) before they would touch the
    reserve: at creation, counting what uploads under way have yet to write, and while
    writing, when something else has taken the space meanwhile."""
    server, files_dir = disk
    data = os.urandom(400 * KIB)
    with httpx.Client(base_url=server.base, timeout=30) as http:
        member = create_room(http)
        tus = Tus.member(http, member)
        above = free_space(files_dir, server) - reserve
        refused = tus.create(above + 1, room=member.room_id)
        assert "disk" in assert_error(refused, 507, "insufficient_storage")

        # Nothing written yet, but two of these do not fit above the reserve together.
        url = tus.new(len(data), room=member.room_id, name="first.bin")
        assert 2 * len(data) > above
        assert_error(tus.create(len(data), room=member.room_id), 507, "insufficient_storage")

        assert tus.patch(url, data[: 100 * KIB], 0).status_code == 204
        filler = files_dir / "filler"  # someone else fills the disk up to near the reserve
        filler.write_bytes(b"\0" * (free_space(files_dir, server) - reserve - 50 * KIB))
        r = tus.patch(url, data[100 * KIB :], 100 * KIB)
        assert_error(r, 507, "insufficient_storage")
        assert free_space(files_dir, server) >= reserve  # the reserve was not touched
        offset = tus.offset(url)
        assert 100 * KIB <= offset < len(data)

        filler.unlink()  # space frees up: the upload goes on
        assert tus.patch(url, data[offset:], offset).status_code == 204
        got = http.get(f"/api/rooms/{member.room_id}/files/{file_id(url)}", headers=member.auth)
        assert sha(got.content) == sha(data)


@pytest.mark.parametrize(("reserve", "quota"), [(256 * KIB, None)])
def test_the_default_quota_is_a_share_of_the_free_disk(
    disk: tuple[ServerProcess, Path], reserve: int, quota: None
) -> None:
    """Unset, the storage quota is half the space free above the reserve at start."""
    server, files_dir = disk
    derived = (free_space(files_dir, server) - reserve) // 2
    with httpx.Client(base_url=server.base, timeout=30) as http:
        member = create_room(http)
        tus = Tus.member(http, member)
        meta = len(encode_metadata({"room": member.room_id}))
        refused = tus.create(derived - meta + 4 * KIB, room=member.room_id)
        assert_error(refused, 507, "storage_quota_exceeded")
        tus.new(derived - meta - 4 * KIB, room=member.room_id)
