"""HTTP byte ranges for downloads (RFC 9110 §14), sans-I/O.

One range per request: a ``Range`` with several is ignored (the whole file is sent,
which the RFC allows), as is one in a unit other than ``bytes``. A ``bytes`` range that
is malformed or lies outside the file is refused with 416 ``range_not_satisfiable``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from peerlane.errors import ErrorCode, ProtocolError

_SPEC = re.compile(r"^(?:(\d{1,19})-(\d{0,19})|-(\d{1,19}))$")


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # exclusive

    @property
    def length(self) -> int:
        return self.end - self.start

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end - 1}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to send of a ``size``-byte file; None for the whole file (no or ignored
    header). Raise ProtocolError(RANGE_NOT_SATISFIABLE) for a bad or outside range."""
    if header is None:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return None
    match = _SPEC.fullmatch(spec.strip())
    if match is None:
        raise ProtocolError(ErrorCode.RANGE_NOT_SATISFIABLE)
    first, last, suffix = match.groups()
    if suffix is not None:
        length = int(suffix)
        if length == 0 or size == 0:
            raise ProtocolError(ErrorCode.RANGE_NOT_SATISFIABLE)
        return ByteRange(max(0, size - length), size)
    start = int(first)
    end = size if not last else min(size, int(last) + 1)
    if start >= size or (last and int(last) < start):
        raise ProtocolError(ErrorCode.RANGE_NOT_SATISFIABLE)
    return ByteRange(start, end)


def unsatisfied(size: int) -> str:
    """The Content-Range of a 416 answer."""
    return f"bytes */{size}"
