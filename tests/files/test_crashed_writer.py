"""A server killed (SIGKILL) while a PATCH writes must not keep the upload locked: the
restarted server, or another instance on the same machine, takes the next PATCH at
once; while the writer lives, another instance is still kept out (423)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from files.conftest import RELAXED_LIMITS
from files.tusraw import SlowPatch, Tus, file_id, sha
from support import Member, ServerProcess, assert_error, create_room, wait_until

MIB = 1024 * 1024
DATA = os.urandom(8 * MIB)


def writing(server: ServerProcess, member: Member, url: str) -> SlowPatch:
    """Start a slow PATCH and return once the server has saved some of it."""
    sender = SlowPatch(lambda: httpx.Client(base_url=server.base, timeout=30), url, member, DATA)
    sender.start()
    with httpx.Client(base_url=server.base, timeout=10) as http:
        tus = Tus.member(http, member)
        wait_until(lambda: tus.offset(url) > 0, timeout=15)
    return sender


def finish(server: ServerProcess, member: Member, url: str) -> httpx.Response:
    """One PATCH of the rest, from the offset the server has."""
    with httpx.Client(base_url=server.base, timeout=30) as http:
        tus = Tus.member(http, member)
        offset = tus.offset(url)
        return tus.patch(url, DATA[offset:], offset)


def check_complete(server: ServerProcess, member: Member, url: str) -> None:
    with httpx.Client(base_url=server.base, timeout=30) as http:
        got = http.get(f"/api/rooms/{member.room_id}/files/{file_id(url)}", headers=member.auth)
        assert got.status_code == 200
        assert sha(got.content) == sha(DATA)


def test_a_restarted_server_frees_the_uploads_it_was_writing(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", env=RELAXED_LIMITS).start()
    try:
        with httpx.Client(base_url=server.base, timeout=30) as http:
            member = create_room(http)
            url = Tus.member(http, member).new(len(DATA), room=member.room_id)
        sender = writing(server, member, url)
        server.kill()
        sender.stop.set()
        sender.join()
        server.start()
        started = time.monotonic()
        r = finish(server, member, url)  # the first try, not after 423s
        assert r.status_code == 204, r.text
        assert time.monotonic() - started < 5
        check_complete(server, member, url)
    finally:
        server.stop()


@pytest.fixture
def two_instances(store_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes sharing one database and one files directory."""
    env = {
        **RELAXED_LIMITS,
        "PEERLANE_DATABASE_URL": store_url,
        "PEERLANE_FILES_DIR": str(tmp_path / "files"),
    }
    a = ServerProcess(tmp_path / "a", env=env).start()
    b = ServerProcess(tmp_path / "b", env=env).start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def test_a_killed_instance_does_not_lock_out_the_other(
    two_instances: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_instances
    with httpx.Client(base_url=a.base, timeout=30) as http:
        member = create_room(http)
        url = Tus.member(http, member).new(len(DATA), room=member.room_id)
    sender = writing(a, member, url)
    url_b = url.replace(a.base, b.base)
    # While a writes, b may not: one writer per upload across instances.
    with httpx.Client(base_url=b.base, timeout=30) as http:
        tus = Tus.member(http, member)
        offset = tus.offset(url_b)
        assert_error(tus.patch(url_b, DATA[offset:], offset), 423, "upload_locked")
    a.kill()
    sender.stop.set()
    sender.join()
    started = time.monotonic()
    r = finish(b, member, url_b)  # a is dead: b takes over at once, not after 45 s
    assert r.status_code == 204, r.text
    assert time.monotonic() - started < 5
    check_complete(b, member, url_b)
