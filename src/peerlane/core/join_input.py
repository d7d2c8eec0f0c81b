"""What a person gives a client to join a room: an invite link or a short code.

The browser reads the link's token from ``location.hash`` (the fragment never reaches the
server) and a code from the join form; a terminal client gets either as one argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from peerlane.core import codes


@dataclass(frozen=True, slots=True)
class JoinInput:
    server: str | None  # the link's origin ("https://chat.example"); None for a code
    token: str | None  # a link's secret
    code: str | None  # a short code, normalised ("7-amber-falcon")
    # An end-to-end encrypted room's key, after a dot in the link's fragment
    # (docs/protocol.md, "End-to-end encryption"); never sent to the server.
    room_key: str | None = None

    def join_body(self, display_name: str) -> dict[str, str]:
        """The body of ``POST /api/join`` (a bearer session: the CLI keeps the token)."""
        how = {"token": self.token} if self.token else {"code": str(self.code)}
        return {"display_name": display_name, **how, "session": "bearer"}


def parse_join_input(text: str) -> JoinInput | None:
    """A link (``https://host/join#<token>``) or a code; ``None`` when it is neither."""
    text = text.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc or not parts.fragment:
            return None
        token, _, room_key = parts.fragment.partition(".")
        server = f"{parts.scheme}://{parts.netloc}"
        return JoinInput(server=server, token=token, code=None, room_key=room_key or None)
    code = codes.parse(text)
    return None if code is None else JoinInput(server=None, token=None, code=str(code))
