"""Short invite codes like ``7-amber-falcon``, read aloud and typed by people.

The code is two parts, as in magic-wormhole: a *nameplate* (the number) says which
invite is meant, and the *words* are its secret: ``n - 1`` adjectives and a noun
(``n`` = ``code_words``, 2 by default), so :func:`word_space` ``(n)`` secrets per code.
Wrong guesses are limited per (code, address) and, much higher, per code: only many
addresses together can retire a code (the server's driver, ``server/api.py``).
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from peerlane.core.words import ADJECTIVES, NOUNS

MIN_WORDS = 2
MAX_WORDS = 6
_SEPARATORS = re.compile(r"[\s\-_.,/]+")


@dataclass(frozen=True, slots=True)
class ShortCode:
    nameplate: int
    words: str  # "amber-falcon"

    def __str__(self) -> str:
        return f"{self.nameplate}-{self.words}"


def word_space(count: int = MIN_WORDS) -> int:
    """How many secrets a code of ``count`` words has."""
    return int(len(ADJECTIVES) ** (count - 1)) * len(NOUNS)


WORD_SPACE = word_space()


def words_from(indices: Iterable[int], count: int) -> str:
    """The words a stream of numbers picks: ``count - 1`` adjectives, then a noun."""
    stream = iter(indices)
    chosen = [ADJECTIVES[next(stream) % len(ADJECTIVES)] for _ in range(count - 1)]
    chosen.append(NOUNS[next(stream) % len(NOUNS)])
    return "-".join(chosen)


def random_words(count: int = MIN_WORDS) -> str:
    adjectives = [secrets.choice(ADJECTIVES) for _ in range(count - 1)]
    return "-".join([*adjectives, secrets.choice(NOUNS)])


def free_nameplate(in_use: Iterable[int]) -> int:
    """The smallest positive nameplate not in use, so live codes stay short."""
    taken = set(in_use)
    n = 1
    while n in taken:
        n += 1
    return n


def _parts(text: str) -> list[str]:
    return [p for p in _SEPARATORS.split(text.strip().lower()) if p]


def normal_words(text: str) -> str:
    """Secret words in the one spelling both sides of a PAKE use: ``Amber Falcon`` and
    ``amber-falcon`` are the same words."""
    return "-".join(_parts(text))


def parse(text: str) -> ShortCode | None:
    """Read a code as a person typed it (any case, spaces or dashes); ``None`` if not one."""
    parts = _parts(text)
    # isascii: str.isdigit() is also true for "²", which int() rejects.
    if not MIN_WORDS + 1 <= len(parts) <= MAX_WORDS + 1:
        return None
    if not (parts[0].isascii() and parts[0].isdigit()) or len(parts[0]) > 9:
        return None
    return ShortCode(nameplate=int(parts[0]), words="-".join(parts[1:]))


def words_match(expected: str, given: str) -> bool:
    """Constant-time comparison, so timing tells nothing about how close a guess was."""
    return hmac.compare_digest(expected.encode(), given.encode())
