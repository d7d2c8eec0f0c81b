"""A WebSocket driver connection around a recording fake socket, for tests that drive
:class:`peerlane.server.ws_connection.Connection` without a server process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peerlane.config import load_settings
from peerlane.core.records import Participant, Retention, Room, SessionRecord
from peerlane.server.app import create_app
from peerlane.server.auth import Caller
from peerlane.server.ws_connection import Connection


def fake_connection(tmp_path: Path, ws: Any) -> Connection:
    """Ann, the owner of room r1, connected through ``ws`` (a recording fake)."""
    services = create_app(load_settings(data_dir=tmp_path)).state.services
    room = Room("r1", "Room", "u1", 0.0, 0.0, 0, Retention())
    session = SessionRecord("s1", "u1", "r1", 0.0, 1e12)
    caller = Caller(
        room, Participant("u1", "r1", "Ann", "owner", 0.0), via_cookie=False, session=session
    )
    return Connection(ws, services, caller)
