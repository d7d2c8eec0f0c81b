"""base64url without padding (RFC 4648 §5): the one spelling tokens, keys and envelopes use.

``decode`` is strict: it takes only what ``encode`` gives (no padding, no other alphabet,
no non-canonical last character) and raises ``ValueError`` for anything else, so a value has
one spelling and a tampered one never decodes to the same bytes.
"""

from __future__ import annotations

import base64
import re

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """The bytes ``encode`` turned into ``text``; ``ValueError`` for any other text."""
    if not _ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if encode(data) != text:
        raise ValueError("not canonical base64url")
    return data
