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
    create_room,
    join,
    link_token,
    open_socket,
)

HELLO = frame(OP_TEXT, b'{"type":"hello","v":1}')
BAD = b"\xff\xfe not UTF-8"

# How the bad frame arrives. "then_close": the client's close in the same write, so the
# server has answered that close before it sees the bad text (the 1006 case of the issue).
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
        assert raw.close_code(TIMEOUT) == 1007
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
