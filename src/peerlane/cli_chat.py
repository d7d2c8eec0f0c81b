"""``peerlane chat``: a room's chat in the terminal, beside browser participants."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

import typer

from peerlane import cli_runner
from peerlane.core import chat_client as cc
from peerlane.peer import EXIT_INTERRUPTED, PeerError

if TYPE_CHECKING:
    from peerlane.peer.key_follow import KeyFollower, Notify

Show = Callable[[cc.Event], None]

EXAMPLES = """
Examples:

  peerlane chat https://chat.example.org/join#Qm9v...     join by the invite link

  peerlane chat 7-amber-falcon --server https://chat.example.org

  echo "build 1234 is green" | peerlane chat 7-amber-falcon --send-only

  peerlane chat 7-amber-falcon --json | jq .            one JSON object per event

Type a line and press Enter to send it; Ctrl-D (end of input) or Ctrl-C leaves.
In an end-to-end encrypted room, /people lists the members with the safety code of
your key and theirs (compare it with theirs, read aloud), and /verify NAME marks a
member whose code you compared: a later change of their key is then a loud warning.
"""


def chat_command(
    invite: str = typer.Argument(..., help="The invite link, or the short code (7-amber-falcon)."),
    server: str | None = typer.Option(
        None,
        "--server",
        help="The server for a short code "
        "(else PEERLANE_SERVER, else `peerlane config set server`).",
    ),
    name: str | None = typer.Option(
        None,
        "--name",
        help="Your name in the room (default: `peerlane config set name`, else your login).",
    ),
    send_only: bool = typer.Option(
        False,
        "--send-only",
        help="Send each line of standard input, wait until all are stored, exit.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per event."),
) -> None:
    """Chat in a room from the terminal: messages with sender and time, who joins and leaves."""
    try:
        # (Ctrl-C ends it within cli_runner.LEAVE_WITHIN_S, as send and receive)
        cli_runner.run(_chat(invite, server, name, send_only=send_only, as_json=as_json))
    except PeerError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None


chat_command.__doc__ = (chat_command.__doc__ or "") + "\n" + EXAMPLES


async def _chat(
    invite: str, server: str | None, name: str | None, *, send_only: bool, as_json: bool
) -> None:
    from peerlane.peer import cli_config, pake_member, room_entry
    from peerlane.peer.room_socket import RoomChat

    how = cli_config.invite_or_fail(invite)
    base = how.server or cli_config.server_or_fail(server)
    room_entry.link_key(how)  # a damaged key is refused before anyone joins

    def notice(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    member, key = await room_entry.enter(base, how, cli_config.display_name(name), "chat", notice)
    crypto = room_entry.room_crypto(member, key)
    client = cc.ChatClient(crypto=crypto)
    out = sys.stdout
    encrypted = key is not None
    show = (
        _json_printer(out, encrypted=encrypted)
        if as_json
        else _text_printer(out, send_only=send_only, encrypted=encrypted)
    )
    follower = None
    if crypto is not None:
        from peerlane.peer import key_follow

        follower = await key_follow.follow(member, crypto, _key_notice(out, as_json=as_json))
    lines = _stdin_lines()
    if not send_only:
        lines = _commands(lines, follower, out, as_json=as_json)
    on_keys = follower.refresh if follower else None
    room = RoomChat(member, show, client, on_keys=on_keys)
    pake_member.answer_joins(room, member, notice)  # an encrypted room's code: let them in
    await room.run(lines)


def _key_notice(out: TextIO, *, as_json: bool) -> Notify:
    """How a changed member key (or a failed fetch of the keys) is told: a warning on
    standard error (its own line, shouted when the member was verified), or an event."""
    from peerlane.peer.key_follow import KeyChanged, warning

    def notify(what: KeyChanged | str) -> None:
        if isinstance(what, str):
            if as_json:
                print(json.dumps({"event": "notice", "message": what}), file=out, flush=True)
            else:
                print(printable(warning(what)), file=sys.stderr, flush=True)
            return
        if as_json:
            record = {"event": "key_changed", "loud": what.loud, "member": what.person.as_json()}
            print(json.dumps(record), file=out, flush=True)
            return
        print(printable(warning(what)), file=sys.stderr, flush=True)

    return notify


async def _commands(
    lines: AsyncIterator[str], follower: KeyFollower | None, out: TextIO, *, as_json: bool
) -> AsyncIterator[str]:
    """The typed lines, less the commands (/people, /verify NAME), which are answered
    here instead of being sent."""
    async for line in lines:
        command, _, arg = line.strip().partition(" ")
        if command not in ("/people", "/verify"):
            yield line
            continue
        try:
            if follower is None:
                raise PeerError("This room is not end-to-end encrypted: it has no safety codes.")
            if command == "/people":
                try:
                    await follower.members()
                except (KeyError, TypeError, ValueError) as exc:  # not the protocol's shape
                    raise PeerError("The server's list of members was not understood.") from exc
                _print_people(follower, out, as_json=as_json)
            else:
                person = follower.verify(arg.strip())
                if as_json:
                    record = {"event": "verified", "member": person.as_json()}
                    print(json.dumps(record), file=out, flush=True)
                else:
                    print(f"* marked {printable(person.name)} as verified", file=out, flush=True)
        except PeerError as exc:
            if as_json:
                record = {"event": "error", "code": "command", "message": str(exc)}
                print(json.dumps(record), file=out, flush=True)
            else:
                print(f"! {printable(str(exc))}", file=sys.stderr, flush=True)


def _print_people(follower: KeyFollower, out: TextIO, *, as_json: bool) -> None:
    from peerlane.peer.key_follow import people_lines

    if as_json:
        members = [p.as_json() for p in follower.people]
        record = {"event": "people", "public_key": follower.public_key, "members": members}
        print(json.dumps(record), file=out, flush=True)
        return
    for line in people_lines(follower):
        print(printable(line), file=out, flush=True)


async def _stdin_lines() -> AsyncIterator[str]:
    """Standard input, line by line, without blocking the event loop (a terminal, a pipe
    or a file)."""
    stdin = sys.stdin
    mode = os.fstat(stdin.fileno()).st_mode
    # A pipe transport takes pipes, sockets and terminals; a file or /dev/null is read whole.
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stdin.isatty()):
        for line in await asyncio.to_thread(stdin.readlines):
            yield line.rstrip("\n")
        return
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    while line := await reader.readline():
        yield line.decode(errors="replace").rstrip("\r\n")


# Terminal control characters (C0 but tab and newline, DEL, C1: an ESC or CSI can clear
# the screen, move the cursor or retitle the window) and the bidi overrides that can make
# text read backwards: what other people write is shown, never obeyed by the terminal.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Someone else's text made safe for a terminal; continuation lines indented."""
    return _UNSAFE.sub("\ufffd", text).replace("\n", "\n    ")


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S")  # the reader's local time


