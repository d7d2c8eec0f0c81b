"""The HTTP API: rooms, joining, invites and history. Thin: rules live in the core."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Query, Request, Response

from peerlane.core import codes, credentials, invite_secrets, invites
from peerlane.core.protocol import MAX_SEQ
from peerlane.core.records import Invite, Participant, Retention, Room, SessionRecord, new_id
from peerlane.core.session import RoomDeleted, RoomEvent, SessionEnded
from peerlane.errors import (
    ErrorCode,
    ForbiddenError,
    GoneError,
    LimitError,
    NotFoundError,
    ProtocolError,
)
from peerlane.server import schemas as s
from peerlane.server.addresses import client_address
from peerlane.server.auth import (
    COOKIE,
    RETURN_PATH,
    Caller,
    authenticate,
    cookie_path,
    return_cookie,
    returning_participant,
)
from peerlane.server.services import Services

router = APIRouter(prefix="/api")
MAX_PAGE = 200
_STATUS = {
    None: "live",
    ErrorCode.INVITE_EXPIRED: "expired",
    ErrorCode.INVITE_REVOKED: "revoked",
    ErrorCode.INVITE_EXHAUSTED: "exhausted",
}


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]


async def caller(request: Request, room_id: str, svc: Svc) -> Caller:
    return await authenticate(
        svc,
        room_id,
        request.headers,
        request.cookies,
        scheme=request.url.scheme,
        needs_origin=request.method not in ("GET", "HEAD", "OPTIONS"),
    )


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


# -- views -----------------------------------------------------------------------------


def invite_link(base: str, key: bytes, invite: Invite) -> str | None:
    """The secret rides in the fragment, which browsers never send to a server: it
    stays out of access logs and Referer headers everywhere. The database keeps only
    its hash; the server derives it again (None for an invite it cannot: an old one)."""
    token = invite_secrets.shown_link_token(key, invite.id, invite.token_hash)
    return None if token is None else f"{base}/join#{token}"


def invite_code(key: bytes, invite: Invite) -> str | None:
    if invite.nameplate is None:
        return None
    words = invite_secrets.shown_words(key, invite.id, invite.words_hash)
    return None if words is None else f"{invite.nameplate}-{words}"


def qr_svg(link: str) -> str:
    return str(segno.make(link, error="m").svg_inline(scale=4, border=2))


def invite_out(
    base: str, key: bytes, invite: Invite, now: float, *, with_qr: bool = False
) -> s.InviteOut:
    link = invite_link(base, key, invite)
    return s.InviteOut(
        id=invite.id,
        link=link,
        code=invite_code(key, invite),
        expires_at=invite.expires_at,
        max_uses=invite.max_uses,
        uses=invite.uses,
        status=_STATUS[invites.problem(invite, now)],
        qr_svg=qr_svg(link) if with_qr and link is not None else None,
        qr_url=f"{base}/api/rooms/{invite.room_id}/invites/{invite.id}/qr.svg",
    )


def room_out(base: str, room: Room) -> s.RoomOut:
    r = room.retention
    return s.RoomOut(
        id=room.id,
        name=room.name,
        created_at=room.created_at,
        latest_seq=room.last_seq,
        retention=s.RetentionIn(
            max_age=r.max_age, max_messages=r.max_messages, idle_expiry=r.idle_expiry
        ),
        url=f"{base}/r/{room.id}",
    )


def participant_out(p: Participant, online: bool = False) -> s.ParticipantOut:
    return s.ParticipantOut(id=p.id, name=p.name, role=p.role, online=online)


def cookie_secure(request: Request, svc: Services) -> bool:
    """Secure when this request came over HTTPS, and always when the server is public
    over HTTPS: behind a TLS proxy the request itself may look like plain HTTP."""
    return request.url.scheme == "https" or svc.settings.https_public


async def start_session(
    request: Request,
    response: Response,
    svc: Services,
    room: Room,
    participant: Participant,
    kind: s.SessionKind,
    *,
    returned: bool = False,
) -> s.SessionOut:
    """Open a server-side session and issue a signed token naming it: as an HTTP-only
    cookie for browsers, in the body otherwise. The session lasts ``session_ttl`` unused
    (each use renews it) and ``session_max_age`` at most (the token's own expiry)."""
    now = svc.clock()
    cfg = svc.settings
    session = SessionRecord(
        id=new_id(16),
        participant_id=participant.id,
        room_id=room.id,
        created_at=now,
        expires_at=now + cfg.session_ttl,
    )
    await svc.store.create_session(session)
    token = credentials.issue(
        svc.secret,
        credentials.Claims(
            room.id, participant.id, int(now + cfg.session_max_age), session_id=session.id
        ),
    )
    if kind == "cookie":
        # The cookie lives as long as the token could; the server ends it sooner when
        # it goes unused, is signed out, or its participant is removed.
        # The same token under the join route's path: joining this room again from this
        # browser, under the same name, returns as this participant (auth.returning_participant).
        for name, path in ((COOKIE, cookie_path(room.id)), (return_cookie(room.id), RETURN_PATH)):
            response.set_cookie(
                name,
                token,
                max_age=int(cfg.session_max_age),
                path=path,
                httponly=True,
                samesite="strict",
                secure=cookie_secure(request, svc),
            )
    return s.SessionOut(
        room=room_out(base_url(request, svc), room),
        participant=participant_out(participant, online=False),
        mesh_limit=cfg.mesh_limit,
        token=token if kind == "bearer" else None,
        session_expires_at=session.expires_at,
        returned=returned,
    )


def new_invite(
    svc: Services, room_id: str, created_by: str, ttl: float | None, max_uses: int | None
) -> Invite:
    now = svc.clock()
    invite_id = new_id(9)
    key = svc.secret
    words = invite_secrets.code_words(key, invite_id, svc.settings.code_words)
    return Invite(
        id=invite_id,
        room_id=room_id,
        token_hash=invite_secrets.token_hash(invite_secrets.link_token(key, invite_id)),
        nameplate=None,  # the store allocates the smallest free one
        words_hash=invite_secrets.words_hash(key, invite_id, words),
        created_by=created_by,
        created_at=now,
        expires_at=now + (ttl or svc.settings.invite_ttl),
        max_uses=max_uses if max_uses is not None else svc.settings.invite_max_uses,
    )


# -- rooms -----------------------------------------------------------------------------


@router.post("/rooms", status_code=201)
async def create_room(
    body: s.CreateRoomIn, request: Request, response: Response, svc: Svc
) -> s.SessionOut:
    now = svc.clock()
    if (wait := await svc.limiters.rooms.take(client_ip(request, svc), now)) is not None:
        raise LimitError(ErrorCode.TOO_MANY_ROOMS, retry_after=wait)
    cfg = svc.settings
    room_id, owner_id = new_id(9), new_id(9)
    room = Room(
        id=room_id,
        name=body.name or f"{body.display_name}'s room",
        owner_id=owner_id,
        created_at=now,
        last_active_at=now,
        last_seq=0,
        retention=Retention(
            cfg.retention_max_age, cfg.retention_max_messages, cfg.room_idle_expiry
        ),
    )
    creator = Participant(owner_id, room_id, body.display_name, "owner", now)
    invite = new_invite(svc, room_id, owner_id, body.invite_ttl, body.invite_max_uses)
    invite = await svc.store.create_room(room, creator, invite)
    out = await start_session(request, response, svc, room, creator, body.session)
    out.invite = invite_out(base_url(request, svc), svc.secret, invite, now, with_qr=True)
    return out


@router.get("/rooms/{room_id}")
async def get_room(request: Request, who: Who, svc: Svc) -> dict[str, object]:
    base = base_url(request, svc)
    return {
        "room": room_out(base, who.room).model_dump(),
        "participant": participant_out(who.participant).model_dump(),
        "mesh_limit": svc.settings.mesh_limit,
    }


@router.patch("/rooms/{room_id}")
async def update_room(body: s.UpdateRoomIn, request: Request, who: Owner, svc: Svc) -> s.RoomOut:
    """Change the given retention fields only; ``null`` lifts that limit."""
    room = who.room
    if body.retention is not None:
        changes = body.retention.model_dump(include=body.retention.model_fields_set)
        room = await svc.store.set_retention(room.id, replace(room.retention, **changes))
    if body.name is not None and body.name != room.name:
        room = await svc.store.rename_room(room.id, body.name or room.name)
    return room_out(base_url(request, svc), room)


@router.delete("/rooms/{room_id}", status_code=204)
async def delete_room(who: Owner, svc: Svc) -> Response:
    await svc.store.delete_room(who.room.id)
    await svc.bus.publish(RoomEvent(who.room.id, RoomDeleted()))
    return Response(status_code=204)


@router.delete("/rooms/{room_id}/session", status_code=204)
async def leave(request: Request, who: Who, svc: Svc) -> Response:
    """Sign this browser or client out of the room: its session ends on the server, so
    the token stops working everywhere and its open sockets close (the participant
    stays in the room and its history)."""
    await svc.store.revoke_session(who.session.id, now=svc.clock())
    ended = SessionEnded(participant_id=who.participant.id, session_id=who.session.id)
    await svc.bus.publish(RoomEvent(who.room.id, ended))
    response = Response(status_code=204)
    for name, path in (
        (COOKIE, cookie_path(who.room.id)),
        (return_cookie(who.room.id), RETURN_PATH),
    ):
        response.delete_cookie(
            name,
            path=path,
            httponly=True,
            samesite="strict",
            secure=cookie_secure(request, svc),
        )
    return response


@router.get("/rooms/{room_id}/participants")
async def participants(who: Who, svc: Svc) -> s.ParticipantsOut:
    online = {peer.participant_id for peer in await svc.bus.peers(who.room.id)}
    everyone = await svc.store.list_participants(who.room.id)
    return s.ParticipantsOut(participants=[participant_out(p, p.id in online) for p in everyone])


@router.delete("/rooms/{room_id}/participants/{participant_id}", status_code=204)
async def remove_participant(participant_id: str, who: Owner, svc: Svc) -> Response:
    """The owner removes someone: their sessions end, their tokens stop working on every
    instance, and their open sockets close with 4403. Their messages stay."""
    if participant_id == who.participant.id:
        raise ProtocolError(
            ErrorCode.BAD_REQUEST, "You cannot remove yourself; delete the room instead."
        )
    if await svc.store.remove_participant(who.room.id, participant_id) is None:
        raise NotFoundError(ErrorCode.NOT_FOUND, "No such participant in this room.")
    await svc.bus.publish(RoomEvent(who.room.id, SessionEnded(participant_id=participant_id)))
    return Response(status_code=204)


@router.get("/rooms/{room_id}/messages")
async def messages(
    who: Who,
    svc: Svc,
    # Cursors are seqs: bounded like the protocol's, so a huge number is a 422, never a
    # value the database cannot hold.
    before: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> s.MessagesOut:
    """History pages: ``after`` walks forward, ``before`` (or neither: the latest) back."""
    store = svc.store
    if after is not None and before is not None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "Give before or after, not both.")
    if after is not None:
        rows = await store.messages_after(who.room.id, after, limit + 1)
        has_more = len(rows) > limit
        rows = rows[:limit]
    else:
        newest = 2**62 if before is None else before  # before=0 is a cursor, not "none"
        rows = await store.messages_before(who.room.id, newest, limit + 1)
        has_more = len(rows) > limit
        rows = rows[-limit:]
    return s.MessagesOut(
        messages=[row.to_wire().model_dump(mode="json") for row in rows], has_more=has_more
    )


# -- joining ---------------------------------------------------------------------------


@router.post("/join")
async def join(body: s.JoinIn, request: Request, response: Response, svc: Svc) -> s.SessionOut:
    now = svc.clock()
    ip = client_ip(request, svc)
    limits = svc.limiters
    if (wait := await limits.joins.take(ip, now)) is not None or (
        wait := await limits.failed_joins.peek(ip, now)
    ) is not None:
        raise LimitError(ErrorCode.TOO_MANY_ATTEMPTS, retry_after=wait)
    try:
        invite = await find_invite(svc, body, ip, now)
    except NotFoundError:
        await limits.failed_joins.take(ip, now)
        raise
    # The same browser (its own live session) under the same name: the same participant,
    # whichever invite or way it comes in by; no use of the invite is spent on it.
    joined = await returning_participant(
        svc,
        invite.room_id,
        body.display_name,
        request.headers,
        request.cookies,
        scheme=request.url.scheme,
    )
    returned = joined is not None
    # A return spends no use, so a used-up invite still takes its members back; a revoked
    # or expired one takes nobody, or a kept link would outlive the owner's revocation and,
    # with a fresh session each time, session_max_age too.
    gone = invites.problem(invite, now) if returned else None
    if gone is not None and gone is not ErrorCode.INVITE_EXHAUSTED:
        raise GoneError(gone)
    if joined is None:
        joining = Participant(new_id(9), invite.room_id, body.display_name, "member", now)
        joined = await svc.store.redeem_invite(
            invite.id, joining, now=now, max_participants=svc.settings.max_participants
        )
    room = await svc.store.get_room(invite.room_id)
    if room is None:
        raise NotFoundError(ErrorCode.ROOM_NOT_FOUND)
    return await start_session(
        request, response, svc, room, joined, body.session, returned=returned
    )


async def find_invite(svc: Services, body: s.JoinIn, ip: str, now: float) -> Invite:
    """The invite a link token or short code names.

    A wrong guess of a code's words counts twice: against this (code, address) pair,
    which then may not try the code for a while (``code_max_failures`` a day), and
    against the code itself, which is retired only after ``code_max_total_failures``
    from everyone: one address alone can no longer retire other people's codes.
    """
    store = svc.store
    if body.token is not None:
        invite = await store.get_invite_by_token_hash(invite_secrets.token_hash(body.token))
        if invite is None:
            raise NotFoundError(ErrorCode.INVITE_NOT_FOUND)
        return invite
    code = codes.parse(body.code or "")
    invite = None if code is None else await store.get_invite_by_nameplate(code.nameplate)
    if code is None or invite is None:
        raise NotFoundError(ErrorCode.INVITE_NOT_FOUND)
    guesses = svc.limiters.code_guesses
    key = f"{invite.id}|{ip}"  # ip is already the limit key (an IPv6 client's network)
    if (wait := await guesses.peek(key, now)) is not None:
        raise LimitError(
            ErrorCode.TOO_MANY_ATTEMPTS,
            "Too many wrong guesses of this code from your address; use the invite link, "
            "or try again later.",
            retry_after=wait,
        )
    if not invite_secrets.words_match(svc.secret, invite.id, invite.words_hash, code.words):
        # Only a wrong guess within this address's budget counts towards retiring the
        # code: guesses sent together all pass the look above (with Redis it is a round
        # trip), and one address must not retire a code for everyone that way.
        if await guesses.take(key, now) is None:
            await store.record_code_failure(
                invite.id, max_failures=svc.settings.code_max_total_failures
            )
        raise NotFoundError(ErrorCode.INVITE_NOT_FOUND)
    return invite


# -- invites ---------------------------------------------------------------------------


async def room_invite(svc: Services, who: Caller, invite_id: str) -> Invite:
    invite = await svc.store.get_invite(invite_id)
    if invite is None or invite.room_id != who.room.id:
        raise NotFoundError(ErrorCode.INVITE_NOT_FOUND)
    return invite


@router.get("/rooms/{room_id}/invites")
async def list_invites(request: Request, who: Who, svc: Svc) -> s.InvitesOut:
    """The owner sees every invite; members see the live ones, to pass them on."""
    now = svc.clock()
    base = base_url(request, svc)
    found = await svc.store.list_invites(who.room.id)
    if not who.is_owner:
        found = [inv for inv in found if invites.is_live(inv, now)]
    return s.InvitesOut(invites=[invite_out(base, svc.secret, inv, now) for inv in found])


@router.post("/rooms/{room_id}/invites", status_code=201)
async def create_invite(
    body: s.CreateInviteIn, request: Request, who: Owner, svc: Svc
) -> s.InviteOut:
    invite = new_invite(svc, who.room.id, who.participant.id, body.ttl, body.max_uses)
    invite = await svc.store.create_invite(invite)
    return invite_out(base_url(request, svc), svc.secret, invite, svc.clock(), with_qr=True)


@router.patch("/rooms/{room_id}/invites/{invite_id}")
async def update_invite(
    invite_id: str, body: s.UpdateInviteIn, request: Request, who: Owner, svc: Svc
) -> s.InviteOut:
    invite = await room_invite(svc, who, invite_id)
    now = svc.clock()
    invite = await svc.store.update_invite(
        invite.id,
        expires_at=now + body.ttl if body.ttl is not None else None,
        max_uses=body.max_uses,
        clear_max_uses=body.unlimited_uses,
    )
    return invite_out(base_url(request, svc), svc.secret, invite, now, with_qr=True)


@router.delete("/rooms/{room_id}/invites/{invite_id}")
async def revoke_invite(invite_id: str, request: Request, who: Owner, svc: Svc) -> s.InviteOut:
    invite = await room_invite(svc, who, invite_id)
    now = svc.clock()
    if invite.revoked_at is None:
        invite = await svc.store.update_invite(invite.id, revoked_at=now)
    return invite_out(base_url(request, svc), svc.secret, invite, now)


@router.get("/rooms/{room_id}/invites/{invite_id}/qr.svg")
async def invite_qr(invite_id: str, request: Request, who: Who, svc: Svc) -> Response:
    invite = await room_invite(svc, who, invite_id)
    if not who.is_owner and not invites.is_live(invite, svc.clock()):
        raise NotFoundError(ErrorCode.INVITE_NOT_FOUND)
    link = invite_link(base_url(request, svc), svc.secret, invite)
    if link is None:
        raise NotFoundError(ErrorCode.NOT_FOUND, "This older invite's link cannot be shown.")
    svg = qr_svg(link)
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "no-store"})
