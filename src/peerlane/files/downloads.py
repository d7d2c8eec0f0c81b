"""Serving a complete file: which bytes, with which headers, counted or not (sans-I/O).

**Download counting** (what ``max_downloads`` of a share limits, per file): a request
counts as one download when it is

* a whole-file ``GET`` (200) whose last byte was handed to the connection, or
* a ranged ``GET`` whose range starts at byte 0 (counted before it is sent).

Ranges starting later are continuations and never count, so resuming a download costs
nothing; ``HEAD`` never counts. Once a file has been downloaded ``max_downloads`` times,
every request for it gets 410 ``share_exhausted``. The limit is a courtesy for honest
clients, not a guarantee: anyone holding the link could fetch the bytes from 1 on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from peerlane.core.tus import http_date
from peerlane.files.names import content_disposition, served_type
from peerlane.files.ranges import ByteRange, parse_range
from peerlane.files.records import StoredFile

CountAt = Literal["start", "end", "never"]
# The file must not run as a page even if opened directly: no scripts, no origin.
SANDBOX_CSP = "sandbox; default-src 'none'"


@dataclass(frozen=True, slots=True)
class DownloadPlan:
    status: int  # 200 or 206
    span: ByteRange  # the bytes to send
    headers: dict[str, str]
    count_at: CountAt


def etag(file: StoredFile) -> str:
    """A strong ETag: the file's integrity root (files never change once complete)."""
    return f'"{file.root or file.id}"'


def plan_download(
    file: StoredFile,
    *,
    range_header: str | None,
    if_range: str | None,
    cacheable: bool,
) -> DownloadPlan:
    """How to answer a GET for ``file``; raises ProtocolError(RANGE_NOT_SATISFIABLE)."""
    size = file.length
    tag = etag(file)
    modified = http_date(file.completed_at or file.created_at)
    # If-Range: send the range only if the client's copy is this very file.
    use_range = if_range is None or if_range.strip() in (tag, modified)
    requested = parse_range(range_header, size) if use_range else None
    span = requested or ByteRange(0, size)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Type": served_type(file.content_type),
        "Content-Disposition": content_disposition(file.name),
        "Content-Length": str(span.length),
        # With the server-wide nosniff (middleware), browsers never guess a type.
        "Content-Security-Policy": SANDBOX_CSP,
        "ETag": tag,
        "Last-Modified": modified,
        "Cache-Control": "private, max-age=86400" if cacheable else "no-store",
    }
    if requested is None:
        return DownloadPlan(200, span, headers, "end")
    headers["Content-Range"] = requested.content_range(size)
    return DownloadPlan(206, span, headers, "start" if requested.start == 0 else "never")
