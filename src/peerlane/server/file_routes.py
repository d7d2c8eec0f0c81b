"""What the file routes share: tus, share and room-file routes (``tus_api.py``,
``shares_api.py``, ``room_files_api.py``).

Thin: tus rules live in :mod:`peerlane.core.tus`, byte moving in
:mod:`peerlane.files.uploads`, upload policy in :mod:`peerlane.files.policy`,
names/types/ranges in :mod:`peerlane.files`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from peerlane.core import e2e, tus
from peerlane.errors import ErrorCode, GoneError, PeerlaneError, ProtocolError
from peerlane.files.downloads import plan_download
from peerlane.files.ranges import unsatisfied
from peerlane.files.records import StoredFile
from peerlane.server import error_replies as replies
from peerlane.server import logs
from peerlane.server.api_deps import services
from peerlane.server.services import Services

log = logs.get(__name__)
UPLOADS = "/files/uploads"  # the tus endpoint, under /api
Svc = Annotated[Services, Depends(services)]


def error_response(request: Request, exc: PeerlaneError) -> Response:
    """The error answer of a route that catches its own errors (tus, ranges)."""
    svc: Services = request.app.state.services
    return replies.http_exception(svc.metrics, exc)


def route_each_method(
    router: APIRouter, path: str, endpoint: Callable[..., Any], methods: list[str], **kw: Any
) -> None:
    """One route per method: FastAPI gives a multi-method route a single OpenAPI
    operation id for all its methods, and OpenAPI requires them to be unique."""
    for method in methods:
        name = f"{endpoint.__name__}_{method.lower()}"
        router.add_api_route(path, endpoint, methods=[method], name=name, **kw)


class FileOut(BaseModel):
    id: str
    name: str
    size: int
    type: str
    root: str | None
    verified: bool
    created_at: float
    completed_at: float | None
    url: str
    sender: str | None = None
    to: str | None = None
    downloads: int | None = None
    # An end-to-end encrypted file's metadata (name, type, size, file key), sealed by the
    # client that uploaded it (Upload-Metadata "sealed"): opaque here.
    sealed: str | None = None


MAX_SEALED_METADATA = 4096


def sealed_metadata(raw: str) -> str | None:
    """The ``sealed`` value of an Upload-Metadata header (checked when it was created)."""
    try:
        value = tus.metadata_text(tus.parse_metadata(raw), "sealed", max_chars=MAX_SEALED_METADATA)
    except ProtocolError:
        return None
    return value if value is not None and e2e.is_envelope(value) else None


def file_out(file: StoredFile, url: str, *, room: bool) -> FileOut:
    return FileOut(
        id=file.id,
        name=file.name,
        size=file.length,
        type=file.content_type,
        root=file.root,
        verified=file.verified,
        created_at=file.created_at,
        completed_at=file.completed_at,
        url=url,
        sender=file.sender_id if room else None,
        to=file.recipient_id if room else None,
        downloads=None if room else file.downloads,
        sealed=sealed_metadata(file.upload_metadata),
    )


# -- downloads -------------------------------------------------------------------------


def _log_failure(task: asyncio.Future[bool]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("files.count_failed", exc_info=task.exception())


async def download(
    request: Request, svc: Services, file: StoredFile, *, max_downloads: int | None,
    cacheable: bool,
) -> Response:  # fmt: skip
    """Stream a complete file (or one range of it) in bounded chunks, and count it."""
    try:
        plan = plan_download(
            file,
            range_header=request.headers.get("range"),
            if_range=request.headers.get("if-range"),
            cacheable=cacheable,
        )
    except ProtocolError as exc:
        response = error_response(request, exc)
        response.headers["Content-Range"] = unsatisfied(file.length)
        return response
    if request.method == "HEAD":
        return Response(status_code=plan.status, headers=plan.headers)
    if plan.count_at == "start" and not await svc.store.count_download(
        file.id, max_downloads=max_downloads
    ):
        raise GoneError(ErrorCode.SHARE_EXHAUSTED)

    async def stream() -> AsyncIterator[bytes]:
        sent = svc.metrics.server_bytes.labels("download")
        async for chunk in svc.files.read_range(file.id, plan.span.start, plan.span.end):
            yield chunk
            sent.inc(len(chunk))
        if plan.count_at == "end":
            # Every byte went to the connection: one whole download. Shielded: the
            # response may be torn down now (the client has it all), and a transaction
            # cut off half-way would keep the database locked.
            count = asyncio.ensure_future(
                svc.store.count_download(file.id, max_downloads=max_downloads)
            )
            count.add_done_callback(_log_failure)
            await asyncio.shield(count)

    return StreamingResponse(
        stream(), status_code=plan.status, headers=plan.headers, media_type=None
    )
