"""Which server the CLI talks to: ``--server``, then ``PEERLANE_SERVER``, then the config
file that ``peerlane config set server URL`` writes."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from peerlane.core.e2e import is_envelope
from peerlane.core.join_input import JoinInput, parse_join_input
from peerlane.peer import EXIT_USAGE, PeerError

KEYS = ("server", "name")


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "peerlane" / "cli.json"


def load() -> dict[str, str]:
    try:
        data = json.loads(config_path().read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise PeerError(
            f"The config file {config_path()} cannot be read; fix or delete it.", EXIT_USAGE
        ) from exc
    return {k: str(v) for k, v in data.items() if k in KEYS} if isinstance(data, dict) else {}


def save(key: str, value: str) -> Path:
    if key not in KEYS:
        raise PeerError(
            f"Unknown setting {key!r}; the settings are: {', '.join(KEYS)}.", EXIT_USAGE
        )
    if key == "server":
        value = check_server(value)
    data = load()
    data[key] = value
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def check_server(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PeerError(
            f"{url!r} is not a server address; give one like https://chat.example.org.",
            EXIT_USAGE,
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def server_url(option: str | None) -> str | None:
    """The server chosen by option, environment or config file; None when none is."""
    chosen = option or os.environ.get("PEERLANE_SERVER") or load().get("server")
    return check_server(chosen) if chosen else None


def server_or_fail(option: str | None) -> str:
    """:func:`server_url`, or a usage error saying the three ways to give one."""
    base = server_url(option)
    if base is None:
        raise PeerError(
            "Which server? Give --server URL, set PEERLANE_SERVER, "
            "or run `peerlane config set server URL` once.",
            EXIT_USAGE,
        )
    return base


def invite_or_fail(invite: str) -> JoinInput:
    """The parsed invite link or room code, or a usage error showing both forms."""
    how = parse_join_input(invite)
    if how is None:
        raise PeerError(
            f"{invite!r} is neither an invite link nor a room code; "
            "give the link (https://…/join#…) or the code (like 7-amber-falcon).",
            EXIT_USAGE,
        )
    return how


def display_name(name: str | None) -> str:
    """``--name``, else ``peerlane config set name``, else the login name."""
    return name or load().get("name") or getpass.getuser()


def encrypted_room(command: str) -> str:
    """Why ``peerlane COMMAND`` stops at an end-to-end encrypted room joined without its
    key (``chat``, ``send`` and ``receive`` seal and open, given the key)."""
    return (
        "This room is end-to-end encrypted, but the link carries no key (the part after "
        "the dot); copy the whole invite link."
    )


def refuse_encrypted_name(room_name: str, command: str) -> None:
    """After joining: a sealed room name says the room is encrypted. Sending clear text or
    files into it would put them on the server; reading it needs the key (which a link
    cut short at the dot lacks)."""
    if is_envelope(room_name):
        raise PeerError(encrypted_room(command), EXIT_USAGE)
