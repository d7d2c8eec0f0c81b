"""Who is calling: a signed token from the Authorization header or the room's cookie.

The join route also recognises a member coming back (:func:`returning_participant`): the
browser's own live session for the room (a copy of its cookie that only the join route
sees) or the client's bearer token, under the same name, returns as that participant.

Identity always comes from the token; the room in the token must be the room in the
path. A cookie is ambient authority, so cookie-authenticated WebSockets and unsafe HTTP
methods must come from an allowed Origin (CSRF and cross-site WebSocket hijacking).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from starlette.datastructures import Headers

from peerlane.core import credentials
from peerlane.core.records import Participant, Room, SessionRecord
from peerlane.errors import AuthError, ErrorCode, ForbiddenError, NotFoundError, PeerlaneError
from peerlane.server.services import Services

COOKIE = "peerlane_session"
# Where the copy of a room's session cookie goes that lets the browser join the room again
# as the same participant (the room cookie's own path does not cover the join route).
RETURN_PATH = "/api/join"
# A session in use is renewed once this share of its idle lifetime has passed, so a busy
# session costs one write per quarter lifetime, not one per request.
RENEW_AFTER = 0.25


@dataclass(frozen=True, slots=True)
class Caller:
    room: Room
    participant: Participant
    via_cookie: bool
    session: SessionRecord

    @property
    def is_owner(self) -> bool:
        return self.participant.role == "owner"


def cookie_path(room_id: str) -> str:
    """Cookies are scoped to one room's API (HTTP and WebSocket live under it)."""
    return f"/api/rooms/{room_id}"


def return_cookie(room_id: str) -> str:
    """The name of a room's return cookie: one per room, all sent to the join route."""
    return f"peerlane_return_{room_id}"


def _token(headers: Headers, cookies: dict[str, str]) -> tuple[str, bool] | None:
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthError(ErrorCode.UNAUTHORIZED, "Use 'Authorization: Bearer <token>'.")
        return value.strip(), False
    if COOKIE in cookies:
        return cookies[COOKIE], True
    return None


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(services: Services, headers: Headers, scheme: str) -> set[str]:
    http_scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    allowed = {origin.lower().rstrip("/") for origin in services.settings.allowed_origins}
    if host := headers.get("host"):
        allowed.add(f"{http_scheme}://{host}".lower())
    if services.settings.public_url:
        allowed.add(origin_of(services.settings.public_url))
    return allowed


def check_origin(services: Services, headers: Headers, scheme: str) -> None:
    origin = headers.get("origin")
    if origin is None or origin.lower() not in allowed_origins(services, headers, scheme):
        raise ForbiddenError(ErrorCode.BAD_ORIGIN)


def claimed_participant(
    services: Services, headers: Headers, cookies: dict[str, str]
) -> str | None:
    """The participant a valid token names, without touching storage (None: no valid
    token). For limits to count a caller before the lookups :func:`authenticate` makes;
    the token is signed, so the id cannot be made up to dodge them."""
    try:
        found = _token(headers, cookies)
        if found is None:
            return None
        return credentials.verify(services.secret, found[0], now=services.clock()).participant_id
    except PeerlaneError:
        return None


async def authenticate(
    services: Services,
    room_id: str,
    headers: Headers,
    cookies: dict[str, str],
    *,
    scheme: str,
    needs_origin: bool,
) -> Caller:
    """Resolve the caller of ``room_id`` or raise. ``needs_origin``: the request changes
    state (or is a WebSocket), so a cookie is accepted only from an allowed origin."""
    found = _token(headers, cookies)
    if found is None:
        raise AuthError(ErrorCode.UNAUTHORIZED)
    token, via_cookie = found
    claims = credentials.verify(services.secret, token, now=services.clock())
    if claims.room_id != room_id:
        raise ForbiddenError(ErrorCode.FORBIDDEN, "Your session is for another room.")
    if via_cookie and needs_origin:
        check_origin(services, headers, scheme)
    room = await services.store.get_room(room_id)
    if room is None:
        raise NotFoundError(ErrorCode.ROOM_NOT_FOUND)
    session = await live_session(services, claims)
    participant = await services.store.get_participant(claims.participant_id)
    if participant is None or participant.room_id != room_id:
        raise AuthError(ErrorCode.UNAUTHORIZED, "You are no longer in this room; join it again.")
    return Caller(room=room, participant=participant, via_cookie=via_cookie, session=session)


async def returning_participant(
    services: Services,
    room_id: str,
    name: str,
    headers: Headers,
    cookies: dict[str, str],
    *,
    scheme: str,
) -> Participant | None:
    """The participant the caller already is in ``room_id`` under the name ``name``, or
    None (then the join makes a new one).

    Only the caller's own live session counts: a valid token for this room (bearer, or
    the browser's return cookie from an allowed origin) whose session is not signed out,
    expired or removed. A name alone never finds anyone; a different name is a new person.
    """
    try:
        cookie = cookies.get(return_cookie(room_id))
        found = _token(headers, {COOKIE: cookie} if cookie else {})
        if found is None:
            return None
        token, via_cookie = found
        claims = credentials.verify(services.secret, token, now=services.clock())
        if claims.room_id != room_id:
            return None
        if via_cookie:
            check_origin(services, headers, scheme)
        await live_session(services, claims)
    except PeerlaneError:
        return None
    participant = await services.store.get_participant(claims.participant_id)
    if participant is None or participant.room_id != room_id:
        return None
    return participant if participant.name.casefold() == name.casefold() else None


async def live_session(services: Services, claims: credentials.Claims) -> SessionRecord:
    """The live session the token names, renewed if it is due; else AuthError.

    A token from before server-side sessions names none and is refused (join again).
    """
    session = await services.store.get_session(claims.session_id) if claims.session_id else None
    now = services.clock()
    if session is None or session.participant_id != claims.participant_id:
        raise AuthError(ErrorCode.UNAUTHORIZED, "You are no longer signed in; join again.")
    if session.revoked_at is not None:
        raise AuthError(ErrorCode.UNAUTHORIZED, "You signed out of this room; join it again.")
    if session.expires_at <= now:
        raise AuthError(ErrorCode.TOKEN_EXPIRED)
    return await renew_if_due(services, session, now)


async def renew_if_due(services: Services, session: SessionRecord, now: float) -> SessionRecord:
    """Push the idle expiry out while the session is in use (sliding lifetime)."""
    ttl = services.settings.session_ttl
    if session.expires_at - now > ttl * (1 - RENEW_AFTER):
        return session
    expires = now + ttl
    if await services.store.renew_session(session.id, expires_at=expires, now=now):
        return replace(session, expires_at=expires)
    return session
