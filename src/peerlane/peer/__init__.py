"""The terminal peer: what ``peerlane chat`` (and, later, send / receive) drive.

``http_api`` joins rooms over the HTTP API, ``room_socket`` runs a room WebSocket with
:class:`peerlane.core.chat_client.ChatClient`, ``cli_config`` finds the server to use.
Errors a person sees are :class:`PeerError`: a sentence with a next step and an exit code.
"""

from __future__ import annotations


class PeerError(Exception):
    """A failure told to the person as one sentence with a next step; ``code``: the
    server's error code when the server refused (``key_epoch_conflict``, say), else ""."""

    def __init__(self, message: str, exit_code: int = 1, code: str = "") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.code = code


# Exit codes (docs/cli.md): 0 done, 1 failed, 2 bad usage, 3 invite refused or session
# ended, 4 server unreachable, 5 the other side declined or cancelled a transfer,
# 130 interrupted (Ctrl-C).
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_UNREACHABLE = 4
EXIT_DECLINED = 5
EXIT_INTERRUPTED = 130
