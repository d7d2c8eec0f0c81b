"""The tus upload endpoint: creating uploads, and their upload URLs.

The tus endpoint is ``/api/files/uploads`` (creation) and ``/api/files/uploads/{id}``
(upload URLs). The same endpoint is also mounted at ``/api/rooms/{room_id}/uploads``,
because a browser's session cookie is scoped to ``/api/rooms/{room_id}`` and is never
sent to ``/api/files``; bearer clients can use either.

Thin: the tus rules are :mod:`peerlane.core.tus`, the upload policy (quotas,
allowances, budgets) :mod:`peerlane.files.policy`, the byte moving
:mod:`peerlane.files.uploads`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect

from peerlane.bus.base import Limiter
from peerlane.core import e2e, integrity, tus
from peerlane.core.records import new_id
from peerlane.errors import (
    ErrorCode,
    ForbiddenError,
    GoneError,
    NotFoundError,
    PeerlaneError,
    ProtocolError,
)
from peerlane.files import policy
from peerlane.files.names import declared_type, safe_name
from peerlane.files.records import Quotas, Share, StoredFile
from peerlane.files.uploads import Interrupted, PatchRequest
from peerlane.server import error_replies as replies
from peerlane.server.api_deps import base_url, client_ip, room_caller
from peerlane.server.file_routes import (
    MAX_SEALED_METADATA,
    UPLOADS,
    Svc,
    error_response,
    route_each_method,
)
from peerlane.server.services import Services
from peerlane.server.shares_api import managed_share

MAX_NAME_METADATA = 4096  # characters before cleaning; the stored name is shorter


# -- tus plumbing ----------------------------------------------------------------------


class TusRoute(APIRoute):
    """Adds ``Tus-Resumable`` to every answer of the tus endpoint, errors included
    (which get the one JSON error shape, and ``Tus-Version`` on 412)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def tus_handler(request: Request) -> Response:
            try:
                response = await handle(request)
            except PeerlaneError as exc:
                response = error_response(request, exc)
                if exc.code == ErrorCode.UNSUPPORTED_TUS_VERSION:
                    response.headers["Tus-Version"] = tus.TUS_VERSION
            response.headers["Tus-Resumable"] = tus.TUS_VERSION
            return response

        return tus_handler


tus_router = APIRouter(prefix="/api", route_class=TusRoute)


def options_response(svc: Services) -> Response:
    return Response(status_code=204, headers=tus.options_headers(svc.settings.max_file_bytes))


async def request_body(request: Request) -> AsyncIterator[bytes]:
    """The request body chunk by chunk, as the client sends it (never buffered)."""
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise Interrupted() from None


def upload_url(request: Request, svc: Services, file: StoredFile, room_path: bool) -> str:
    base = base_url(request, svc)
    if room_path and file.room_id is not None:
        return f"{base}/api/rooms/{file.room_id}/uploads/{file.id}"
    return f"{base}/api{UPLOADS}/{file.id}"


async def admit_creation(
    svc: Services, ip: str, file: StoredFile, share: Share | None
) -> list[tuple[Limiter, str, int]]:
    """Spend a creation from the upload budgets and the daily byte allowances
    (``files.policy``), or refuse it; returns what was spent."""
    now = svc.clock()
    for key in policy.creation_keys(ip, file):
        if (wait := await svc.limiters.uploads.take(key, now)) is not None:
            raise policy.too_many_uploads(wait)
    cost = policy.creation_cost(svc.settings, file)
    creator = share.creator if share is not None else None
    limiters = {"upload_bytes": svc.limiters.upload_bytes, "share_bytes": svc.limiters.share_bytes}
    spend = [
        (limiters[allowance.kind], allowance.key, cost)
        for allowance in policy.allowances(ip, creator)
    ]
    # Spent now, not after the creation: creations sent together would otherwise all pass
    # a look before any had spent. A creation refused later (a quota) keeps its cost spent.
    for limiter, key, _ in spend:
        if (wait := await limiter.take(key, now, cost)) is not None:
            raise policy.allowance_error(svc.settings, wait, cost)
    return spend


# -- tus: creation -----------------------------------------------------------------------


async def uploads_endpoint(request: Request, svc: Svc) -> Response:
    """tus creation (POST) and capabilities (OPTIONS)."""
    return await creation(request, svc, None)


