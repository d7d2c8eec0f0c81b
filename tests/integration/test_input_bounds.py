"""Every integer a client can send has bounds that fit the database (signed 64-bit at
most): a value beyond them gets a 4xx in the one error shape, never a 500, and the server
logs no traceback. Also: a malformed or extreme date in a conditional request is ignored.
Against a real server process (issue #9, finding 2)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from support import (
    TIMEOUT,
    Member,
    Peer,
    ServerProcess,
    assert_error,
    create_room,
    open_socket,
)

TOO_BIG = [2**63, 2**64, 10**30, 2**53 + 1]  # past the database's signed 64 bits, or JSON's
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"PEERLANE_ROOMS_PER_HOUR": "10000", "PEERLANE_SHARES_PER_HOUR": "10000"}
    proc = ServerProcess(tmp_path_factory.mktemp("bounds") / "data", env=env).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def http(bounded: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=bounded.base, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def alice(http: httpx.Client) -> Member:
    return create_room(http)


@pytest.fixture(autouse=True)
def log_start(bounded: ServerProcess) -> int:
    """Where the shared server's log stood when the test began: each test judges only
    what it caused."""
    return len(bounded.logs())


def assert_no_traceback(server: ServerProcess, since: int) -> None:
    logs = server.logs()[since:]
    assert "Traceback" not in logs, logs[-3000:]
    assert "Fatal error" not in logs, logs[-3000:]


def assert_client_error(response: httpx.Response) -> None:
    """A 4xx in the one error shape (which code depends on the field)."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert_error(response, response.status_code, response.json()["error"]["code"])


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_downloads", v) for v in [*TOO_BIG, 1_000_001]]
    + [("size", v) for v in TOO_BIG if v >= 2**63],
)
def test_share_integers_beyond_bounds_are_4xx(
    bounded: ServerProcess, log_start: int, http: httpx.Client, field: str, value: int
):
    r = http.post("/api/shares", json={field: value})
    assert_error(r, 422, "invalid_message")
    assert field in r.json()["error"]["message"]
    assert_no_traceback(bounded, log_start)


@pytest.mark.parametrize("body", [{"ttl": 1e300}, {"ttl": -1}, {"max_downloads": 0}])
def test_share_other_bad_numbers_are_4xx(
    bounded: ServerProcess, log_start: int, http: httpx.Client, body: Any
):
    assert_client_error(http.post("/api/shares", json=body))
    assert_no_traceback(bounded, log_start)


def test_share_limits_within_bounds_still_work(http: httpx.Client):
    r = http.post("/api/shares", json={"max_downloads": 1_000_000, "size": 1})
    assert r.status_code == 201, r.text
    assert r.json()["max_downloads"] == 1_000_000


@pytest.mark.parametrize("cursor", ["before", "after"])
@pytest.mark.parametrize("value", [*TOO_BIG, -1])
def test_history_cursors_beyond_bounds_are_4xx(
    bounded: ServerProcess,
    log_start: int,
    http: httpx.Client,
    alice: Member,
    cursor: str,
    value: int,
):
    r = http.get(f"/api/rooms/{alice.room_id}/messages", params={cursor: value}, headers=alice.auth)
    assert_error(r, 422, "invalid_message")
    assert_no_traceback(bounded, log_start)


def test_history_cursor_at_the_bound_is_fine(http: httpx.Client, alice: Member):
    r = http.get(
        f"/api/rooms/{alice.room_id}/messages", params={"after": 2**53}, headers=alice.auth
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"messages": [], "has_more": False}


