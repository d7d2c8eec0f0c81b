"""A PeerJS protocol client for tests: what the ``peerjs`` npm client sends and reads
on its server socket, over a real WebSocket."""

from __future__ import annotations

import json
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from support import TIMEOUT


def peerjs_url(base_ws: str, peer_id: str, token: str, key: str = "peerjs") -> str:
    return f"{base_ws}/peerjs/peerjs?key={key}&id={peer_id}&token={token}&version=1.5.5"


class PeerjsClient:
    def __init__(self, base_ws: str, peer_id: str, token: str = "tok", key: str = "peerjs"):
        self.id = peer_id
        self.ws: ClientConnection = connect(peerjs_url(base_ws, peer_id, token, key), legacy=True)

    def send(self, message: dict[str, Any] | str) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def signal(self, kind: str, dst: str, **payload: Any) -> None:
        self.send({"type": kind, "dst": dst, "payload": payload})

    def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        return dict(json.loads(self.ws.recv(timeout=timeout)))

    def expect(self, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        message = self.recv(timeout)
        assert message["type"] == kind, message
        return message

    def closed(self, timeout: float = TIMEOUT) -> int | None:
        """Read until the server closes; its close code."""
        try:
            while True:
                self.ws.recv(timeout=timeout)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None

    def close(self) -> None:
        self.ws.close()
