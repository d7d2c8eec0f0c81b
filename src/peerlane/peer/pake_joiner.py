"""Joining an end-to-end encrypted room by short code: the terminal as the PAKE joiner
(docs/protocol.md, "Short codes by PAKE").

Over the pre-join socket ``/api/join/ws`` the code's nameplate names the invite; the
words never leave this process. They are CPace's password against a member's client
(core/pake.py), which admits this client and hands over the room key sealed under the
PAKE's hand-over key; the server adds the participant and answers with a bearer token.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from peerlane.core import codes, e2e, pake
from peerlane.core.pake_handover import open_handover
from peerlane.peer import EXIT_FAILED, EXIT_REFUSED, EXIT_UNREACHABLE, PeerError
from peerlane.peer.http_api import Membership

Notice = Callable[[str], None]

_REFUSALS = {
    "code_mismatch": "That code is not right; check it with the person who gave it to you.",
    "invite_not_found": "No invite matches that code; check it, or ask for the invite link.",
    "too_many_attempts": "Too many tries of this code from your address; "
    "use the invite link, or try again later.",
    "invite_expired": "This invite has expired; ask for a new one.",
    "invite_revoked": "This invite was revoked; ask for a new one.",
    "invite_exhausted": "This invite has been used up; ask for a new one.",
}
WAITING = "Waiting for a member of the room to come online to let you in (Ctrl-C gives up)…"
AGAIN = "The member letting you in went away before it finished; trying again…"
# A member gone mid-attempt ends it; each new attempt costs one of this address's guesses
# of the code (docs/protocol.md), so only a few are made before giving up.
ATTEMPTS = 3


class _MemberGone(Exception):
    """The server ended the attempt because the member answering it left."""


def join_ws_url(server: str) -> str:
    scheme = "wss" if server.startswith("https:") else "ws"
    return f"{scheme}{server[server.index(':') :]}/api/join/ws"


def _refused(error: Any) -> PeerError:
    code = str(error.get("code")) if isinstance(error, dict) else ""
    if code in _REFUSALS:
        return PeerError(_REFUSALS[code], EXIT_REFUSED)
    if code == "unavailable":
        return PeerError(
            "The members letting you in kept going away; run the command again.", EXIT_FAILED
        )
    message = error.get("message") if isinstance(error, dict) else None
    return PeerError(str(message or "The server refused to join by code."), EXIT_FAILED)


async def join_by_code(
    server: str, code: str, display_name: str, notice: Notice
) -> tuple[Membership, e2e.RoomKey]:
    """The session and room key a member's client hands over for the right code."""
    parsed = codes.parse(code)
    if parsed is None:  # cli_config.invite_or_fail parsed it already
        raise PeerError(f"{code!r} is not a short code.", EXIT_FAILED)
    for _ in range(ATTEMPTS - 1):
        try:
            return await _attempt(server, parsed, display_name, notice)
        except _MemberGone:
            notice(AGAIN)
    try:
        return await _attempt(server, parsed, display_name, notice)
    except _MemberGone:
        raise _refused({"code": "unavailable"}) from None


async def _attempt(
    server: str, parsed: codes.ShortCode, display_name: str, notice: Notice
) -> tuple[Membership, e2e.RoomKey]:
    try:
        async with connect(join_ws_url(server), open_timeout=15, max_size=2**20) as ws:
            opening = {"nameplate": parsed.nameplate, "display_name": display_name}
            await _send(ws, "pake.open", **opening)
            return await _run(ws, server, parsed.words, display_name, notice)
    except (KeyError, TypeError, ValueError, e2e.E2EError) as exc:
        raise PeerError(
            f"The server at {server} answered the join by code with something this version "
            "does not understand; update peerlane, or use the invite link.",
            EXIT_FAILED,
        ) from exc
    except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
        raise PeerError(
            f"The server at {server} cannot be reached to join by code; check the address "
            "and your network, or try again later.",
            EXIT_UNREACHABLE,
        ) from exc


async def _send(ws: ClientConnection, kind: str, **fields: Any) -> None:
    await ws.send(json.dumps({"type": kind, **fields}))


async def _run(
    ws: ClientConnection, server: str, words: str, name: str, notice: Notice
) -> tuple[Membership, e2e.RoomKey]:
    joiner: pake.JoinerPake | None = None
    handover_key: bytes | None = None
    async for raw in ws:
        message = json.loads(raw)
        kind = message.get("type")
        attempt = message.get("attempt")
        if kind == "pake.waiting":
            notice(WAITING)
        elif kind == "pake.start":
            joiner = pake.JoinerPake.start(
                words,
                invite_id=message["invite"],
                joiner_id=message["joiner"],
                member_id=message["member"],
                sid=e2e.b64u_decode(attempt),
            )
            await _send(ws, "pake.share", attempt=attempt, share=e2e.b64u_encode(joiner.share))
        elif kind == "pake.reply" and joiner is not None:
            try:
                confirm, keys = joiner.finish(
                    e2e.b64u_decode(message["share"]), e2e.b64u_decode(message["confirm"])
                )
            except (pake.PakeFailed, e2e.E2EError):
                await _send(ws, "pake.abort", attempt=attempt)
                raise PeerError(_REFUSALS["code_mismatch"], EXIT_REFUSED) from None
            handover_key = keys.handover_key
            await _send(ws, "pake.confirm", attempt=attempt, confirm=e2e.b64u_encode(confirm))
        elif kind == "pake.admitted" and handover_key is not None:
            return _admitted(server, name, message, handover_key)
        elif kind in ("pake.failed", "error"):
            error = message.get("error")
            if isinstance(error, dict) and error.get("code") == "unavailable":
                raise _MemberGone
            raise _refused(error)
    raise PeerError("The server ended the join by code; try again.", EXIT_FAILED)


def _admitted(
    server: str, name: str, message: dict[str, Any], handover_key: bytes
) -> tuple[Membership, e2e.RoomKey]:
    try:
        key = open_handover(
            handover_key,
            message.get("handover"),
            room_id=str(message.get("room_id")),
            joiner_id=str(message.get("participant_id")),
        )
    except e2e.E2EError as exc:
        # The words matched, yet the key did not open: a member's client (or the server)
        # sent something else. Never join without the key (that would send clear text).
        raise PeerError(
            "The room's key could not be opened after the code matched; ask for the invite "
            f"link instead ({exc.code}).",
            EXIT_FAILED,
        ) from exc
    member = Membership(
        server=server,
        room_id=str(message["room_id"]),
        room_name="",  # the welcome brings the (sealed) name
        participant_id=str(message["participant_id"]),
        name=name,
        token=str(message["token"]),
        body=message,
    )
    return member, key
