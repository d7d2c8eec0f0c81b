"""Joining by short code with CPace (docs/protocol.md, "Short codes by PAKE"): the driver
around :class:`peerlane.core.pake_relay.RelayAttempt`.

The joiner holds a pre-join WebSocket, ``/api/join/ws``; members' clients get and answer
the relayed messages on their room WebSockets (:meth:`PakeJoins.member_message`). The
server never sees the code's words: it carries shares and tags, counts one guess per
attempt against the code's limits, and adds the participant only when the member's client
admits the joiner. An attempt lives in the process holding the joiner's socket; the
member answering may be on any instance: members are listed, and messages carried,
through a :class:`peerlane.bus.pake.PakeLink` (in-process, or Redis across instances).
The guesses are counted in the store and the bus's shared limiters, so every instance
counts against the same limits.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from peerlane.bus.pake import MemberRef, PakeLink
from peerlane.core import invites
from peerlane.core import pake_relay as relay
from peerlane.core.records import Invite, Participant, new_id
from peerlane.errors import ErrorCode, PeerlaneError
from peerlane.server import error_replies as replies
from peerlane.server import logs
from peerlane.server.addresses import client_address
from peerlane.server.api import issue_session
from peerlane.server.outages import is_outage
from peerlane.server.pake_members import PakeMembers
from peerlane.server.schemas import DisplayName
from peerlane.server.services import Services
from peerlane.server.ws_handshake import refuse, refuse_open

log = logs.get(__name__)
OPEN_TIMEOUT = 30.0  # seconds the joiner has to send pake.open once connected
# A guess in flight is counted without retiring the code (the words may be right):
# whether it retires the code is settled when the attempt ends without admission.
UNSETTLED = 1 << 30
MAX_BAD_FRAMES = 20  # refused frames a joiner's socket may send before it is closed
_ENDED = frozenset({relay.Stage.ADMITTED, relay.Stage.FAILED})


class PakeOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["pake.open"]
    nameplate: int = Field(ge=0, le=1_000_000)
    display_name: DisplayName


@dataclass(eq=False)
class Attempt:
    relay: relay.RelayAttempt
    invite: Invite
    name: str
    address: str
    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    member: MemberRef | None = None  # the member answering, on whichever instance
    counted: bool = False  # a guess is counted and not (yet) refunded

    @property
    def ended(self) -> bool:
        return self.relay.stage in _ENDED


def _error(svc: Services, code: ErrorCode, message: str | None = None) -> str:
    return replies.websocket_error(svc.metrics, code, message)


class PakeJoins:
    """The attempts whose joiners are connected here, and this instance's members."""

    def __init__(self, services: Services, link: PakeLink | None = None) -> None:
        self.services = services
        self.members = PakeMembers(services, link, self._on_link)
        self.link = self.members.link
        self._attempts: dict[str, Attempt] = {}
        # What a member's room socket calls (server/ws_connection.py).
        self.member_joined = self.members.joined
        self.member_left = self.members.left
        self.member_message = self.members.message

    async def start(self) -> None:
        await self.members.start()

    async def close(self) -> None:
        await self.members.close()

    # -- the members' side (wherever their sockets are) -----------------------------

    async def _on_link(self, message: dict[str, Any]) -> None:
        """A message about the attempts (from this instance or another)."""
        kind, member = message.get("t"), MemberRef.from_json(message["member"])
        if kind == "online":
            await self._member_online(member)
        elif kind == "gone":
            self._member_gone(member)
        elif kind == "from_member":
            await self._from_member(member, message["message"])

    async def _member_online(self, member: MemberRef) -> None:
        for attempt in list(self._attempts.values()):
            waiting = attempt.relay.stage is relay.Stage.WAITING and attempt.member is None
            if waiting and attempt.invite.room_id == member.room_id:
                attempt.member = member
                await self._perform(attempt, attempt.relay.member_online(member.participant_id))

    def _member_gone(self, member: MemberRef) -> None:
        for attempt in list(self._attempts.values()):
            if attempt.member == member and not attempt.ended:
                attempt.relay.stage = relay.Stage.FAILED
                message = "The member answering left before the join finished; try again."
                self._end(attempt, _error(self.services, ErrorCode.UNAVAILABLE, message))

    async def _from_member(self, member: MemberRef, message: dict[str, Any]) -> None:
        attempt = self._attempts.get(str(message.get("attempt")))
        try:
            if attempt is None or attempt.member != member:
                raise relay.RelayRefused("not_your_attempt", "No such attempt is yours.")
            kind, who = message.get("type"), member.participant_id
            if kind == "pake.reply":
                out = attempt.relay.member_reply(who, message.get("share"), message.get("confirm"))
            elif kind == "pake.admit":
                out = attempt.relay.member_admit(who, message.get("handover"))
            elif kind == "pake.reject":
                out = attempt.relay.member_reject(who)
            else:
                raise relay.RelayRefused("bad_message", "Unknown pake message type.")
        except relay.RelayRefused as exc:
            await self.members.send(
                member, _error(self.services, ErrorCode.INVALID_MESSAGE, str(exc))
            )
            return
        await self._perform(attempt, out)

    # -- the joiner's side -----------------------------------------------------------

    async def endpoint(self, ws: WebSocket) -> None:
        """``/api/join/ws``: one attempt per socket."""
        svc = self.services
        try:
            await ws.accept()
        except WebSocketDisconnect:
            return
        address = client_address(ws, svc.settings)
        if await refuse_open(ws, svc, svc.limiters.ip_connects, address):
            return
        try:
            attempt = await self._open(ws, address)
        except PeerlaneError as exc:
            await refuse(ws, _error(svc, exc.code, exc.message), 1000, exc.code.value)
            return
        except (WebSocketDisconnect, TimeoutError):
            await refuse(ws, None, 1000, "no pake.open")
            return
        attempt_id = attempt.relay.attempt_id
        self._attempts[attempt_id] = attempt
        log.info("pake.open", invite=attempt.invite.id, attempt=attempt_id)
        reader = asyncio.create_task(self._read_joiner(ws, attempt))
        try:
            online = await self.link.members(attempt.invite.room_id)
            # A member may have come online meanwhile, or the joiner given up.
            if attempt.member is None and not attempt.ended:
                attempt.member = online[0] if online else None
                who = [m.participant_id for m in online]
                await self._perform(attempt, attempt.relay.opened(who))
            while (text := await self._next(attempt)) is not None:
                await ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        except Exception as exc:  # Redis down: the attempt cannot go on
            if not is_outage(exc):
                raise
            attempt.relay.stage = relay.Stage.FAILED
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await ws.send_text(_error(svc, ErrorCode.UNAVAILABLE, replies.UNAVAILABLE_MESSAGE))
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self._attempts.pop(attempt_id, None)
            if not attempt.ended:  # the joiner went away: the member stops too
                await self._abort(attempt)
            await self._settle(attempt)
            log.info("pake.close", attempt=attempt_id, stage=attempt.relay.stage.value)
        await refuse(ws, None, 1000, attempt.relay.stage.value)

    async def _abort(self, attempt: Attempt) -> None:
        """Tell the member the joiner went away; with Redis down it cannot be told (its
        client's attempt never hears back), and the guess is settled all the same."""
        try:
            await self._perform(attempt, attempt.relay.joiner_abort())
        except Exception as exc:
            if not is_outage(exc):
                raise

    async def _next(self, attempt: Attempt) -> str | None:
        """The next frame for the joiner; meanwhile, every ``check_interval``, whether
        the member answering is still there (its instance may have died silently)."""
        while True:
            try:
                return await asyncio.wait_for(attempt.outbox.get(), self.link.check_interval)
            except TimeoutError:
                member = attempt.member
                if member is not None and not attempt.ended and not await self.link.alive(member):
                    self._member_gone(member)

    async def _open(self, ws: WebSocket, address: str) -> Attempt:
        svc = self.services
        text = await asyncio.wait_for(_receive_text(ws), OPEN_TIMEOUT)
        try:
            opened = PakeOpen.model_validate_json(text)
        except ValidationError:
            raise PeerlaneError(
                ErrorCode.INVALID_MESSAGE, "Send pake.open with nameplate and display_name."
            ) from None
        now, limits = svc.clock(), svc.limiters
        if (wait := await limits.joins.take(address, now)) is not None or (
            wait := await limits.failed_joins.peek(address, now)
        ) is not None:
            raise PeerlaneError(ErrorCode.TOO_MANY_ATTEMPTS, retry_after=wait)
        invite = await svc.store.get_invite_by_nameplate(opened.nameplate)
        if invite is None:
            await limits.failed_joins.take(address, now)
            raise PeerlaneError(ErrorCode.INVITE_NOT_FOUND)
        invites.check(invite, now)
        if await limits.code_guesses.peek(_guess_key(invite, address), now) is not None:
            raise PeerlaneError(
                ErrorCode.TOO_MANY_ATTEMPTS,
                "Too many wrong guesses of this code from your address; use the invite "
                "link, or try again later.",
            )
        sid = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
        attempt = relay.RelayAttempt(sid, invite.id, new_id(9))
        return Attempt(attempt, invite, opened.display_name, address)

    async def _read_joiner(self, ws: WebSocket, attempt: Attempt) -> None:
        svc, bad = self.services, 0
        try:
            while not attempt.ended:
                text = await _receive_text(ws)
                try:
                    out = self._joiner_message(attempt, text)
                except (ValueError, relay.RelayRefused) as exc:
                    bad += 1
                    if bad > MAX_BAD_FRAMES:
                        self._end(attempt, None)
                        return
                    reason = str(exc) if isinstance(exc, relay.RelayRefused) else None
                    attempt.outbox.put_nowait(_error(svc, ErrorCode.INVALID_MESSAGE, reason))
                    continue
                await self._perform(attempt, out)
        except (WebSocketDisconnect, RuntimeError):
            pass
        except Exception as exc:  # Redis down: the share cannot be counted or relayed
            if not is_outage(exc):
                raise
            attempt.relay.stage = relay.Stage.FAILED
            attempt.outbox.put_nowait(
                _error(svc, ErrorCode.UNAVAILABLE, replies.UNAVAILABLE_MESSAGE)
            )
        finally:
            # An admission ends the outbox itself, after its frame: the relay says
            # "admitted" while the store is still writing the joiner's session, and an end
            # put here first closed the socket without the credentials (seen under load).
            if attempt.relay.stage is not relay.Stage.ADMITTED:
                attempt.outbox.put_nowait(None)

    def _joiner_message(self, attempt: Attempt, text: str) -> list[relay.Output]:
        message = json.loads(text)
        if not isinstance(message, dict):
            raise relay.RelayRefused("bad_message", "Send one JSON object.")
        if message.get("attempt") != attempt.relay.attempt_id:
            raise relay.RelayRefused("bad_message", "That is not this attempt.")
        kind = message.get("type")
        if kind == "pake.share":
            return attempt.relay.joiner_share(message.get("share"))
        if kind == "pake.confirm":
            return attempt.relay.joiner_confirm(message.get("confirm"))
        if kind == "pake.abort":
            out = attempt.relay.joiner_abort()
            self._end(attempt, None)
            return out
        raise relay.RelayRefused("bad_message", "Unknown pake message type.")

    # -- carrying out what the relay decided -----------------------------------------

    def _end(self, attempt: Attempt, last: str | None) -> None:
        if last is not None:
            attempt.outbox.put_nowait(last)
        attempt.outbox.put_nowait(None)

    async def _perform(self, attempt: Attempt, outputs: list[relay.Output]) -> None:
        svc = self.services
        for out in outputs:
            if isinstance(out, relay.ToJoiner):
                attempt.outbox.put_nowait(json.dumps(out.message))
                if out.message["type"] == "pake.failed":
                    self._end(attempt, None)
            elif isinstance(out, relay.ToMember):
                if attempt.member is not None:
                    text = json.dumps(out.message)
                    await self.members.send(attempt.member, text, attempt.relay.attempt_id)
            elif isinstance(out, relay.CountGuess):
                if not await self._count_guess(attempt):
                    return  # not relayed: the address is out of guesses
            elif isinstance(out, relay.RefundGuess):
                await svc.store.refund_code_failure(attempt.invite.id)
                attempt.counted = False
            else:
                await self._admit(attempt, out.handover)

    async def _count_guess(self, attempt: Attempt) -> bool:
        """One guess against the code, as a wrong guess by ``POST /api/join`` counts:
        per (code, address), and towards retiring the code only within that budget."""
        svc = self.services
        key = _guess_key(attempt.invite, attempt.address)
        if (wait := await svc.limiters.code_guesses.take(key, svc.clock())) is not None:
            attempt.relay.stage = relay.Stage.FAILED
            error = PeerlaneError(ErrorCode.TOO_MANY_ATTEMPTS, retry_after=wait)
            self._end(attempt, _error(svc, error.code, error.message))
            return False
        await svc.store.record_code_failure(attempt.invite.id, max_failures=UNSETTLED)
        attempt.counted = True
        return True

    async def _settle(self, attempt: Attempt) -> None:
        """The attempt ended without admission: its counted guess was a failure, and
        may retire the code (counted again with the real limit, once)."""
        if not attempt.counted:
            return
        store, invite_id = self.services.store, attempt.invite.id
        await store.refund_code_failure(invite_id)
        await store.record_code_failure(
            invite_id, max_failures=self.services.settings.code_max_total_failures
        )
        attempt.counted = False

    async def _admit(self, attempt: Attempt, handover: str) -> None:
        svc, invite = self.services, attempt.invite
        joiner = Participant(
            attempt.relay.joiner_id, invite.room_id, attempt.name, "member", svc.clock()
        )
        try:
            await svc.store.redeem_invite(
                invite.id, joiner, now=svc.clock(), max_participants=svc.settings.max_participants
            )
            session, token = await issue_session(svc, invite.room_id, joiner.id)
        except PeerlaneError as exc:
            self._end(attempt, _error(svc, exc.code, exc.message))
            return
        except Exception:  # the joiner's socket must still end (it waits for this frame)
            self._end(attempt, _error(svc, ErrorCode.UNAVAILABLE, replies.UNAVAILABLE_MESSAGE))
            raise
        admitted = {
            "type": "pake.admitted",
            "attempt": attempt.relay.attempt_id,
            "handover": handover,
            "room_id": invite.room_id,
            "participant_id": joiner.id,
            "token": token,
            "session_expires_at": session.expires_at,
        }
        log.info("pake.admitted", invite=invite.id, participant=joiner.id)
        self._end(attempt, json.dumps(admitted))


async def _receive_text(ws: WebSocket) -> str:
    """The next frame as text (a binary frame is not JSON: ``ValueError`` later)."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    return text if text is not None else "\x00"  # a binary frame: refused as bad JSON


def _guess_key(invite: Invite, address: str) -> str:
    return f"{invite.id}|{address}"  # as invites_api.find_invite counts a guess