def _body_text(m: Any) -> str:
    body = m.body
    if m.kind == "text":
        return body if isinstance(body, str) else json.dumps(body)
    if m.kind == "reaction":
        return f"reacted {body} to #{m.ref}"
    if m.kind == "edit":
        return f"edited #{m.ref}: {body if isinstance(body, str) else json.dumps(body)}"
    if m.kind == "delete":
        return f"deleted #{m.ref}"
    name = body.get("name") if isinstance(body, dict) else None
    return f"offered a file: {name}" if name else "offered a file"


def _text_printer(out: TextIO, *, send_only: bool, encrypted: bool = False) -> Show:
    def show(event: cc.Event) -> None:
        line: str | None = None
        if isinstance(event, cc.Refused):
            print(f"! {printable(event.message)}", file=sys.stderr, flush=True)
            return
        if send_only:
            return
        if isinstance(event, cc.Connected):
            w = event.welcome
            if event.again:
                line = "* connected again"
            else:
                here = ", ".join(sorted({peer.name for peer in w.peers})) or "nobody else yet"
                room = w.room_name or "the room"
                line = printable(f"* in {room} as {w.name} (here: {here})")
                line += ", end-to-end encrypted" if encrypted else ""
        elif isinstance(event, cc.Shown):
            m = event.message
            line = f"[{_clock(m.ts)}] {printable(m.sender_name)}: {printable(_body_text(m))}"
        elif isinstance(event, cc.PresenceChange):
            line = f"* {printable(event.peer.name)} {event.event}"
        if line is not None:
            print(line, file=out, flush=True)

    return show


def _json_printer(out: TextIO, *, encrypted: bool = False) -> Show:
    def show(event: cc.Event) -> None:
        record: dict[str, Any]
        if isinstance(event, cc.Connected):
            w = event.welcome
            record = {
                "event": "connected",
                "again": event.again,
                "room_id": w.room_id,
                "peer_id": w.peer_id,
                "participant_id": w.participant_id,
                "name": w.name,
                "room_name": w.room_name,  # opened, in an encrypted room
                "encrypted": encrypted,
                "peers": [peer.model_dump() for peer in w.peers],
            }
        elif isinstance(event, cc.Shown):
            record = {"event": "message", "own": event.own, **event.message.model_dump()}
            record.pop("type")
            if event.e2e_error is not None:  # the body is the placeholder
                record["e2e_error"] = event.e2e_error
        elif isinstance(event, cc.PresenceChange):
            record = {"event": event.event, "peer": event.peer.model_dump()}
        elif isinstance(event, cc.Acked):
            record = {"event": "ack", "id": event.id, "seq": event.seq}
        elif isinstance(event, cc.Refused):
            record = {"event": "error", "code": event.code, "message": event.message}
            record |= {"ref": event.ref, "retry": event.retry}
        elif isinstance(event, cc.Synced):
            record = {"event": "synced", "latest_seq": event.latest_seq}
        else:
            return
        # ASCII: json escapes C0 controls but not C1 ones (a CSI), which a terminal obeys.
        print(json.dumps(record), file=out, flush=True)

    return show
