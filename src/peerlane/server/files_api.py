"""HTTP routes for files: the tus upload endpoint, share links and room files.

Thin: tus rules live in :mod:`peerlane.core.tus`, byte moving in
:mod:`peerlane.files.uploads`, names/types/ranges in :mod:`peerlane.files`.

The tus endpoint is ``/api/files/uploads`` (creation) and ``/api/files/uploads/{id}``
(upload URLs). The same endpoint is also mounted at ``/api/rooms/{room_id}/uploads``,
because a browser's session cookie is scoped to ``/api/rooms/{room_id}`` and is never
sent to ``/api/files``; bearer clients can use either.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import ClientDisconnect

from peerlane.core import integrity, tus
from peerlane.core.records import new_id
from peerlane.errors import (
    AuthError,
    ErrorCode,
    ForbiddenError,
    GoneError,
    LimitError,
    NotFoundError,
    PeerlaneError,
    ProtocolError,
)
from peerlane.files.downloads import plan_download
from peerlane.files.names import declared_type, safe_name
from peerlane.files.ranges import unsatisfied
from peerlane.files.records import Quotas, Share, StoredFile
from peerlane.files.uploads import Interrupted, PatchRequest
from peerlane.server import error_replies as replies
from peerlane.server import logs
from peerlane.server.api import Who, base_url, client_ip, cookie_secure, qr_svg, services
from peerlane.server.auth import Caller, authenticate
from peerlane.server.services import Services

log = logs.get(__name__)
UPLOADS = "/files/uploads"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
MAX_NAME_METADATA = 4096  # characters before cleaning; the stored name is shorter
# Share limits a client may ask for. Every integer stored must fit the database's signed
# 64-bit columns; a value beyond these bounds is a 422 (invalid_message), never a 500.
MAX_SHARE_DOWNLOADS = 1_000_000
MAX_SHARE_TTL = 100 * 365 * 86_400.0  # seconds: finite; share_max_ttl is the real limit
DB_INT_MAX = 2**63 - 1


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


def error_response(request: Request, exc: PeerlaneError) -> Response:
    svc: Services = request.app.state.services
    return replies.http_exception(svc.metrics, exc)


tus_router = APIRouter(prefix="/api", route_class=TusRoute)
router = APIRouter(prefix="/api")
Svc = Annotated[Services, Depends(services)]


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


async def limit_creations(svc: Services, ip: str, file: StoredFile) -> None:
    """Uploads started per IP, and per participant (room files) or share."""
    owner = f"p:{file.sender_id}" if file.room_id is not None else f"s:{file.share_id}"
    for key in (f"ip:{ip}", owner):
        if (wait := await svc.limiters.uploads.take(key, svc.clock())) is not None:
            raise LimitError(ErrorCode.TOO_MANY_UPLOADS, retry_after=wait)


def allowance_error(svc: Services, wait: float, cost: int) -> LimitError:
    s = svc.settings
    if cost > min(s.upload_bytes_per_ip_per_day, s.share_bytes_per_creator_per_day):
        return LimitError(
            ErrorCode.UPLOAD_ALLOWANCE_EXCEEDED,
            "This file is larger than one day's upload allowance of the server.",
        )
    hours = max(1, round(wait / 3600))
    return LimitError(
        ErrorCode.UPLOAD_ALLOWANCE_EXCEEDED,
        f"You have uploaded as much as one day allows; try again in about {hours} "
        f"hour{'s' if hours != 1 else ''}.",
        retry_after=wait,
    )


def upload_url(request: Request, svc: Services, file: StoredFile, room_path: bool) -> str:
    base = base_url(request, svc)
    if room_path and file.room_id is not None:
        return f"{base}/api/rooms/{file.room_id}/uploads/{file.id}"
    return f"{base}/api{UPLOADS}/{file.id}"


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def managed_share(request: Request, svc: Services, share_id: str) -> Share:
    """The share whose manage token the request carries as a bearer token."""
    token = _bearer(request)
    if token is None:
        raise AuthError(
            ErrorCode.UNAUTHORIZED, "Send the share's manage token as 'Authorization: Bearer'."
        )
    share = await svc.store.get_share(share_id)
    if share is None:
        raise NotFoundError(ErrorCode.SHARE_NOT_FOUND)
    if not hmac.compare_digest(share.manage_hash, _hash_secret(token)):
        raise ForbiddenError(ErrorCode.FORBIDDEN, "That is not this share's manage token.")
    return share


async def room_caller(request: Request, svc: Services, room_id: str, method: str) -> Caller:
    unsafe = request.method not in SAFE_METHODS or method not in SAFE_METHODS
    return await authenticate(
        svc,
        room_id,
        request.headers,
        request.cookies,
        scheme=request.url.scheme,
        needs_origin=unsafe,
    )


def route_each_method(
    router: APIRouter, path: str, endpoint: Callable[..., Any], methods: list[str], **kw: Any
) -> None:
    """One route per method: FastAPI gives a multi-method route a single OpenAPI
    operation id for all its methods, and OpenAPI requires them to be unique."""
    for method in methods:
        name = f"{endpoint.__name__}_{method.lower()}"
        router.add_api_route(path, endpoint, methods=[method], name=name, **kw)


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
    ip = client_ip(request, svc)
    await limit_creations(svc, ip, file)
    # Counted like the quotas count it: an empty file with big metadata is not free.
    cost = length + len(file.upload_metadata) + svc.settings.file_overhead_bytes
    allowances = [(svc.limiters.upload_bytes, ip)]
    if share is not None and share.creator is not None:
        allowances.append((svc.limiters.share_bytes, share.creator))
    now = svc.clock()
    for limiter, key in allowances:  # peek first: a refused creation costs nothing
        if (wait := await limiter.peek(key, now, cost)) is not None:
            raise allowance_error(svc, wait, cost)
    file = await svc.uploads.create(file, quotas)
    for limiter, key in allowances:
        await limiter.take(key, now, cost)
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
    tus.check_patch(
        file.state,
        content_type=patch_request.content_type,
        offset=patch_request.offset,
        content_length=patch_request.content_length,
        now=svc.clock(),
    )
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
    return Response(status_code=204, headers=tus.patch_headers(done.state))


# -- share links -----------------------------------------------------------------------


class CreateShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ttl: float | None = Field(
        None, gt=0, le=MAX_SHARE_TTL, description="Seconds until the share expires."
    )
    max_downloads: int | None = Field(
        None, ge=1, le=MAX_SHARE_DOWNLOADS, description="Downloads allowed per file."
    )
    size: int | None = Field(
        None, ge=0, le=DB_INT_MAX, description="Total bytes of files to be added."
    )


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


class ShareOut(BaseModel):
    id: str
    expires_at: float
    max_downloads: int | None
    size_limit: int
    files: list[FileOut]


class CreatedShareOut(BaseModel):
    id: str
    link: str
    manage_token: str
    expires_at: float
    max_downloads: int | None
    size_limit: int
    upload_url: str
    qr_svg: str


class FilesOut(BaseModel):
    files: list[FileOut]


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
    )


@router.post("/shares", status_code=201)
async def create_share(body: CreateShareIn, request: Request, svc: Svc) -> CreatedShareOut:
    """A new, empty share link; files are added by tus uploads with metadata ``share``."""
    settings, now = svc.settings, svc.clock()
    if (wait := await svc.limiters.shares.take(client_ip(request, svc), now)) is not None:
        raise LimitError(ErrorCode.TOO_MANY_SHARES, retry_after=wait)
    ttl = body.ttl or settings.share_ttl
    if ttl > settings.share_max_ttl:
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE,
            f"Invalid request: ttl: at most {settings.share_max_ttl:g} seconds.",
        )
    size = settings.share_quota_bytes if body.size is None else body.size
    if size > settings.share_quota_bytes:
        raise LimitError(
            ErrorCode.SHARE_QUOTA_EXCEEDED,
            f"A share holds at most {settings.share_quota_bytes} bytes.",
        )
    token, manage = new_id(24), new_id(24)
    creator = hmac.new(svc.secret, client_ip(request, svc).encode(), "sha256").hexdigest()
    share = Share(
        id=new_id(12),
        token_hash=_hash_secret(token),
        manage_hash=_hash_secret(manage),
        created_at=now,
        expires_at=now + ttl,
        max_downloads=body.max_downloads,
        size_limit=size,
        creator=creator[:32],  # the address itself is not kept
    )
    await svc.store.create_share(share)
    base = base_url(request, svc)
    link = f"{base}/s#{token}"
    return CreatedShareOut(
        id=share.id,
        link=link,
        manage_token=manage,
        expires_at=share.expires_at,
        max_downloads=share.max_downloads,
        size_limit=share.size_limit,
        upload_url=f"{base}/api{UPLOADS}",
        qr_svg=qr_svg(link),
    )


# -- reading a share: the secret never in a path ----------------------------------------
#
# A share link is /s#<token>: the secret stays in the fragment. The download page sends
# it in the body of POST /api/shares/open, which answers the share (its id, the files'
# URLs) and sets a cookie holding it, scoped to /api/shares/<id>: the download links are
# /api/shares/<id>/files/<file_id>, with nothing secret in them, so neither proxy logs
# nor the browser's download history record the secret. Other clients send the token in
# the X-Share-Token header instead. Paths of earlier versions carried the token where the
# id now is; they are redirected to the fragment form (see share_or_redirect).

SHARE_COOKIE = "peerlane_share"
SHARE_TOKEN_HEADER = "x-share-token"  # noqa: S105 - a header name


class OpenShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=256)


def share_cookie_path(share_id: str) -> str:
    return f"/api/shares/{share_id}"


def check_live(svc: Services, share: Share) -> Share:
    if share.expires_at <= svc.clock():
        raise GoneError(ErrorCode.SHARE_EXPIRED)
    return share


async def live_share(svc: Services, token: str) -> Share:
    share = await svc.store.get_share_by_token_hash(_hash_secret(token))
    if share is None:
        raise NotFoundError(ErrorCode.SHARE_NOT_FOUND)
    return check_live(svc, share)


async def share_or_redirect(request: Request, svc: Services, share_id: str) -> Share | Response:
    """The live share ``share_id`` names, if the request carries its token (header or
    cookie); a redirect for a path of an earlier version with the token in it."""
    share = await svc.store.get_share(share_id)
    if share is None:
        if await svc.store.get_share_by_token_hash(_hash_secret(share_id)) is not None:
            return old_link_redirect(share_id)
        raise NotFoundError(ErrorCode.SHARE_NOT_FOUND)
    token = request.headers.get(SHARE_TOKEN_HEADER) or request.cookies.get(SHARE_COOKIE)
    # A missing or wrong token says "not found", like an unknown share: no oracle.
    if token is None or not hmac.compare_digest(_hash_secret(token), share.token_hash):
        raise NotFoundError(ErrorCode.SHARE_NOT_FOUND)
    return check_live(svc, share)


def old_link_redirect(token: str) -> Response:
    """To the download page with the token in the fragment, out of the path: the next
    request (and the history entry it leaves) has no secret in it. Our access log names
    only the route template, never the path."""
    return Response(
        status_code=303,
        headers={
            "location": f"/s#{token}",
            "cache-control": "no-store",
            "referrer-policy": "no-referrer",
        },
    )


async def share_out(request: Request, svc: Services, share: Share) -> ShareOut:
    base = base_url(request, svc)
    found = await svc.store.list_files(share_id=share.id)
    path = share_cookie_path(share.id)
    return ShareOut(
        id=share.id,
        expires_at=share.expires_at,
        max_downloads=share.max_downloads,
        size_limit=share.size_limit,
        files=[file_out(f, f"{base}{path}/files/{f.id}", room=False) for f in found],
    )


@router.post("/shares/open")
async def open_share(body: OpenShareIn, request: Request, response: Response, svc: Svc) -> ShareOut:
    """What a share link holds (the complete files), by the secret in the body; sets the
    cookie the download links of this share are authorized by."""
    share = await live_share(svc, body.token)
    response.set_cookie(
        SHARE_COOKIE,
        body.token,
        max_age=max(1, int(share.expires_at - svc.clock())),
        path=share_cookie_path(share.id),
        httponly=True,
        # Strict: another site cannot spend this share's downloads through a visitor.
        samesite="strict",
        secure=cookie_secure(request, svc),
    )
    response.headers["cache-control"] = "no-store"
    return await share_out(request, svc, share)


@router.get("/shares/{share_id}", response_model=ShareOut)
async def get_share(share_id: str, request: Request, svc: Svc) -> ShareOut | Response:
    """The share again, with its token in the X-Share-Token header or the cookie."""
    found = await share_or_redirect(request, svc, share_id)
    if isinstance(found, Response):
        return found
    return await share_out(request, svc, found)


async def download_share_file(share_id: str, file_id: str, request: Request, svc: Svc) -> Response:
    found = await share_or_redirect(request, svc, share_id)
    if isinstance(found, Response):
        return found
    share = found
    file = await svc.store.get_file(file_id)
    if file is None or file.share_id != share.id or not file.complete:
        raise NotFoundError(ErrorCode.FILE_NOT_FOUND)
    if share.max_downloads is not None and file.downloads >= share.max_downloads:
        raise GoneError(ErrorCode.SHARE_EXHAUSTED)
    return await download(request, svc, file, max_downloads=share.max_downloads, cacheable=False)


@router.delete("/shares/{share_id}", status_code=204)
async def delete_share(share_id: str, request: Request, svc: Svc) -> Response:
    """Delete a share and its files, with the manage token."""
    await managed_share(request, svc, share_id)
    file_ids = await svc.store.delete_share(share_id)
    for file_id in file_ids or []:
        await svc.files.delete(file_id)
    return Response(status_code=204)


# -- room files ------------------------------------------------------------------------


async def room_file(svc: Services, who: Caller, file_id: str) -> StoredFile:
    file = await svc.store.get_file(file_id)
    if (
        file is None
        or file.room_id != who.room.id
        or not file.complete
        or not file.visible_to(who.participant.id)
    ):
        raise NotFoundError(ErrorCode.FILE_NOT_FOUND)
    return file


@router.get("/rooms/{room_id}/files")
async def list_room_files(request: Request, who: Who, svc: Svc) -> FilesOut:
    """The room's complete files this participant may see."""
    base = base_url(request, svc)
    found = await svc.store.list_files(room_id=who.room.id)
    return FilesOut(
        files=[
            file_out(f, f"{base}/api/rooms/{who.room.id}/files/{f.id}", room=True)
            for f in found
            if f.visible_to(who.participant.id)
        ]
    )


async def download_room_file(file_id: str, request: Request, who: Who, svc: Svc) -> Response:
    file = await room_file(svc, who, file_id)
    return await download(request, svc, file, max_downloads=None, cacheable=True)


@router.delete("/rooms/{room_id}/files/{file_id}", status_code=204)
async def delete_room_file(file_id: str, who: Who, svc: Svc) -> Response:
    """The sender (or the room's owner) deletes a file."""
    file = await room_file(svc, who, file_id)
    if who.participant.id != file.sender_id and not who.is_owner:
        raise ForbiddenError(ErrorCode.FORBIDDEN, "Only the sender can delete this file.")
    await svc.uploads.delete(file.id)
    return Response(status_code=204)


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
        async for chunk in svc.files.read_range(file.id, plan.span.start, plan.span.end):
            yield chunk
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


# -- routes with several methods ---------------------------------------------------------

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
route_each_method(
    router, "/shares/{share_id}/files/{file_id}", download_share_file, ["GET", "HEAD"]
)
route_each_method(router, "/rooms/{room_id}/files/{file_id}", download_room_file, ["GET", "HEAD"])
