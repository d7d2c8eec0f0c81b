"""Raw HTTP requests and WebSocket frames over a plain socket, for input no well-behaved
client library would send: invalid UTF-8 in a text frame, a frame and a close in one
write, a bad Content-Length, bytes outside ASCII in a path or header."""

from __future__ import annotations

import base64
import os
import socket
import struct
import time
from dataclasses import dataclass

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING = 0x0, 0x1, 0x2, 0x8, 0x9


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0) -> bytes:
    """One client frame (masked, as RFC 6455 requires of clients)."""
    mask = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def close_frame(code: int, reason: bytes = b"") -> bytes:
    return frame(OP_CLOSE, struct.pack("!H", code) + reason)


def read_all(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    data = b""
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except OSError:  # reset by the server
            break
        if not chunk:
            break
        data += chunk
    return data


def http_status(answer: bytes) -> int | None:
    """The status code of a raw HTTP answer, or None if there was none."""
    parts = answer.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None
    return int(parts[1])


def raw_http(port: int, request: bytes, timeout: float) -> bytes:
    """Send ``request`` as it is and return the whole answer (the connection is closed by
    the server: send ``Connection: close``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        return read_all(sock, timeout)


@dataclass
class RawSocket:
    """An open WebSocket over a plain socket; ``rest`` holds bytes read past the handshake."""

    sock: socket.socket
    rest: bytes

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_code(self, timeout: float) -> int | None:
        """The code of the server's close frame (frames before it skipped), or None if the
        connection ended without one (1006, abnormal closure)."""
        data = self.rest + read_all(self.sock, timeout)
        return _close_code(data)

    def close(self) -> None:
        self.sock.close()


def _close_code(data: bytes) -> int | None:
    """Walk the server's (unmasked) frames to the close frame."""
    i = 0
    while i + 2 <= len(data):
        opcode, n = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if n == 126:
            n, i = struct.unpack("!H", data[i : i + 2])[0], i + 2
        elif n == 127:
            n, i = struct.unpack("!Q", data[i : i + 8])[0], i + 8
        payload = data[i : i + n]
        i += n
        if opcode == OP_CLOSE:
            return int(struct.unpack("!H", payload[:2])[0]) if len(payload) >= 2 else 1005
    return None


def open_raw(port: int, path: str, headers: dict[str, str], timeout: float) -> RawSocket:
    """Open a WebSocket with a hand-made handshake; fail unless the server says 101."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    head, _, rest = answer.partition(b"\r\n\r\n")
    if http_status(head) != 101:
        sock.close()
        raise ConnectionError(f"no WebSocket: {head[:200]!r}")
    return RawSocket(sock, rest)