async def room_uploads_endpoint(room_id: str, request: Request, svc: Svc) -> Response:
    """The creation endpoint under the room's cookie path."""
    return await creation(request, svc, room_id)


async def creation(request: Request, svc: Services, path_room: str | None) -> Response:
    headers = request.headers
    method = tus.effective_method(request.method, headers.get("x-http-method-override"))
    tus.check_resumable(method, headers.get("tus-resumable"))
    if method == "OPTIONS":
        return options_response(svc)
    if method != "POST":
        raise ProtocolError(ErrorCode.BAD_REQUEST, "Create uploads with POST.")
    if "upload-defer-length" in headers or "upload-concat" in headers:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, "Deferred lengths and concatenation are not supported."
        )
    length = tus.parse_int(headers.get("upload-length"), "Upload-Length")
    tus.check_creation(length, svc.settings.max_file_bytes)
    raw = headers.get("upload-metadata")
    file, quotas, share = await new_upload(request, svc, raw, length, path_room)
    await admit_creation(svc, client_ip(request, svc), file, share)
    file = await svc.uploads.create(file, quotas)
    response = Response(status_code=201)
    response.headers["Location"] = upload_url(request, svc, file, path_room is not None)
    response.headers.update(tus.expiry_headers(file.state))
    if share is not None or file.length == 0:
        response.headers["Upload-Offset"] = str(file.offset)
    return response


async def new_upload(
    request: Request, svc: Services, raw: str | None, length: int, path_room: str | None
) -> tuple[StoredFile, Quotas, Share | None]:
    """The upload a creation request describes, after checking who may create it."""
    meta = tus.parse_metadata(raw)

    def text(key: str, max_chars: int = 64) -> str | None:
        return tus.metadata_text(meta, key, max_chars=max_chars)

    def id_text(key: str) -> str | None:
        """An id to look up: no id has a NUL, and PostgreSQL refuses one in text (a 500).
        (Names may: they are cleaned before they are stored.)"""
        value = text(key)
        if value is not None and "\x00" in value:
            raise ProtocolError(ErrorCode.INVALID_METADATA, f"Metadata {key!r} names nothing.")
        return value

    name = text("name", MAX_NAME_METADATA) or text("filename", MAX_NAME_METADATA)
    declared = text("type", 255) or text("filetype", 255)
    root = text("root")
    if root is not None and not integrity.is_root(root):
        raise ProtocolError(ErrorCode.INVALID_METADATA, "Metadata 'root' is not a root hash.")
    sealed = text("sealed", MAX_SEALED_METADATA)
    if sealed is not None and not e2e.is_envelope(sealed):
        raise ProtocolError(ErrorCode.INVALID_METADATA, "Metadata 'sealed' is not an envelope.")
    room_id, share_id, to = id_text("room"), id_text("share"), id_text("to")
    if path_room is not None:
        if room_id not in (None, path_room):
            raise ProtocolError(ErrorCode.INVALID_METADATA, "Metadata 'room' is another room.")
        room_id = path_room
    if (room_id is None) == (share_id is None):
        raise ProtocolError(
            ErrorCode.INVALID_METADATA,
            "Say where the file goes: metadata 'room' (a room id) or 'share' (a share id).",
        )
    share: Share | None = None
    if room_id is not None:
        caller = await room_caller(request, svc, room_id, "POST")
        if to is not None:
            recipient = await svc.store.get_participant(to)
            if recipient is None or recipient.room_id != room_id:
                raise ProtocolError(
                    ErrorCode.INVALID_METADATA, "Metadata 'to' names no participant of this room."
                )
        sender, expires_at = caller.participant.id, svc.uploads.expiry()
    else:
        assert share_id is not None
        share = await managed_share(request, svc, share_id)
        if share.expires_at <= svc.clock():
            raise GoneError(ErrorCode.SHARE_EXPIRED)
        sender, to, expires_at = None, None, svc.uploads.expiry(share.expires_at)
    quotas = await svc.quotas(room=room_id is not None)
    file = StoredFile(
        id=new_id(16),
        room_id=room_id,
        share_id=share.id if share is not None else None,
        sender_id=sender,
        recipient_id=to,
        name=safe_name(name),
        content_type=declared_type(declared),
        length=length,
        offset=0,
        status="uploading",
        upload_metadata=raw or "",
        created_at=svc.clock(),
        expires_at=expires_at,
        expected_root=root,
    )
    return file, quotas, share