@pytest.mark.parametrize("header", ["Upload-Length", "Upload-Offset"])
@pytest.mark.parametrize("value", [str(2**63), str(10**30), "-1", "1e3", "²"])
def test_tus_integer_headers_beyond_bounds_are_4xx(
    bounded: ServerProcess,
    log_start: int,
    http: httpx.Client,
    alice: Member,
    header: str,
    value: str,
):
    created = http.post(
        f"/api/rooms/{alice.room_id}/uploads",
        headers={**TUS, **alice.auth, "Upload-Length": "10"},
    )
    assert created.status_code == 201, created.text
    url = created.headers["Location"]
    if header == "Upload-Length":
        r = http.post(
            f"/api/rooms/{alice.room_id}/uploads",
            headers={**TUS, **alice.auth, header: value.encode("latin-1")},
        )
    else:
        headers: dict[str, str | bytes] = {
            **TUS,
            **alice.auth,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
            header: value.encode("latin-1"),
        }
        r = http.patch(url, headers=headers, content=b"0123456789")
    assert_client_error(r)
    assert_no_traceback(bounded, log_start)


@pytest.mark.parametrize("value", [str(2**63), str(10**30), "-1", "1e3", "\xb2", "1, 2"])
def test_bad_content_length_of_a_patch_is_4xx(
    bounded: ServerProcess, log_start: int, http: httpx.Client, alice: Member, value: str
):
    """Sent raw: httpx refuses to send such a Content-Length at all."""
    created = http.post(
        f"/api/rooms/{alice.room_id}/uploads",
        headers={**TUS, **alice.auth, "Upload-Length": "10"},
    )
    path = httpx.URL(created.headers["Location"]).raw_path.decode()
    head = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
        f"Authorization: Bearer {alice.token}\r\nUpload-Offset: 0\r\n"
        "Content-Type: application/offset+octet-stream\r\nConnection: close\r\n"
    )
    request = head.encode() + b"Content-Length: " + value.encode("latin-1") + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", bounded.port), timeout=TIMEOUT) as sock:
        sock.sendall(request + b"0123456789")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500, answer[:300]
    assert_no_traceback(bounded, log_start)


@pytest.mark.parametrize("key", ["last_seq", "v"])
@pytest.mark.parametrize("value", [2**63, 10**30, 2**53 + 1])
def test_websocket_hello_integers_beyond_bounds_are_refused(
    bounded: ServerProcess, log_start: int, alice: Member, key: str, value: int
):
    with open_socket(bounded.ws_url(alice.room_id), additional_headers=alice.auth) as ws:
        ws.send(json.dumps({"type": "hello", "v": 1, key: value}))
        error = json.loads(ws.recv(timeout=TIMEOUT))
        assert error["type"] == "error", error
        assert error["error"]["code"] == "invalid_message", error
    assert_no_traceback(bounded, log_start)


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "receipt", "seq": 2**63},
        {"type": "sync", "after": 10**30},
        {"type": "chat", "id": "r1", "body": "x", "kind": "reaction", "ref": 2**64},
    ],
)
def test_websocket_integers_beyond_bounds_are_refused(
    bounded: ServerProcess, log_start: int, alice: Member, frame: dict[str, Any]
):
    peer = Peer(bounded, alice)
    try:
        peer.send(frame)
        assert peer.expect("error")["error"]["code"] == "invalid_message"
        peer.send({"type": "ping", "nonce": "after"})
        assert peer.expect("pong", nonce="after")
    finally:
        peer.close()
    assert_no_traceback(bounded, log_start)


@pytest.mark.parametrize(
    "date",
    [
        "Mon, 01 Jan 10000 00:00:00 GMT",  # beyond datetime's year 9999
        "Mon, 01 Jan 99999999999 00:00:00 GMT",
        "Sat, 01 Jan 0000 00:00:00 GMT",
        "Mon, 99 Foo 2024 99:99:99 GMT",
        "Mon, 01 Jan 2024 00:00:00 +9999",
        "yesterday",
        "",
    ],
)
def test_static_bad_if_modified_since_is_ignored(
    bounded: ServerProcess, log_start: int, http: httpx.Client, date: str
):
    r = http.get("/static/app.js", headers={"If-Modified-Since": date})
    assert r.status_code == 200, (r.status_code, r.text[:200])
    assert r.content.startswith(b"//") or len(r.content) > 100
    assert_no_traceback(bounded, log_start)
