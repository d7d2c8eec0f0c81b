"""The terminal as a member answering joins by short code (docs/protocol.md, "Short codes
by PAKE", "The web client"): the responder's side of CPace for every ``pake.share`` the
room socket relays, as a browser member's ``web/e2e/pake-answer.js`` does.

Right words: the joiner's confirmation checks out and this client admits it with the
room key sealed under the PAKE's key, bound to the room and the joiner
(core/pake_handover.py). Wrong words: it rejects (or the joiner aborts). The server counts
guesses, but it could play a joiner without counting, so this client counts the failed
attempts it answered per invite too (in the config directory, so a new run does not
reset them) and stops answering that code after :data:`MAX_FAILURES`, telling the person.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peerlane.core import code_words, e2e, pake
from peerlane.core.pake_handover import seal_handover
from peerlane.peer import PeerError, cli_config, http_api
from peerlane.peer.http_api import Membership
from peerlane.peer.room_socket import RoomChat

# The server's default code_max_total_failures: the most failures this client answers per
# code. The limit is the client's own: a server cannot raise it.
MAX_FAILURES = 100

Send = Callable[[dict[str, Any]], None]
Notice = Callable[[str], None]
WordsFor = Callable[[str], Awaitable[str | None]]
KeyNow = Callable[[], e2e.RoomKey | None]


def pake_frame(raw: str | bytes) -> dict[str, Any] | None:
    """A room socket's frame as a ``pake.*`` message, or None for the chat client (most
    frames never mention ``"pake.`` and are not parsed twice)."""
    if not isinstance(raw, str) or '"pake.' not in raw:
        return None
    try:
        message = json.loads(raw)
    except ValueError:
        return None
    if isinstance(message, dict) and str(message.get("type")).startswith("pake."):
        return message
    return None


def failure_text(count: int, limit: int) -> str:
    """What a failure tells the person (the browser's ``failureText``)."""
    if count >= limit:
        return (
            f"Someone tried this room's code with the wrong words {count} times: this "
            "client no longer answers joins by that code. Make a new invite, or share the link."
        )
    return (
        f"Someone tried to join with a wrong room code ({count} of {limit} failed tries "
        "for that code)."
    )


