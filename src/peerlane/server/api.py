"""The HTTP API: rooms, sessions, joining and history (invites: invites_api.py; what
routes take from a request: api_deps.py). Thin: rules live in the core."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from peerlane.core import credentials, e2e, invites
from peerlane.core.protocol import MAX_SEQ, KeysRelay
from peerlane.core.records import Participant, Retention, Room, SessionRecord, new_id
from peerlane.core.session import RoomDeleted, RoomEvent, SessionEnded
from peerlane.errors import ErrorCode, GoneError, LimitError, NotFoundError, ProtocolError
from peerlane.server import schemas as s
from peerlane.server.api_deps import Owner, Svc, Who, base_url, client_ip, cookie_secure
from peerlane.server.auth import (
    COOKIE,
    RETURN_PATH,
    cookie_path,
    return_cookie,
    returning_participant,
)
from peerlane.server.invites_api import PakeRequired, find_invite, invite_out, new_invite
from peerlane.server.services import Services

router = APIRouter(prefix="/api")
MAX_PAGE = 200


# -- views -----------------------------------------------------------------------------


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
        key_epoch=room.key_epoch,
        history=room.history,
        moved_at=room.moved_at,
        moved_key_id=room.moved_key_id,
    )


def participant_out(p: Participant, online: bool = False) -> s.ParticipantOut:
    return s.ParticipantOut(
        id=p.id, name=p.name, role=p.role, online=online, identity_key=p.identity_key
    )


async def issue_session(
    svc: Services, room_id: str, participant_id: str
) -> tuple[SessionRecord, str]:
    """A new server-side session and the signed token naming it."""
    now = svc.clock()
    cfg = svc.settings
    session = SessionRecord(
        id=new_id(16),
        participant_id=participant_id,
        room_id=room_id,
        created_at=now,
        expires_at=now + cfg.session_ttl,
    )
    await svc.store.create_session(session)
    token = credentials.issue(
        svc.secret,
        credentials.Claims(
            room_id, participant_id, int(now + cfg.session_max_age), session_id=session.id
        ),
    )
    return session, token


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
    cfg = svc.settings
    session, token = await issue_session(svc, room.id, participant.id)
    if kind == "cookie":
        set_session_cookies(request, response, svc, room.id, token)
    return s.SessionOut(
        room=room_out(base_url(request, svc), room),
        participant=participant_out(participant, online=False),
        mesh_limit=cfg.mesh_limit,
        token=token if kind == "bearer" else None,
        session_expires_at=session.expires_at,
        returned=returned,
    )


def set_session_cookies(
    request: Request, response: Response, svc: Services, room_id: str, token: str
) -> None:
    """The room's session cookie, and its copy under the join route's path."""
    # The cookie lives as long as the token could; the server ends it sooner when it
    # goes unused, is signed out, or its participant is removed. The copy under the join
    # route's path: joining this room again from this browser, under the same name,
    # returns as this participant (auth.returning_participant).
    for name, path in ((COOKIE, cookie_path(room_id)), (return_cookie(room_id), RETURN_PATH)):
        response.set_cookie(
            name,
            token,
            max_age=int(svc.settings.session_max_age),
            path=path,
            httponly=True,
            samesite="strict",
            secure=cookie_secure(request, svc),
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
    invite = new_invite(
        svc,
        room_id,
        owner_id,
        body.invite_ttl,
        body.invite_max_uses,
        encrypted=e2e.is_sealed_name(room.name),
    )
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
    """Change the given retention fields only (``null`` lifts that limit), the name,
    and what new members can read (``history``)."""
    room = who.room
    if body.retention is not None:
        changes = body.retention.model_dump(include=body.retention.model_fields_set)
        room = await svc.store.set_retention(room.id, replace(room.retention, **changes))
    if body.name is not None and body.name != room.name:
        room = await svc.store.rename_room(room.id, body.name or room.name)
    if body.history is not None and body.history != room.history:
        room = await svc.store.set_history(room.id, body.history)
    return room_out(base_url(request, svc), room)


@router.post("/rooms/{room_id}/move")
async def move_room(body: s.MoveRoomIn, request: Request, who: Owner, svc: Svc) -> s.RoomOut:
    """Mark the room moved to an end-to-end encrypted one: read-only from now on. Only the
    new room's key id is given: its link travels between members' browsers, and a member
    takes a link only when its key has this id (docs/security.md, "Moving a room")."""
    room = await svc.store.move_room(who.room.id, svc.clock(), body.key_id)
    return room_out(base_url(request, svc), room)


@router.delete("/rooms/{room_id}", status_code=204)
async def delete_room(who: Owner, svc: Svc) -> Response:
    await svc.store.delete_room(who.room.id)
    await svc.bus.publish(RoomEvent(who.room.id, RoomDeleted()))
    return Response(status_code=204)


@router.post("/rooms/{room_id}/session")
async def session_cookie(request: Request, response: Response, who: Who, svc: Svc) -> s.SessionOut:
    """A bearer session becomes this browser's cookie session: a join by code with a PAKE
    (docs/protocol.md, "Short codes by PAKE") ends with a bearer token on the joiner's
    socket, and the browser's room page runs on the cookie. The same session, no new one."""
    if who.via_cookie:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "Send the bearer token to turn into a cookie.")
    token = request.headers["authorization"].partition(" ")[2].strip()
    set_session_cookies(request, response, svc, who.room.id, token)
    return s.SessionOut(
        room=room_out(base_url(request, svc), who.room),
        participant=participant_out(who.participant, online=False),
        mesh_limit=svc.settings.mesh_limit,
        token=None,
        session_expires_at=who.session.expires_at,
        returned=False,
    )


@router.delete("/rooms/{room_id}/session", status_code=204)
async def leave(request: Request, who: Who, svc: Svc) -> Response:
    """Sign this browser or client out of the room: its session ends on the server, so
    the token stops working everywhere and its open sockets close. A member signing out
    of its last live session leaves for good: it is taken out of the room like a removal
    (its messages stay), and a "keys" frame tells the owner's client to rotate the room
    key (docs/protocol.md, "Key rotation"). The owner stays: the room is theirs."""
    await svc.store.revoke_session(who.session.id, now=svc.clock())
    ended = SessionEnded(participant_id=who.participant.id, session_id=who.session.id)
    await svc.bus.publish(RoomEvent(who.room.id, ended))
    pid = who.participant.id
    for_good = not who.is_owner and not await svc.store.live_sessions(pid, now=svc.clock())
    if for_good and await svc.store.remove_participant(who.room.id, pid) is not None:
        relay = KeysRelay(participant_id=pid, epoch=who.room.key_epoch)
        await svc.bus.publish(RoomEvent(who.room.id, relay))
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

    async def returning(room_id: str) -> Participant | None:
        return await returning_participant(
            svc,
            room_id,
            body.display_name,
            request.headers,
            request.cookies,
            scheme=request.url.scheme,
        )

    try:
        invite = await find_invite(svc, body, ip, now)
    except NotFoundError:
        await limits.failed_joins.take(ip, now)
        raise
    except PakeRequired as exc:
        # An encrypted room's code: a member coming back (already in the room, with the
        # room's key) needs no words checked; anyone else joins through the PAKE.
        if (joined := await returning(exc.invite.room_id)) is None:
            raise
        invite = exc.invite
    else:
        # The same browser (its own live session) under the same name: the same
        # participant, whichever invite or way it comes in by; no use of it is spent.
        joined = await returning(invite.room_id)
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


# -- invites ---------------------------------------------------------------------------
