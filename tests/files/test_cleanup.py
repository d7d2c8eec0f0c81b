"""The periodic cleanup removes expired uploads, expired shares and the files of
deleted rooms, bytes included (a fast cleanup_interval; we poll for the result)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from files.tusraw import Tus, file_id
from support import ServerProcess, assert_error, create_room, wait_until


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"PEERLANE_UPLOAD_TTL": "1", "PEERLANE_CLEANUP_INTERVAL": "0.2"}


def blob(server: ServerProcess, url: str) -> Path:
    fid = file_id(url)
    return server.data_dir / "files" / fid[:2] / fid


def stored(server: ServerProcess, url: str) -> bool:
    path = blob(server, url)
    return path.exists() or path.with_name(path.name + ".part").exists()


def test_expired_upload_is_removed(fserver: ServerProcess, fhttp: httpx.Client) -> None:
    member = create_room(fhttp)
    tus = Tus.member(fhttp, member)
    url = tus.new(100, room=member.room_id)
    assert tus.patch(url, b"x" * 10, 0).status_code == 204
    assert stored(fserver, url)
    wait_until(lambda: tus.head(url).status_code == 404, what="expired upload removed")
    assert not stored(fserver, url)


def test_expired_share_is_removed_with_its_files(
    fserver: ServerProcess, fhttp: httpx.Client
) -> None:
    created = fhttp.post("/api/shares", json={"ttl": 1}).json()
    token = created["link"].split("#", 1)[1]
    owner = Tus(fhttp, {"Authorization": f"Bearer {created['manage_token']}"})
    url = owner.upload(b"bye", share=created["id"])
    assert blob(fserver, url).exists()
    wait_until(lambda: not stored(fserver, url), what="share files removed")
    r = fhttp.post("/api/shares/open", json={"token": token})
    assert_error(r, 404, "share_not_found")


def test_files_of_a_deleted_room_are_removed(fserver: ServerProcess, fhttp: httpx.Client) -> None:
    owner = create_room(fhttp)
    tus = Tus.member(fhttp, owner)
    url = tus.upload(b"room file", room=owner.room_id)
    assert blob(fserver, url).exists()
    assert fhttp.delete(f"/api/rooms/{owner.room_id}", headers=owner.auth).status_code == 204
    wait_until(lambda: not stored(fserver, url), what="room files removed")


def test_deleting_a_file_removes_its_bytes_at_once(
    fserver: ServerProcess, fhttp: httpx.Client
) -> None:
    owner = create_room(fhttp)
    url = Tus.member(fhttp, owner).upload(b"gone soon", room=owner.room_id)
    r = fhttp.delete(f"/api/rooms/{owner.room_id}/files/{file_id(url)}", headers=owner.auth)
    assert r.status_code == 204
    assert not stored(fserver, url)
