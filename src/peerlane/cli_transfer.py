"""``peerlane send`` and ``peerlane receive``: files between terminals and browsers, peer
to peer when possible, through the server otherwise (docs/cli.md)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
import threading
import time
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from peerlane import cli_runner
from peerlane.cli_transfer_output import Meter, human, key_notice, notice, show_invite, summary
from peerlane.peer import EXIT_DECLINED, EXIT_INTERRUPTED, EXIT_REFUSED, EXIT_USAGE, PeerError

if TYPE_CHECKING:
    from peerlane.peer.incoming import Candidate
    from peerlane.peer.transfer_room import Side, TransferRoom

SEND_EXAMPLES = """
Examples:

  peerlane send report.pdf                       an encrypted room: a link, a QR code, a code

  peerlane send photos/ notes.txt --server https://chat.example.org

  peerlane send big.iso --room https://chat.example.org/join#Qm9v...   into a room

  peerlane send notes.txt --no-encrypt           a room without end-to-end encryption

The other side runs `peerlane receive CODE` or opens the link in a browser; while
`send` runs, it checks the code's words for whoever types them (a PAKE).
"""

RECEIVE_EXAMPLES = """
Examples:

  peerlane receive 7-amber-falcon --server https://chat.example.org

  peerlane receive https://chat.example.org/join#Qm9v... -o ~/Downloads --yes

