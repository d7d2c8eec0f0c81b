"""Short invite codes like ``7-amber-falcon``, read aloud and typed by people.

The code is two parts, as in magic-wormhole: a *nameplate* (the number) says which
invite is meant, and the *words* are its secret. A wrong guess of the words on a live
nameplate counts against that invite; after ``max_failures`` the code is retired (the
link keeps working), so brute force gets a handful of tries out of
``len(ADJECTIVES) * len(NOUNS)`` per code, on top of the per-IP limit.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from peerlane.core.words import ADJECTIVES, NOUNS

WORD_SPACE = len(ADJECTIVES) * len(NOUNS)
_SEPARATORS = re.compile(r"[\s\-_.,/]+")


@dataclass(frozen=True, slots=True)
class ShortCode:
    nameplate: int
    words: str  # "amber-falcon"

    def __str__(self) -> str:
        return f"{self.nameplate}-{self.words}"


def random_words() -> str:
    return f"{secrets.choice(ADJECTIVES)}-{secrets.choice(NOUNS)}"


def free_nameplate(in_use: Iterable[int]) -> int:
    """The smallest positive nameplate not in use, so live codes stay short."""
    taken = set(in_use)
    n = 1
    while n in taken:
        n += 1
    return n


def parse(text: str) -> ShortCode | None:
    """Read a code as a person typed it (any case, spaces or dashes); ``None`` if not one."""
    parts = [p for p in _SEPARATORS.split(text.strip().lower()) if p]
    # isascii: str.isdigit() is also true for "²", which int() rejects.
    if len(parts) != 3 or not (parts[0].isascii() and parts[0].isdigit()) or len(parts[0]) > 9:
        return None
    return ShortCode(nameplate=int(parts[0]), words=f"{parts[1]}-{parts[2]}")


def words_match(expected: str, given: str) -> bool:
    """Constant-time comparison, so timing tells nothing about how close a guess was."""
    return hmac.compare_digest(expected.encode(), given.encode())
