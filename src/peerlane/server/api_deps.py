"""What the API's routes take from a request: the services, the caller (and whether it
is the room's owner), the client's address for per-IP limits, the public base URL, and
whether cookies must be Secure."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from peerlane.errors import ErrorCode, ForbiddenError
from peerlane.server.addresses import client_address
from peerlane.server.auth import Caller, authenticate
from peerlane.server.services import Services


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


async def room_caller(
    request: Request, svc: Services, room_id: str, method: str | None = None
) -> Caller:
    """The room's participant making this request. One that changes something (by its
    own method, or by the one it stands for: a tus HEAD before a PATCH) must also come
    from this site's pages (Origin)."""
    unsafe = request.method not in SAFE_METHODS or (
        method is not None and method not in SAFE_METHODS
    )
    return await authenticate(
        svc,
        room_id,
        request.headers,
        request.cookies,
        scheme=request.url.scheme,
        needs_origin=unsafe,
    )


async def caller(request: Request, room_id: str, svc: Svc) -> Caller:
    return await room_caller(request, svc, room_id)


async def owner(who: Annotated[Caller, Depends(caller)]) -> Caller:
    if not who.is_owner:
        raise ForbiddenError(ErrorCode.NOT_OWNER)
    return who


Who = Annotated[Caller, Depends(caller)]
Owner = Annotated[Caller, Depends(owner)]


def client_ip(request: Request, svc: Services) -> str:
    """The key per-IP limits count this request under (see server.addresses)."""
    return client_address(request, svc.settings)


def base_url(request: Request, svc: Services) -> str:
    return (svc.settings.public_url or str(request.base_url)).rstrip("/")


def cookie_secure(request: Request, svc: Services) -> bool:
    """Secure when this request came over HTTPS, and always when the server is public
    over HTTPS: behind a TLS proxy the request itself may look like plain HTTP."""
    return request.url.scheme == "https" or svc.settings.https_public