Run the same command again after an interruption: it resumes from the last verified block.
"""

SERVER_HELP = "The server (else PEERLANE_SERVER, else `peerlane config set server`)."
ADDRESS_HELP = (
    "Interface or address for direct connections (repeatable; default: every interface "
    "but loopback)."
)


def _run(work: Coroutine[Any, Any, None]) -> None:
    try:
        cli_runner.run(work)  # (Ctrl-C ends it within cli_runner.LEAVE_WITHIN_S)
    except PeerError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("Cancelled; the other side was told.", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _p2p_timeout() -> float:
    from peerlane.peer.file_send import DEFAULT_P2P_TIMEOUT_S

    try:  # the browser's localStorage.peerlaneP2pTimeoutMs, for tests and slow networks
        return float(os.environ.get("PEERLANE_P2P_TIMEOUT", DEFAULT_P2P_TIMEOUT_S))
    except ValueError:
        return DEFAULT_P2P_TIMEOUT_S


# --- send ----------------------------------------------------------------------------------


def send_command(
    paths: list[Path] = typer.Argument(..., help="Files and directories to send."),
    server: str | None = typer.Option(None, "--server", help=SERVER_HELP),
    room: str | None = typer.Option(
        None, "--room", help="Send into this room (its invite link or code) instead of a new one."
    ),
    name: str | None = typer.Option(None, "--name", help="Your name in the room."),
    address: list[str] = typer.Option([], "--address", help=ADDRESS_HELP),
    no_encrypt: bool = typer.Option(
        False,
        "--no-encrypt",
        help="Make the new room without end-to-end encryption (the server can read the "
        "files' names and contents; for receivers older than encrypted rooms).",
    ),
    new: bool = typer.Option(
        False,
        "--new",
        help="Send afresh into a new room, even if an earlier run of this command was "
        "interrupted (else it resumes) or is still sending.",
    ),
) -> None:
    """Send files or directories: makes an end-to-end encrypted room, prints a code, a
    link and a QR code, then waits for the receiver (another `peerlane receive` or a
    browser opening the link)."""
    if no_encrypt and room:
        raise typer.BadParameter("--no-encrypt is for a new room; --room uses the room as it is.")
    _run(_send(paths, server, room, name, address, encrypt=not no_encrypt, new=new))


send_command.__doc__ = (send_command.__doc__ or "") + "\n" + SEND_EXAMPLES


async def _send(
    paths: list[Path],
    server: str | None,
    room_link: str | None,
    name: str | None,
    address: list[str],
    *,
    encrypt: bool = True,
    new: bool = False,
) -> None:
    from peerlane.peer import cli_config
    from peerlane.peer.outgoing import files_to_send
    from peerlane.peer.send_state import CommandLock, command_id

    files = files_to_send(paths)
    command = command_id(f"{cli_config.server_url(server)}|{encrypt}", room_link, files)
    try:  # one run of a command holds its resume state at a time (peer/send_state.py)
        lock: CommandLock | None = CommandLock.take(command)
    except PeerError:
        if not new:
            raise
        lock = None  # --new beside a run still going: this one keeps no state
        notice("Another `peerlane send` of these files is running: this one cannot be resumed.")
    try:
        await _send_files(
            files, command if lock else None, server, room_link, name, address, encrypt, new
        )
    finally:
        if lock is not None:
            lock.release()


async def _send_files(
    files: list[tuple[Path, str]],
    command: str | None,  # None: no resume state (another run holds it)
    server: str | None,
    room_link: str | None,
    name: str | None,
    address: list[str],
    encrypt: bool,
    new: bool,
) -> None:
    from peerlane.peer import cli_config, fast_link, pake_member, room_create, room_entry
    from peerlane.peer.file_send import Sender
    from peerlane.peer.key_follow import follow_keys
    from peerlane.peer.outgoing import prepare
    from peerlane.peer.rtc_config import host_addresses
    from peerlane.peer.send_state import SendState
    from peerlane.peer.transfer_room import TransferRoom

    chosen = host_addresses(address) if address else None
    display = cli_config.display_name(name)
    made: room_create.NewRoom | None = None
    state = SendState.load(command) if command and not new else None
    if state is not None:  # a killed run of this command: the same room and participant
        member, key, made = state.member(), state.room_key(), state.new_room()
        notice("Resuming the earlier run of this command (the same room and offer).")
    elif room_link:
        how = cli_config.invite_or_fail(room_link)
        room_entry.link_key(how)  # a damaged key is refused before anyone joins
        base = how.server or cli_config.server_or_fail(server)
        member, key = await room_entry.enter(base, how, display, "send", notice)
    else:
        base = cli_config.server_or_fail(server)
        made = await room_create.create(base, display, encrypt=encrypt)
        member, key = made.member, made.key
    total = sum(path.stat().st_size for path, _ in files)
    print(f"Preparing {len(files)} file(s), {human(total)}…", file=sys.stderr)
    outgoing = await prepare(files, (state.batch if state else None) or uuid.uuid4().hex)
    resumed = state is not None
    if state is not None:
        state.check({i.offer.transfer: i.offer.root for i in outgoing})
    if command is not None:  # (--new: the earlier run's state is replaced)
        state = state or SendState.start(command, member, key, made)
    if made is not None:
        show_invite(made.link, made.code, encrypted=made.key is not None)
    meter = Meter("sending")
    meter.start(total)
    crypto = room_entry.room_crypto(member, key)
    # A rerun reads the room's history: the receiver's accept is there
    transfer_room = TransferRoom(member, from_start=resumed, crypto=crypto)
    transfer_room.chat.on_keys = await follow_keys(
        member, crypto, key_notice, on_rotated=state.replace_invite if state else None
    )
    known = {made.invite_id: made.words} if made and made.words else {}
    pake_member.answer_joins(transfer_room.chat, member, notice, known)
    sender = Sender(transfer_room, outgoing, meter.advance, _p2p_timeout(), state)
    if fast_link.enabled():  # (an encrypted room's blocks go sealed: peer/fast_send.py)
        await sender.listen_fast(fast_link.listen_hosts(chosen))
    forget = state.remove if state is not None else lambda: None
    try:
        await _run_side(transfer_room, sender, chosen, meter)
    except PeerError as exc:  # kept for a rerun unless nothing is left to resume
        if exc.exit_code in (EXIT_DECLINED, EXIT_REFUSED):
            forget()
        raise
    except asyncio.CancelledError:  # Ctrl-C: the receivers were told it is cancelled
        forget()
        raise
    finally:
        sender.close()
    forget()
    waited = asyncio.get_running_loop().time() - (sender.accepted_at or 0.0)
    started = time.monotonic() - waited if sender.accepted_at else meter.started
    summary("Sent", sender.bytes_sent, started, sender.paths, [i.offer for i in outgoing], None)


async def _run_side(
    transfer_room: TransferRoom, side: Side, chosen: list[str] | None, meter: Meter
) -> None:
    """Run the side's transfers in the room until done, ICE on the ``--address`` choice
    only when there is one; the progress bar is stopped however it ends."""
    from peerlane.peer.rtc_config import only_host_addresses

    try:
        with only_host_addresses(chosen) if chosen is not None else contextlib.nullcontext():
            await transfer_room.run(side)
    finally:
        meter.stop()


# --- receive -------------------------------------------------------------------------------


def receive_command(
    invite: str = typer.Argument(..., help="The invite link, or the short code (7-amber-falcon)."),
    out_dir: Path = typer.Option(Path("."), "-o", "--output", help="Where to put the files."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Accept without asking."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace files that exist."),
    server: str | None = typer.Option(None, "--server", help=SERVER_HELP),
    name: str | None = typer.Option(None, "--name", help="Your name in the room."),
    address: list[str] = typer.Option([], "--address", help=ADDRESS_HELP),
) -> None:
    """Receive the files offered in a room (by `peerlane send` or a browser) into a folder."""
    _run(_receive(invite, out_dir, yes, overwrite, server, name, address))


receive_command.__doc__ = (receive_command.__doc__ or "") + "\n" + RECEIVE_EXAMPLES


async def _receive(
    invite: str,
    out_dir: Path,
    yes: bool,
    overwrite: bool,
    server: str | None,
    name: str | None,
    address: list[str],
) -> None:
    from peerlane.peer import cli_config, fast_link, pake_member, room_entry
    from peerlane.peer.file_receive import Receiver
    from peerlane.peer.key_follow import follow_keys
    from peerlane.peer.rtc_config import host_addresses
    from peerlane.peer.transfer_room import TransferRoom

    how = cli_config.invite_or_fail(invite)
    room_entry.link_key(how)  # a damaged key is refused before anyone joins
    if not yes and not sys.stdin.isatty():
        raise PeerError("Standard input is not a terminal to ask on; add --yes.", EXIT_USAGE)
    chosen = host_addresses(address) if address else None
    base = how.server or cli_config.server_or_fail(server)
    member, key = await room_entry.enter(
        base, how, cli_config.display_name(name), "receive", notice
    )
    crypto = room_entry.room_crypto(member, key)
    room_name = crypto.open_name(member.room_name) if crypto else member.room_name
    print(f"Joined {room_name or 'the room'}; waiting for files…", file=sys.stderr)

    meter = Meter("receiving")
    transfer_room = TransferRoom(member, from_start=True, crypto=crypto)
    transfer_room.chat.on_keys = await follow_keys(member, crypto, key_notice)
    pake_member.answer_joins(transfer_room.chat, member, notice)  # a member answers codes
    receiver = Receiver(
        transfer_room,
        out_dir,
        overwrite=overwrite,
        ask=functools.partial(_ask, yes=yes),
        start=meter.start,
        advance=meter.advance,
        identity=fast_link.new_identity() if fast_link.enabled() else None,
    )
    await _run_side(transfer_room, receiver, chosen, meter)
    offers = [item.offer for item in receiver.items.values()]
    summary("Received", receiver.bytes_received, meter.started, receiver.paths, offers, out_dir)


async def _ask(candidates: list[Candidate], *, yes: bool) -> bool:
    """List the offered files on standard error and ask whether to take them (``--yes``:
    listed, not asked)."""
    from peerlane.cli_chat import printable

    size = sum(c.offer.size for c in candidates)
    who = printable(candidates[0].sender_name)
    for c in candidates[:20]:
        print(f"  {printable(c.offer.name)}  ({human(c.offer.size)})", file=sys.stderr)
    if len(candidates) > 20:
        print(f"  … and {len(candidates) - 20} more", file=sys.stderr)
    question = f"Accept {len(candidates)} file(s), {human(size)}, from {who}? [y/N] "
    if yes:
        return True
    answer = await _prompt(question)
    return answer.strip().lower() in ("y", "yes")


async def _prompt(question: str) -> str:
    """``input(question)`` in a daemon thread: a read of the terminal cannot be cancelled,
    and a thread of asyncio's executor still reading would hold the exit (asyncio.run
    waits for them) until Enter, after Ctrl-C or when the room ends meanwhile. End of
    input answers "" (no)."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def settle(text: str) -> None:
        if not answer.done():
            answer.set_result(text)

    def read() -> None:
        try:
            text = input(question)
        except (EOFError, OSError):
            text = ""
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits
            loop.call_soon_threadsafe(settle, text)

    threading.Thread(target=read, name="peerlane-prompt", daemon=True).start()
    return await answer
