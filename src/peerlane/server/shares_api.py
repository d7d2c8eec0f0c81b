"""Share links: creating one, reading it by its secret, downloading and deleting.

A share is filled by tus uploads with metadata ``share`` (``server/tus_api.py``),
authorized by the share's manage token; its bounds come from ``files.policy``.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from peerlane.core.records import new_id
from peerlane.errors import (
    AuthError,
    ErrorCode,
    ForbiddenError,
    GoneError,
    LimitError,
    NotFoundError,
)
from peerlane.files import policy
from peerlane.files.records import Share
from peerlane.server.api_deps import base_url, client_ip, cookie_secure
from peerlane.server.file_routes import UPLOADS, FileOut, Svc, download, file_out, route_each_method
from peerlane.server.invites_api import qr_svg
from peerlane.server.services import Services

router = APIRouter(prefix="/api")

# Share limits a client may ask for. Every integer stored must fit the database's signed
# 64-bit columns; a value beyond these bounds is a 422 (invalid_message), never a 500.
MAX_SHARE_DOWNLOADS = 1_000_000
MAX_SHARE_TTL = 100 * 365 * 86_400.0  # seconds: finite; share_max_ttl is the real limit
DB_INT_MAX = 2**63 - 1


def hash_secret(secret: str) -> str:
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
    if not hmac.compare_digest(share.manage_hash, hash_secret(token)):
        raise ForbiddenError(ErrorCode.FORBIDDEN, "That is not this share's manage token.")
    return share


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


@router.post("/shares", status_code=201)
async def create_share(body: CreateShareIn, request: Request, svc: Svc) -> CreatedShareOut:
    """A new, empty share link; files are added by tus uploads with metadata ``share``."""
    settings, now = svc.settings, svc.clock()
    if (wait := await svc.limiters.shares.take(client_ip(request, svc), now)) is not None:
        raise LimitError(ErrorCode.TOO_MANY_SHARES, retry_after=wait)
    ttl, size = policy.share_bounds(settings, body.ttl, body.size)
    token, manage = new_id(24), new_id(24)
    creator = hmac.new(svc.secret, client_ip(request, svc).encode(), "sha256").hexdigest()
    share = Share(
        id=new_id(12),
        token_hash=hash_secret(token),
        manage_hash=hash_secret(manage),
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
    share = await svc.store.get_share_by_token_hash(hash_secret(token))
    if share is None:
        raise NotFoundError(ErrorCode.SHARE_NOT_FOUND)
    return check_live(svc, share)


async def share_or_redirect(request: Request, svc: Services, share_id: str) -> Share | Response:
    """The live share ``share_id`` names, if the request carries its token (header or
    cookie); a redirect for a path of an earlier version with the token in it."""
    share = await svc.store.get_share(share_id)
    if share is None:
        if await svc.store.get_share_by_token_hash(hash_secret(share_id)) is not None:
            return old_link_redirect(share_id)
        raise NotFoundError(ErrorCode.SHARE_NOT_FOUND)
    token = request.headers.get(SHARE_TOKEN_HEADER) or request.cookies.get(SHARE_COOKIE)
    # A missing or wrong token says "not found", like an unknown share: no oracle.
    if token is None or not hmac.compare_digest(hash_secret(token), share.token_hash):
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


route_each_method(
    router, "/shares/{share_id}/files/{file_id}", download_share_file, ["GET", "HEAD"]
)
