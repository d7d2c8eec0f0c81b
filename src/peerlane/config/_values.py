"""Units and the parsing shared by several option groups (lists given as one string)."""

from __future__ import annotations

import json
from typing import Any

DAY = 86_400.0
GIB = 1024**3


def comma_list(value: Any) -> Any:
    """A list option given as one string (an environment variable, a CLI option):
    comma-separated items, or a JSON list when it starts with ``[``."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


def json_list(value: Any) -> Any:
    """A list of objects given as one JSON string; a bad one says where it broke."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
    return value
