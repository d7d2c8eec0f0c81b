"""The invite API: an invite as the client sees it (link, short code, QR code, status),
making one, finding the one a join names, and the owner's routes to list, create,
extend and revoke invites."""

from __future__ import annotations

import segno
from fastapi import APIRouter, Request, Response

from peerlane.core import codes, e2e, invite_secrets, invites
from peerlane.core.records import Invite, new_id
from peerlane.errors import ConflictError, ErrorCode, LimitError, NotFoundError, ProtocolError
from peerlane.server import schemas as s
from peerlane.server.api_deps import Owner, Svc, Who, base_url
from peerlane.server.auth import Caller
from peerlane.server.services import Services

router = APIRouter(prefix="/api")
_STATUS = {
    None: "live",
    ErrorCode.INVITE_EXPIRED: "expired",
    ErrorCode.INVITE_REVOKED: "revoked",
    ErrorCode.INVITE_EXHAUSTED: "exhausted",
}


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
        nameplate=invite.nameplate,
        sealed_code=invite.sealed_code if invite.nameplate is not None else None,
        expires_at=invite.expires_at,
        max_uses=invite.max_uses,
        uses=invite.uses,
        status=_STATUS[invites.problem(invite, now)],
        qr_svg=qr_svg(link) if with_qr and link is not None else None,
        qr_url=f"{base}/api/rooms/{invite.room_id}/invites/{invite.id}/qr.svg",
    )


def new_invite(
    svc: Services,
    room_id: str,
    created_by: str,
    ttl: float | None,
    max_uses: int | None,
    *,
    encrypted: bool,
) -> Invite:
    """An encrypted room's invite gets no words from the server: the browser that made
    it draws them and stores them sealed (PATCH ``sealed_code``), so whoever holds the
    server's secret cannot compute them (docs/security.md)."""
    now = svc.clock()
    invite_id = new_id(9)
    key = svc.secret
    words = (
        None if encrypted else invite_secrets.code_words(key, invite_id, svc.settings.code_words)
    )
    return Invite(
        id=invite_id,
        room_id=room_id,
        token_hash=invite_secrets.token_hash(invite_secrets.link_token(key, invite_id)),
        nameplate=None,  # the store allocates the smallest free one
        words_hash=None if words is None else invite_secrets.words_hash(key, invite_id, words),
        created_by=created_by,
        created_at=now,
        expires_at=now + (ttl or svc.settings.invite_ttl),
        max_uses=max_uses if max_uses is not None else svc.settings.invite_max_uses,
    )


class PakeRequired(ConflictError):
    """A code of an end-to-end encrypted room: joined over ``/api/join/ws``, except by a
    member coming back (the join route's return, which needs no words: see api.join)."""

    def __init__(self, invite: Invite) -> None:
        super().__init__(
            ErrorCode.PAKE_REQUIRED,
            "This room is end-to-end encrypted: join by its code over /api/join/ws.",
        )
        self.invite = invite


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
    room = await store.get_room(invite.room_id)
    if room is not None and e2e.is_sealed_name(room.name):
        # The words of an encrypted room's code are checked by a member's client, which
        # hands over the room key (a PAKE); checking them here would let in someone who
        # could not read the room. No guess is spent: the PAKE counts its own.
        raise PakeRequired(invite)
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


# -- routes ----------------------------------------------------------------------------


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
    invite = new_invite(
        svc,
        who.room.id,
        who.participant.id,
        body.ttl,
        body.max_uses,
        encrypted=e2e.is_sealed_name(who.room.name),
    )
    invite = await svc.store.create_invite(invite)
    return invite_out(base_url(request, svc), svc.secret, invite, svc.clock(), with_qr=True)


def sealed_code(room_name: str, invite: Invite, given: str | None) -> str | None:
    """The sealed words a PATCH gives, if it may: only for an encrypted room's invite
    whose words the server does not know (an invite the server made words for keeps
    them), and only once, so a member cannot swap the words of a code already shared."""
    if given is None:
        return None
    if not e2e.is_sealed_name(room_name) or invite.words_hash is not None:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "This invite's code is made by the server.")
    if invite.sealed_code is not None and invite.sealed_code != given:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "This invite's code words are set already.")
    return given


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
        sealed_code=sealed_code(who.room.name, invite, body.sealed_code),
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
