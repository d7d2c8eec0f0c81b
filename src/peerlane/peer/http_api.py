"""The server's HTTP API as the CLI uses it (stdlib urllib, run in a worker thread)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from peerlane.core.join_input import JoinInput
from peerlane.peer import EXIT_FAILED, EXIT_REFUSED, EXIT_UNREACHABLE, PeerError

TIMEOUT = 15.0
# Refusals of a join: the exit code says "refused"; the server's sentences already say
# what to do next, except for a full room.
_REFUSED = {
    "invite_not_found": "",
    "invite_expired": "",
    "invite_revoked": "",
    "invite_exhausted": "",
    "too_many_attempts": "",
    "room_full": "Ask the room's owner to make room.",
}


@dataclass(frozen=True, slots=True)
class Membership:
    """A participant's session in a room (the join or create answer)."""

    server: str
    room_id: str
    room_name: str
    participant_id: str
    name: str
    token: str
    body: dict[str, Any]

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.server.startswith("https:") else "ws"
        return f"{scheme}{self.server[self.server.index(':') :]}/api/rooms/{self.room_id}/ws"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _request(
    server: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    if not server.startswith(("http://", "https://")):  # cli_config.check_server made it so
        raise PeerError(f"{server!r} is not an http(s) server address.", EXIT_FAILED)
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        server + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(  # noqa: S310 (the scheme is checked: http or https)
            request, timeout=TIMEOUT, context=ssl.create_default_context()
        ) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:
        raise _refusal(exc) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise PeerError(
            f"The server at {server} cannot be reached; check the address and your network, "
            "or try again later.",
            EXIT_UNREACHABLE,
        ) from exc


class PakeRequired(PeerError):
    """The code is an end-to-end encrypted room's: it is joined through the PAKE with a
    member (``pake_required``), and nothing was spent on this try."""


def _refusal(exc: urllib.error.HTTPError) -> PeerError:
    try:
        error = json.loads(exc.read())["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return PeerError(f"The server answered {exc.code}; try again later.", EXIT_FAILED)
    if code == "pake_required":
        return PakeRequired(message, EXIT_REFUSED, code)
    if code in _REFUSED:
        return PeerError(f"{message} {_REFUSED[code]}".strip(), EXIT_REFUSED, code)
    return PeerError(message, EXIT_FAILED, code)


def _membership(server: str, body: dict[str, Any]) -> Membership:
    return Membership(
        server=server,
        room_id=body["room"]["id"],
        room_name=body["room"].get("name") or "",
        participant_id=body["participant"]["id"],
        name=body["participant"]["name"],
        token=body["token"],
        body=body,
    )


async def join(server: str, how: JoinInput, display_name: str) -> Membership:
    body = await asyncio.to_thread(
        _request, server, "POST", "/api/join", how.join_body(display_name)
    )
    return _membership(server, body)


async def create_room(server: str, display_name: str, name: str = "") -> Membership:
    """A new room with its first invite (``name``: sealed for an encrypted room; empty,
    the server names it after its owner)."""
    ask = {"display_name": display_name, "session": "bearer"} | ({"name": name} if name else {})
    body = await asyncio.to_thread(_request, server, "POST", "/api/rooms", ask)
    return _membership(server, body)


async def room_call(
    member: Membership, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A call on the member's room with its session (``path`` after ``/api/rooms/{id}``);
    a refusal is a :class:`PeerError` with the server's sentence."""
    return await asyncio.to_thread(
        _request, member.server, method, f"/api/rooms/{member.room_id}{path}", body, member.auth
    )


async def list_invites(member: Membership) -> list[dict[str, Any]]:
    """The room's invites this member may see (the owner all, others the live ones)."""
    path = f"/api/rooms/{member.room_id}/invites"
    body = await asyncio.to_thread(_request, member.server, "GET", path, None, member.auth)
    invites: list[dict[str, Any]] = body.get("invites") or []
    return invites


async def update_invite(
    member: Membership, invite_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """``PATCH`` an invite (the owner): an encrypted room's ``sealed_code``, say."""
    path = f"/api/rooms/{member.room_id}/invites/{invite_id}"
    return await asyncio.to_thread(_request, member.server, "PATCH", path, changes, member.auth)


async def leave(member: Membership) -> None:
    """End this session on the server (its token stops working); best effort."""

    def call() -> None:
        request = urllib.request.Request(  # noqa: S310 (member.server is http(s))
            f"{member.server}/api/rooms/{member.room_id}/session",
            method="DELETE",
            headers=member.auth,
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT):  # noqa: S310
            pass

    with contextlib.suppress(urllib.error.URLError, OSError):  # it expires on its own
        await asyncio.to_thread(call)


async def delete_room(member: Membership) -> None:
    """Delete a room its owner made (``peerlane doctor``'s probe room)."""

    def call() -> None:
        request = urllib.request.Request(  # noqa: S310 (member.server is http(s))
            f"{member.server}/api/rooms/{member.room_id}", method="DELETE", headers=member.auth
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT):  # noqa: S310
            pass

    await asyncio.to_thread(call)


async def reachable(server: str) -> tuple[bool, str]:
    """Whether ``GET /healthz`` answers 200; a detail in words."""

    def call() -> tuple[bool, str]:
        try:
            with urllib.request.urlopen(f"{server}/healthz", timeout=TIMEOUT) as r:  # noqa: S310
                return r.status == 200, f"{server} answers (HTTP {r.status})"
        except urllib.error.HTTPError as exc:
            return False, f"{server} answers HTTP {exc.code} to /healthz"
        except (urllib.error.URLError, OSError) as exc:
            return False, f"{server} cannot be reached ({getattr(exc, 'reason', exc)})"

    return await asyncio.to_thread(call)


async def report_telemetry(member: Membership, report: dict[str, Any]) -> str | None:
    """POST a connection report (peer/telemetry.py): None when taken, else the refusal's
    error code ("telemetry_off", "rate_limited", …) or "unreachable"."""

    def call() -> str | None:
        request = urllib.request.Request(  # noqa: S310 (member.server is http(s))
            f"{member.server}/api/rooms/{member.room_id}/telemetry",
            data=json.dumps(report).encode(),
            method="POST",
            headers={**member.auth, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 (the scheme is http or https)
                request, timeout=TIMEOUT, context=ssl.create_default_context()
            ):
                return None
        except urllib.error.HTTPError as exc:
            try:
                return str(json.loads(exc.read())["error"]["code"])
            except (ValueError, KeyError, TypeError):
                return "unknown"
        except (urllib.error.URLError, OSError):
            return "unreachable"

    return await asyncio.to_thread(call)
