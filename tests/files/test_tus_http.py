"""The tus endpoint over HTTP against a real server: every status code of the protocol,
the one error shape, and the headers on every answer."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from files.tusraw import OCTETS, TUS, Tus, checksum, file_id, sha
from peerlane.core.integrity import root_of_bytes
from support import Member, ServerProcess, assert_error, create_room, wait_until

MAX = 3 * 1024 * 1024


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"PEERLANE_MAX_FILE_BYTES": str(MAX)}


@pytest.fixture
def member(fhttp: httpx.Client) -> Member:
    return create_room(fhttp)


@pytest.fixture
def tus(fhttp: httpx.Client, member: Member) -> Tus:
    return Tus.member(fhttp, member)


def tus_error(r: httpx.Response, status: int, code: str) -> None:
    assert r.headers["tus-resumable"] == "1.0.0"
    if r.request.method == "HEAD":
        assert r.status_code == status
        assert "upload-offset" not in r.headers
    else:
        assert_error(r, status, code)


def test_options_reports_capabilities(fhttp: httpx.Client) -> None:
    for path in ("/api/files/uploads", "/api/files/uploads/whatever"):
        r = fhttp.options(path)  # no Tus-Resumable needed
        assert r.status_code == 204
        assert r.headers["tus-resumable"] == "1.0.0"
        assert r.headers["tus-version"] == "1.0.0"
        assert r.headers["tus-extension"] == "creation,expiration,checksum,termination"
        assert r.headers["tus-max-size"] == str(MAX)
        assert r.headers["tus-checksum-algorithm"] == "sha1,sha256"


def test_create_head_patch_complete(tus: Tus, member: Member, fhttp: httpx.Client) -> None:
    data = os.urandom(300_000)
    r = tus.create(len(data), room=member.room_id, name="a.bin", root=root_of_bytes(data))
    assert r.status_code == 201
    url = r.headers["location"]
    assert url.startswith("http://127.0.0.1:")
    assert "/api/files/uploads/" in url
    assert r.headers["upload-expires"].endswith(" GMT")
    head = tus.head(url)
    assert head.status_code == 200
    assert head.headers["upload-offset"] == "0"
    assert head.headers["upload-length"] == str(len(data))
    assert head.headers["cache-control"] == "no-store"
    assert head.headers["tus-resumable"] == "1.0.0"
    assert head.headers["upload-metadata"].startswith("room ")
    r = tus.patch(url, data[:100_000], 0)
    assert r.status_code == 204, r.text
    assert r.headers["upload-offset"] == "100000"
    assert r.headers["upload-expires"].endswith(" GMT")
    assert r.headers["tus-resumable"] == "1.0.0"
    r = tus.patch(url, data[100_000:], 100_000, checksum=checksum("sha256", data[100_000:]))
    assert r.status_code == 204, r.text
    assert r.headers["upload-offset"] == str(len(data))
    assert "upload-expires" not in r.headers  # complete: it no longer expires
    assert tus.offset(url) == len(data)
    listed = fhttp.get(f"/api/rooms/{member.room_id}/files", headers=tus.auth).json()["files"]
    [entry] = [f for f in listed if f["id"] == file_id(url)]
    assert entry["verified"] is True
    assert entry["root"] == root_of_bytes(data)
    assert (entry["name"], entry["size"]) == ("a.bin", len(data))
    body = fhttp.get(entry["url"], headers=tus.auth).content
    assert sha(body) == sha(data)


def test_missing_or_wrong_tus_resumable_is_412(tus: Tus, member: Member) -> None:
    url = tus.new(10, room=member.room_id)
    for version in (None, "0.2.2"):
        extra = {} if version is None else {"Tus-Resumable": version}
        base = {**tus.auth, **extra}
        for r in (
            tus.http.post("/api/files/uploads", headers={**base, "Upload-Length": "5"}),
            tus.http.head(url, headers=base),
            tus.http.patch(url, content=b"x", headers={**base, **OCTETS, "Upload-Offset": "0"}),
            tus.http.delete(url, headers=base),
        ):
            tus_error(r, 412, "unsupported_tus_version")
            assert r.headers["tus-version"] == "1.0.0"
    assert tus.offset(url) == 0  # not processed


def test_wrong_content_type_is_415(tus: Tus, member: Member) -> None:
    url = tus.new(10, room=member.room_id)
    r = tus.patch(url, b"0123456789", 0, **{"Content-Type": "application/octet-stream"})
    tus_error(r, 415, "unsupported_media_type")
    assert tus.offset(url) == 0


def test_offset_mismatch_is_409(tus: Tus, member: Member) -> None:
    url = tus.new(10, room=member.room_id)
    assert tus.patch(url, b"01234", 0).status_code == 204
    for wrong in (0, 3, 7):
        tus_error(tus.patch(url, b"56789", wrong), 409, "offset_mismatch")
    assert tus.offset(url) == 5
    tus_error(tus.patch(url, b"5", "x"), 400, "bad_request")  # type: ignore[arg-type]


def test_bad_checksum_is_460_and_the_chunk_is_discarded(tus: Tus, member: Member) -> None:
    data = os.urandom(2 * 1024 * 1024 + 10)  # more than one write buffer
    url = tus.new(len(data) + 5, room=member.room_id)
    assert tus.patch(url, b"abcde", 0, checksum=checksum("sha1", b"abcde")).status_code == 204
    r = tus.patch(url, data, 5, checksum=checksum("sha1", data[:-1] + b"!"))
    tus_error(r, 460, "checksum_mismatch")
    assert tus.offset(url) == 5
    r = tus.patch(url, data, 5, checksum="md5 " + checksum("sha1", data).split()[1])
    tus_error(r, 400, "unsupported_checksum")
    assert tus.offset(url) == 5
    r = tus.patch(url, data, 5, checksum=checksum("sha256", data))
    assert r.status_code == 204
    assert r.headers["upload-offset"] == str(len(data) + 5)


def test_over_the_maximum_size_is_413(tus: Tus, member: Member) -> None:
    tus_error(tus.create(MAX + 1, room=member.room_id), 413, "file_too_large")
    assert tus.create(MAX, room=member.room_id).status_code == 201


def test_more_than_the_declared_length_is_413(tus: Tus, member: Member) -> None:
    url = tus.new(10, room=member.room_id)
    tus_error(tus.patch(url, b"x" * 11, 0), 413, "upload_length_exceeded")
    assert tus.offset(url) == 0


def test_unknown_upload_is_404(tus: Tus) -> None:
    url = "/api/files/uploads/AAAAAAAAAAAAAAAAAAAAAA"
    tus_error(tus.head(url), 404, "upload_not_found")
    tus_error(tus.patch(url, b"x", 0), 404, "upload_not_found")
    tus_error(tus.delete(url), 404, "upload_not_found")
    for hostile in ("..%2F..%2Fetc%2Fpasswd", "..", "AAAA%00", "x" * 300):
        assert tus.head(f"/api/files/uploads/{hostile}").status_code == 404


def test_termination(tus: Tus, member: Member, fhttp: httpx.Client) -> None:
    url = tus.new(10, room=member.room_id)
    assert tus.patch(url, b"01234", 0).status_code == 204
    r = tus.delete(url)
    assert r.status_code == 204
    assert r.headers["tus-resumable"] == "1.0.0"
    tus_error(tus.head(url), 404, "upload_not_found")
    # A finished file can be terminated too.
    done = tus.upload(b"hello", room=member.room_id)
    assert tus.delete(done).status_code == 204
    files = fhttp.get(f"/api/rooms/{member.room_id}/files", headers=member.auth).json()
    assert file_id(done) not in [f["id"] for f in files["files"]]


def test_method_override(tus: Tus, member: Member) -> None:
    url = tus.new(4, room=member.room_id)
    headers = {**TUS, **OCTETS, **tus.auth, "Upload-Offset": "0"}
    r = tus.http.post(url, content=b"abcd", headers={**headers, "X-HTTP-Method-Override": "PATCH"})
    assert r.status_code == 204, r.text
    r = tus.http.post(url, headers={**TUS, **tus.auth, "X-HTTP-Method-Override": "DELETE"})
    assert r.status_code == 204
    tus_error(tus.head(url), 404, "upload_not_found")


def test_empty_file_is_complete_at_creation(tus: Tus, member: Member) -> None:
    r = tus.create(0, room=member.room_id, name="empty.txt")
    assert r.status_code == 201
    assert r.headers["upload-offset"] == "0"
    assert "upload-expires" not in r.headers
    files = tus.http.get(f"/api/rooms/{member.room_id}/files", headers=tus.auth).json()["files"]
    [entry] = [f for f in files if f["id"] == file_id(r.headers["location"])]
    assert entry["size"] == 0
    body = tus.http.get(entry["url"], headers=tus.auth)
    assert (body.status_code, body.content) == (200, b"")


def test_bad_creation_requests(tus: Tus, member: Member) -> None:
    post = tus.http.post
    base = {**TUS, **tus.auth}
    tus_error(post("/api/files/uploads", headers=base), 400, "bad_request")  # no length
    tus_error(
        post("/api/files/uploads", headers={**base, "Upload-Defer-Length": "1"}), 400, "bad_request"
    )
    tus_error(tus.create(5), 400, "invalid_metadata")  # neither room nor share
    tus_error(tus.create(5, room=member.room_id, share="x"), 400, "invalid_metadata")
    tus_error(tus.create(5, room=member.room_id, root="abc"), 400, "invalid_metadata")
    tus_error(tus.create(5, room=member.room_id, to="nobody"), 400, "invalid_metadata")
    r = post(
        "/api/files/uploads",
        headers={**base, "Upload-Length": "5", "Upload-Metadata": "room !!!"},
    )
    tus_error(r, 400, "invalid_metadata")


def test_wrong_root_fails_the_upload(tus: Tus, member: Member, fhttp: httpx.Client) -> None:
    data = b"the real bytes"
    url = tus.new(len(data), room=member.room_id, root=root_of_bytes(b"other bytes"))
    tus_error(tus.patch(url, data, 0), 422, "hash_mismatch")
    tus_error(tus.head(url), 410, "upload_failed")
    files = fhttp.get(f"/api/rooms/{member.room_id}/files", headers=member.auth).json()
    assert file_id(url) not in [f["id"] for f in files["files"]]
    r = fhttp.get(f"/api/rooms/{member.room_id}/files/{file_id(url)}", headers=member.auth)
    assert_error(r, 404, "file_not_found")


def test_interrupted_patch_keeps_what_arrived(
    tus: Tus, member: Member, fserver: ServerProcess
) -> None:
    data = os.urandom(2 * 1024 * 1024)
    url = tus.new(len(data), room=member.room_id)
    sent = 1024 * 1024 + 300_000
    head = (
        f"PATCH {urlsplit(url).path} HTTP/1.1\r\nHost: 127.0.0.1:{fserver.port}\r\n"
        f"Authorization: {tus.auth['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
        "Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", fserver.port)) as sock:
        sock.sendall(head.encode() + data[:sent])
    # The client is killed mid-body: the server saves what it got and lets go.
    offset = wait_until(lambda: tus.offset(url), what="bytes saved")
    assert offset == sent  # everything that arrived was kept
    r = tus.patch(url, data[offset:], offset)
    assert r.status_code == 204, r.text
    out = tus.http.get(f"/api/rooms/{member.room_id}/files/{file_id(url)}", headers=tus.auth)
    assert sha(out.content) == sha(data)


def test_one_patch_at_a_time(tus: Tus, member: Member, fhttp: httpx.Client) -> None:
    url = tus.new(1000, room=member.room_id)
    release = threading.Event()
    first: list[httpx.Response] = []

    def slow() -> Iterator[bytes]:
        yield b"a" * 100
        release.wait(20)
        yield b"b" * 100

    def run() -> None:
        with httpx.Client(base_url=fhttp.base_url, timeout=30) as other:
            first.append(Tus(other, tus.auth).patch(url, slow(), 0))

    thread = threading.Thread(target=run)
    thread.start()
    try:
        # An empty PATCH changes nothing: it probes until the first one holds the lock.
        wait_until(lambda: tus.patch(url, b"", 0).status_code == 423, what="first PATCH")
        second = tus.patch(url, b"c" * 100, 0)
        tus_error(second, 423, "upload_locked")
        assert second.headers["retry-after"] == "1"
    finally:
        release.set()
        thread.join()
    assert first[0].status_code == 204
    assert tus.offset(url) == 200
