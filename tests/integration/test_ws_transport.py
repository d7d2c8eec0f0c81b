"""The WebSocket transport, against a real server: a text frame that is not UTF-8 closes
the connection with 1007 (invalid frame payload data) and writes nothing to the log beyond
the connection's own open and close lines, no traceback, however the frame arrives (issue
#9, finding 3); and the transport settings (ws_compression) are honoured."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from rawsocket import OP_BINARY, OP_CONT, OP_TEXT, close_frame, frame, open_raw
from support import (
    TIMEOUT,
    Member,
    Peer,
    ServerProcess,
    close_code,
    create_room,
    join,
    link_token,
    open_socket,
    wait_until,
)

HELLO = frame(OP_TEXT, b'{"type":"hello","v":1}')
BAD = b"\xff\xfe not UTF-8"

# How the bad frame arrives. "then_close": the client's close in the same write, so the
# server has answered that close (with its code, 1000) before it sees the bad text: the
# answer stays that clean close (this was the 1006 and three tracebacks of the issue).
WAYS: dict[str, Callable[[], bytes]] = {
    "alone": lambda: frame(OP_TEXT, BAD),
    "after_hello": lambda: HELLO + frame(OP_TEXT, b"\xc3("),  # a cut two-byte sequence
    "surrogate": lambda: frame(OP_TEXT, b'{"type":"ping","nonce":"\xed\xa0\x80"}'),
    "fragmented": lambda: frame(OP_TEXT, b'{"a":"', fin=False) + frame(OP_CONT, b'\xff"}'),
    "then_close": lambda: frame(OP_TEXT, BAD) + close_frame(1000),
    "then_more": lambda: frame(OP_TEXT, BAD) + frame(OP_TEXT, BAD) + frame(OP_BINARY, BAD),
}


@pytest.fixture(scope="module")
def utf8_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("utf8") / "data").start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def members(utf8_server: ServerProcess) -> tuple[Member, Member]:
    with httpx.Client(base_url=utf8_server.base, timeout=10) as http:
        alice = create_room(http)
        return alice, join(http, "bob", token=link_token(alice))


def unexpected_log_lines(text: str) -> list[str]:
    """Log lines other than the structured ones a connection always writes."""
    odd = []
    for line in text.splitlines():
        try:
            event = json.loads(line).get("event")
        except ValueError:
            event = None
        if event not in ("ws.open", "ws.close", "http"):
            odd.append(line)
    return odd


@pytest.mark.parametrize("way", list(WAYS))
def test_invalid_utf8_text_closes_1007_quietly(
    utf8_server: ServerProcess, members: tuple[Member, Member], way: str
):
    alice, bob = members
    watcher = Peer(utf8_server, bob)
    start = len(utf8_server.logs())
    raw = open_raw(utf8_server.port, f"/api/rooms/{alice.room_id}/ws", alice.auth, timeout=TIMEOUT)
    try:
        raw.send(WAYS[way]())
        assert raw.close_code(TIMEOUT) == (1000 if way == "then_close" else 1007)
    finally:
        raw.close()
    # The room is unharmed: the other participant still chats.
    assert watcher.chat(f"after-{way}")["type"] == "ack"
    watcher.close()
    assert httpx.get(f"{utf8_server.base}/healthz", timeout=TIMEOUT).status_code == 200
    logs = utf8_server.logs()[start:]
    assert "Traceback" not in logs, logs
    assert "Fatal error" not in logs, logs
    assert len(unexpected_log_lines(logs)) <= 1, logs


# -- the transport's settings, whichever WebSocket implementation uvicorn runs ------------


@pytest.mark.parametrize("compression", [True, False])
def test_ws_compression_setting_is_honoured(
    start_server: Callable[..., ServerProcess],
    client: Callable[[ServerProcess], httpx.Client],
    compression: bool,
):
    server = start_server(ws_compression=str(compression).lower())
    http = client(server)
    alice = create_room(http)
    bob = join(http, "bob", token=link_token(alice))
    # The websockets client offers permessage-deflate (as browsers do).
    with open_socket(
        server.ws_url(alice.room_id), additional_headers=alice.auth, compression="deflate"
    ) as ws:
        agreed = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
        assert ("permessage-deflate" in agreed) is compression, agreed
        ws.send(json.dumps({"type": "hello", "v": 1}))
        watcher = Peer(server, bob)
        body = "compressible " * 500
        ws.send(json.dumps({"type": "chat", "id": "big", "body": body}))
        assert watcher.expect("message", id="big")["body"] == body
        watcher.close()


# -- a refused socket whose client is gone already -------------------------------------


@pytest.mark.parametrize("then", ["close", "invalid_text", "hang_up"])
def test_refusing_a_client_that_is_gone_logs_no_traceback(utf8_server: ServerProcess, then: str):
    """A socket the server refuses (its room was deleted) whose client closed, sent
    something that closes the connection, or hung up right after the handshake: the
    server's refusal, after a look in the database, finds nobody to send to. That is no
    error of the server (it was a traceback, "Exception in ASGI application")."""
    with httpx.Client(base_url=utf8_server.base, timeout=TIMEOUT) as http:
        gone = create_room(http, "gone")
        assert http.delete(f"/api/rooms/{gone.room_id}", headers=gone.auth).status_code == 204
    start, before = len(utf8_server.logs()), refusals(utf8_server)
    tail = {"close": close_frame(1000), "invalid_text": frame(OP_TEXT, BAD), "hang_up": b""}
    for _ in range(10):  # the refusal and the client's end race: try a few times
        raw = open_raw(utf8_server.port, f"/api/rooms/{gone.room_id}/ws", gone.auth, TIMEOUT)
        try:
            raw.send(tail[then])
        finally:
            raw.close()
    # Every refusal has begun (counted in /metrics just before its error is sent); one
    # more, by a client that waits for it, ends after them.
    wait_until(lambda: refusals(utf8_server) >= before + 10, what="ten refusals counted")
    with open_socket(utf8_server.ws_url(gone.room_id), additional_headers=gone.auth) as ws:
        assert json.loads(ws.recv(timeout=TIMEOUT))["error"]["code"] == "room_not_found"
        assert close_code(ws) == 4404
    assert httpx.get(f"{utf8_server.base}/healthz", timeout=TIMEOUT).status_code == 200
    logs = utf8_server.logs()[start:]
    assert "Traceback" not in logs, logs
    assert "Exception in ASGI application" not in logs, logs


def refusals(server: ServerProcess) -> float:
    text = httpx.get(f"{server.base}/metrics", timeout=TIMEOUT).text
    for line in text.splitlines():
        if line.startswith('peerlane_errors_total{code="room_not_found",transport="websocket"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
