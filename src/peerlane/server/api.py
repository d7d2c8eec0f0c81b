"""The HTTP API: rooms, joining, invites and history. Thin: rules live in the core."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Query, Request, Response

from peerlane.core import codes, credentials, invites
from peerlane.core.protocol import MAX_SEQ
from peerlane.core.records import Invite, Participant, Retention, Room, new_id
from peerlane.core.session import RoomDeleted, RoomEvent
from peerlane.errors import ErrorCode, ForbiddenError, LimitError, NotFoundError, ProtocolError
from peerlane.server import schemas as s
from peerlane.server.auth import COOKIE, Caller, authenticate, cookie_path
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
    if svc.settings.trust_proxy and (forwarded := request.headers.get("x-forwarded-for")):
        return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


def base_url(request: Request, svc: Services) -> str:
    return (svc.settings.public_url or str(request.base_url)).rstrip("/")


# -- views -----------------------------------------------------------------------------


def invite_link(base: str, invite: Invite) -> str:
    """The secret rides in the fragment, which browsers never send to a server: it
    stays out of access logs and Referer headers everywhere."""
    return f"{base}/join#{invite.token}"


def qr_svg(link: str) -> str:
    return str(segno.make(link, error="m").svg_inline(scale=4, border=2))


def invite_out(base: str, invite: Invite, now: float, *, with_qr: bool = False) -> s.InviteOut:
    link = invite_link(base, invite)
    return s.InviteOut(
        id=invite.id,
        link=link,
        code=invite.code,
        expires_at=invite.expires_at,
        max_uses=invite.max_uses,
        uses=invite.uses,
        status=_STATUS[invites.problem(invite, now)],
        qr_svg=qr_svg(link) if with_qr else None,
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


def start_session(
    request: Request,
    response: Response,
    svc: Services,
    room: Room,
    participant: Participant,
    kind: s.SessionKind,
) -> s.SessionOut:
    """Issue a signed token: as an HTTP-only cookie for browsers, in the body otherwise."""
    expires = svc.clock() + svc.settings.session_ttl
    token = credentials.issue(svc.secret, credentials.Claims(room.id, participant.id, int(expires)))
    if kind == "cookie":
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(svc.settings.session_ttl),
            path=cookie_path(room.id),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return s.SessionOut(
        room=room_out(base_url(request, svc), room),
        participant=participant_out(participant, online=False),
        mesh_limit=svc.settings.mesh_limit,
        token=token if kind == "bearer" else None,
        session_expires_at=float(int(expires)),
    )


def new_invite(
    svc: Services, room_id: str, created_by: str, ttl: float | None, max_uses: int | None
) -> Invite:
    now = svc.clock()
    return Invite(
        id=new_id(9),
        room_id=room_id,
        token=new_id(24),
        nameplate=None,  # the store allocates the smallest free one
        words=codes.random_words(),
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
    out = start_session(request, response, svc, room, creator, body.session)
    out.invite = invite_out(base_url(request, svc), invite, now, with_qr=True)
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
async def leave(who: Who) -> Response:
    """Sign this browser out of the room (the participant stays in the history)."""
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path=cookie_path(who.room.id))
    return response


@router.get("/rooms/{room_id}/participants")
async def participants(who: Who, svc: Svc) -> s.ParticipantsOut:
    online = {peer.participant_id for peer in await svc.bus.peers(who.room.id)}
    everyone = await svc.store.list_participants(who.room.id)
    return s.ParticipantsOut(participants=[participant_out(p, p.id in online) for p in everyone])


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
        invite = await find_invite(svc, body)
    except NotFoundError:
        await limits.failed_joins.take(ip, now)
        raise
    joining = Participant(new_id(9), invite.room_id, body.display_name, "member", now)
    joined = await svc.store.redeem_invite(
        invite.id, joining, now=now, max_participants=svc.settings.max_participants
    )
    room = await svc.store.get_room(invite.room_id)
    if room is None:
        raise NotFoundError(ErrorCode.ROOM_NOT_FOUND)
    return start_session(request, response, svc, room, joined, body.session)


async def find_invite(svc: Services, body: s.JoinIn) -> Invite:
    """The invite a link token or short code names; a wrong code counts against it."""
    store = svc.store
    if body.token is not None:
        invite = await store.get_invite_by_token(body.token)
        if invite is None:
            raise NotFoundError(ErrorCode.INVITE_NOT_FOUND)
        return invite
    code = codes.parse(body.code or "")
    invite = None if code is None else await store.get_invite_by_nameplate(code.nameplate)
    if code is None or invite is None:
        raise NotFoundError(ErrorCode.INVITE_NOT_FOUND)
    if not codes.words_match(invite.words, code.words):
        await store.record_code_failure(invite.id, max_failures=svc.settings.code_max_failures)
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
    return s.InvitesOut(invites=[invite_out(base, inv, now) for inv in found])


@router.post("/rooms/{room_id}/invites", status_code=201)
async def create_invite(
    body: s.CreateInviteIn, request: Request, who: Owner, svc: Svc
) -> s.InviteOut:
    invite = new_invite(svc, who.room.id, who.participant.id, body.ttl, body.max_uses)
    invite = await svc.store.create_invite(invite)
    return invite_out(base_url(request, svc), invite, svc.clock(), with_qr=True)


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
    return invite_out(base_url(request, svc), invite, now, with_qr=True)


@router.delete("/rooms/{room_id}/invites/{invite_id}")
async def revoke_invite(invite_id: str, request: Request, who: Owner, svc: Svc) -> s.InviteOut:
    invite = await room_invite(svc, who, invite_id)
    now = svc.clock()
    if invite.revoked_at is None:
        invite = await svc.store.update_invite(invite.id, revoked_at=now)
    return invite_out(base_url(request, svc), invite, now)


@router.get("/rooms/{room_id}/invites/{invite_id}/qr.svg")
async def invite_qr(invite_id: str, request: Request, who: Who, svc: Svc) -> Response:
    invite = await room_invite(svc, who, invite_id)
    if not who.is_owner and not invites.is_live(invite, svc.clock()):
        raise NotFoundError(ErrorCode.INVITE_NOT_FOUND)
    svg = qr_svg(invite_link(base_url(request, svc), invite))
    return Response(svg, media_type="image/svg+xml", headers={"cache-control": "no-store"})
