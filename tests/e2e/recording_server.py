"""``python tests/e2e/recording_server.py RECORD`` runs ``peerlane serve`` with every byte
the server receives at its ASGI boundary (paths, query strings, request headers such as
tus's Upload-Metadata, HTTP request bodies, WebSocket messages) appended to the file
RECORD: what the canary tests of end-to-end encryption search for their markers
(tests/e2e/test_e2e_chat.py, test_e2e_files.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from peerlane.server import runner

Scope = dict[str, Any]


class Recording:
    """An ASGI app in front of the real one; records what comes in, changes nothing."""

    def __init__(self, app: Any, record: Path) -> None:
        self.app = app
        self.record = record

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)  # app.state, as the runner reads it

    def _write(self, data: bytes) -> None:
        with self.record.open("ab") as out:
            out.write(data + b"\n")

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            self._write(scope.get("path", "").encode() + b"?" + scope.get("query_string", b""))
            for name, value in scope.get("headers", []):
                self._write(name + b": " + value)

        async def recording_receive() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message.get("body"):
                self._write(message["body"])
            if message.get("bytes"):
                self._write(message["bytes"])
            if message.get("text"):
                self._write(message["text"].encode())
            return message

        await self.app(scope, recording_receive, send)


def main() -> None:
    record = Path(sys.argv[1])
    create_app = runner.create_app
    runner.create_app = lambda settings: Recording(create_app(settings), record)  # type: ignore[assignment]
    from peerlane.cli import main as peerlane

    sys.argv = ["peerlane", "serve"]
    peerlane()


if __name__ == "__main__":
    main()
