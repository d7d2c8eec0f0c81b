"""Telling a member's join-by-code frame (``pake.*``) from the room protocol's frames on
a room WebSocket, cheaply: most frames never mention ``"pake.`` and are not parsed twice."""

from __future__ import annotations

import json
from typing import Any


def pake_message(data: str | bytes, max_bytes: int) -> dict[str, Any] | None:
    """The frame as a ``pake.*`` message, or None for the session to handle (anything
    else, including a frame over the size limit, which the session refuses)."""
    if not isinstance(data, str) or '"pake.' not in data or len(data) > max_bytes:
        return None
    try:
        message = json.loads(data)
    except ValueError:
        return None
    if isinstance(message, dict) and str(message.get("type")).startswith("pake."):
        return message
    return None