# -- tus: upload URLs --------------------------------------------------------------------

UPLOAD_METHODS = ["HEAD", "PATCH", "DELETE", "POST", "OPTIONS", "GET"]


async def upload_endpoint(upload_id: str, request: Request, svc: Svc) -> Response:
    """An upload URL: HEAD (offset), PATCH (append), DELETE (terminate), OPTIONS."""
    return await upload_resource(request, svc, upload_id, None)


async def room_upload_endpoint(
    room_id: str, upload_id: str, request: Request, svc: Svc
) -> Response:
    """An upload URL under the room's cookie path."""
    return await upload_resource(request, svc, upload_id, room_id)


async def upload_resource(
    request: Request, svc: Services, upload_id: str, path_room: str | None
) -> Response:
    headers = request.headers
    method = tus.effective_method(request.method, headers.get("x-http-method-override"))
    tus.check_resumable(method, headers.get("tus-resumable"))
    if method == "OPTIONS":
        return options_response(svc)
    if method not in ("HEAD", "PATCH", "DELETE"):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "Upload URLs take HEAD, PATCH and DELETE.")
    file = await svc.store.get_file(upload_id)
    if file is None or (path_room is not None and file.room_id != path_room):
        raise NotFoundError(ErrorCode.UPLOAD_NOT_FOUND)
    share = await authorize_upload(request, svc, file, method)
    if method == "DELETE":
        await svc.uploads.delete(file.id)
        return Response(status_code=204)
    if method == "HEAD":
        tus.check_live(file.state, svc.clock())
        return Response(status_code=200, headers=tus.head_headers(file.state, file.upload_metadata))
    return await patch(request, svc, file, share)


async def authorize_upload(
    request: Request, svc: Services, file: StoredFile, method: str
) -> Share | None:
    """Only the uploader may touch an upload: the sending participant of a room file,
    the holder of a share's manage token. Returns the share, if it is a share's."""
    if file.room_id is not None:
        caller = await room_caller(request, svc, file.room_id, method)
        if caller.participant.id != file.sender_id:
            raise ForbiddenError(ErrorCode.FORBIDDEN, "Only the sender can use this upload.")
        return None
    assert file.share_id is not None
    return await managed_share(request, svc, file.share_id)


async def patch(request: Request, svc: Services, file: StoredFile, share: Share | None) -> Response:
    headers = request.headers
    length = headers.get("content-length")
    patch_request = PatchRequest(
        content_type=headers.get("content-type"),
        offset=headers.get("upload-offset"),
        content_length=tus.parse_int(length, "Content-Length") if length else None,
        checksum=tus.parse_checksum(headers.get("upload-checksum")),
    )
    # Judge the request before the lock and the body (cheap refusals, no waiting).
    patch_request.check(file.state, svc.clock())
    try:
        done = await svc.uploads.patch(
            file.id,
            request_body(request),
            patch_request,
            share_expires_at=share.expires_at if share is not None else None,
            quotas=await svc.quotas(room=file.room_id is not None),
        )
    except Interrupted:
        # The client is gone (or went quiet); what arrived is saved. Nobody reads this.
        return replies.http_error(svc.metrics, ErrorCode.BAD_REQUEST, status=400, counted=False)
    # The bytes this PATCH appended (a retried PATCH after a lost answer counts again).
    svc.metrics.server_bytes.labels("upload").inc(max(done.offset - file.offset, 0))
    return Response(status_code=204, headers=tus.patch_headers(done.state))


route_each_method(tus_router, UPLOADS, uploads_endpoint, ["POST", "OPTIONS"], status_code=201)
route_each_method(
    tus_router,
    "/rooms/{room_id}/uploads",
    room_uploads_endpoint,
    ["POST", "OPTIONS"],
    status_code=201,
)
route_each_method(tus_router, UPLOADS + "/{upload_id}", upload_endpoint, UPLOAD_METHODS)
route_each_method(
    tus_router, "/rooms/{room_id}/uploads/{upload_id}", room_upload_endpoint, UPLOAD_METHODS
)