class FailureCounts:
    """Failed attempts answered per (room, invite), kept in a JSON file beside the CLI's
    config (``pake-failures.json``); in memory when the file cannot be written."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cli_config.config_path().with_name("pake-failures.json")
        self._memory: dict[str, int] | None = None

    def _load(self) -> dict[str, int]:
        if self._memory is not None:
            return self._memory
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): v for k, v in data.items() if isinstance(v, int)}

    def get(self, room_id: str, invite_id: str) -> int:
        return self._load().get(f"{room_id}/{invite_id}", 0)

    def add(self, room_id: str, invite_id: str) -> int:
        counts = self._load()
        key = f"{room_id}/{invite_id}"
        counts[key] = counts.get(key, 0) + 1
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(counts))
            tmp.replace(self.path)  # whole or not at all: two runs may write it
        except OSError:
            self._memory = counts
        return counts[key]


@dataclass
class _Run:
    invite: str
    joiner: str
    pake: pake.MemberPake  # (a run is kept once this client's pake.reply is sent)


class PakeMember:
    """Answers the ``pake.*`` frames of one room socket, one after another."""

    def __init__(
        self,
        room_id: str,
        me: str,
        send: Send,
        words_for: WordsFor,
        key: KeyNow,
        *,
        notice: Notice,
        counts: FailureCounts | None = None,
        max_failures: int = MAX_FAILURES,
    ) -> None:
        self.room_id, self.me = room_id, me
        self._send, self._words_for, self._key, self._notice = send, words_for, key, notice
        self.counts = counts or FailureCounts()
        self.max = min(max_failures, MAX_FAILURES)
        self.runs: dict[str, _Run] = {}  # attempt id -> the run answering it
        self.admitted: list[str] = []  # joiners let in, for the record
        self._lock = asyncio.Lock()  # FIFO: frames answered in the order they came
        self._tasks: set[asyncio.Task[None]] = set()  # held: the loop keeps weak references

    def handle(self, message: dict[str, Any]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(self._in_turn(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _in_turn(self, message: dict[str, Any]) -> None:
        async with self._lock:
            try:
                await self._answer(message)
            except (KeyError, TypeError, ValueError, e2e.E2EError, PeerError):
                # A malformed frame, or the server unreachable for the words: this attempt
                # is not answered (the joiner's attempt ends when it gives up).
                attempt = message.get("attempt")
                if isinstance(attempt, str) and attempt in self.runs:
                    del self.runs[attempt]

    async def _answer(self, message: dict[str, Any]) -> None:
        kind, attempt = message.get("type"), str(message.get("attempt"))
        if kind == "pake.share":
            await self._share(message, attempt)
            return
        run = self.runs.pop(attempt, None)
        if run is None:
            return  # not an attempt this client answered (or answered already)
        if kind == "pake.abort":
            # After this client's reply the joiner's check of it failed (or it gave up).
            self._failed(run.invite)
            return
        if kind != "pake.confirm":
            return
        try:
            keys = run.pake.confirm(e2e.b64u_decode(message["confirm"]))
        except (pake.PakeFailed, e2e.E2EError):
            self._send({"type": "pake.reject", "attempt": attempt})
            self._failed(run.invite)
            return
        key = self._key()
        if key is None:  # the room's key went away since the reply: nothing to hand over
            self._send({"type": "pake.reject", "attempt": attempt})
            return
        handover = seal_handover(
            keys.handover_key,
            key,
            os.urandom(e2e.NONCE_SIZE),
            room_id=self.room_id,
            joiner_id=run.joiner,
        )
        self._send({"type": "pake.admit", "attempt": attempt, "handover": handover})
        self.admitted.append(run.joiner)

    async def _share(self, message: dict[str, Any], attempt: str) -> None:
        invite, joiner = str(message["invite"]), str(message["joiner"])
        reject = {"type": "pake.reject", "attempt": attempt}
        if self.counts.get(self.room_id, invite) >= self.max:
            self._note(self.counts.get(self.room_id, invite))
            self._send(reject)
            return
        # Without the words or the key there is nothing to check or hand over.
        words = await self._words_for(invite)
        if words is None or self._key() is None:
            self._send(reject)
            return
        member = pake.MemberPake.start(
            words,
            invite_id=invite,
            joiner_id=joiner,
            member_id=self.me,
            sid=e2e.b64u_decode(attempt),
        )
        try:
            confirm = member.respond(e2e.b64u_decode(message["share"]))
        except pake.PakeFailed:
            self._failed(invite)
            self._send(reject)
            return
        self.runs[attempt] = _Run(invite, joiner, member)
        self._send(
            {
                "type": "pake.reply",
                "attempt": attempt,
                "share": e2e.b64u_encode(member.share),
                "confirm": e2e.b64u_encode(confirm),
            }
        )

    def _failed(self, invite: str) -> None:
        self._note(self.counts.add(self.room_id, invite))

    def _note(self, count: int) -> None:
        self._notice(failure_text(count, self.max))


class RoomWords:
    """The words of the room's codes as this member may trust them: the ones this
    process drew (the room it made), else an invite's ``sealed_code`` opened with the
    room key, never a clear ``code`` the server could have made up."""

    def __init__(self, member: Membership, key: KeyNow, known: dict[str, str] | None = None):
        self.member, self._key, self.known = member, key, dict(known or {})

    async def __call__(self, invite_id: str) -> str | None:
        if invite_id in self.known:
            return self.known[invite_id]
        found = [i for i in await http_api.list_invites(self.member) if i.get("id") == invite_id]
        if not found:
            return None  # not live (retired, revoked, expired), or not this room's
        return code_words.trusted_words(
            self._key(), found[0].get("sealed_code"), self.member.room_id, invite_id
        )


def answer_joins(
    chat: RoomChat, member: Membership, notice: Notice, known: dict[str, str] | None = None
) -> PakeMember:
    """Make the room socket's owner a member that answers joins by code, with the room
    key the chat client holds (none: every attempt is rejected at once, as a browser
    without the key does, so the joiner hears back instead of waiting); ``known``: the
    words of invites this process made (invite id -> words)."""

    def key() -> e2e.RoomKey | None:
        crypto = chat.client.crypto
        return crypto.key if crypto is not None else None

    words = RoomWords(member, key, known)
    answerer = PakeMember(
        member.room_id, member.participant_id, chat.send_frame, words, key, notice=notice
    )

    def take(raw: str | bytes) -> bool:
        message = pake_frame(raw)
        if message is None:
            return False
        answerer.handle(message)
        return True

    chat.pake = take
    return answerer
