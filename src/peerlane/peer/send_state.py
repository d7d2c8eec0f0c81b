"""What a killed ``peerlane send`` needs to resume its server upload (docs/cli.md,
"Resuming"): kept in the CLI's config directory (``send/<id>.json``, mode 0600: it holds
the session token, an encrypted room's key and each file's key F), one per command:
the server, ``--room`` and each file's path, size and mtime name it.

It holds the session that owns the uploads (the server lets only the participant that
started an upload continue it), the room (its key, and a room the command made: its
link, code and words, shown again), the batch (so the transfer ids are the same), the
file keys F, whether the offers went out, and each upload's tus URL. A rerun of the same
command enters as the same participant, reads the room's history (the receiver's
``accept`` is in it), does not offer again, and PATCHes each upload from the offset its
HEAD gives (peer/server_copy.py). The state goes once the send ends, done or declined.

Two runs of the same command at once would share the one state file (the same session,
offers and uploads, each overwriting the other's record): :class:`CommandLock` lets
one run of a command hold its state at a time (``send/<id>.lock``, ``flock``: the system
lets go of it when its process ends, killed or not).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from peerlane.core import e2e
from peerlane.peer import EXIT_FAILED, EXIT_USAGE, PeerError, cli_config
from peerlane.peer.http_api import Membership
from peerlane.peer.owner_keys import Rotated
from peerlane.peer.room_create import NewRoom

VERSION = 1


def state_dir() -> Path:
    return cli_config.config_path().parent / "send"


def command_id(server: str | None, room: str | None, files: list[tuple[Path, str]]) -> str:
    """The same command on the same files (by path, size and mtime): the same id."""
    named = []
    for path, name in files:
        stat = path.stat()
        named.append([str(path.resolve()), name, stat.st_size, stat.st_mtime_ns])
    text = json.dumps([VERSION, server or "", room or "", named])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class CommandLock:
    """The right to a command's state, held by one process while it runs."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def take(cls, command: str) -> CommandLock:
        """The lock, else :class:`PeerError` naming the process that holds it."""
        path = state_dir() / f"{command}.lock"
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _holder(fd)
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise PeerError(
                        f"The send's state cannot be locked ({exc.strerror}); check {path.parent}.",
                        EXIT_FAILED,
                    ) from exc
                raise PeerError(
                    "These files are already being sent by another `peerlane send`"
                    f"{f' (pid {holder})' if holder else ''}; wait for it to end (stopped, "
                    "the same command resumes it), or add --new to send them again into "
                    "a new room.",
                    EXIT_FAILED,
                ) from None
            # Its last holder may have removed the file between our open and our lock:
            # then the lock is on a file nobody else sees, and we go again.
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(path, fd)

    def release(self) -> None:
        """Removed while still held (see :meth:`take`), then let go."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None


def _holder(fd: int) -> int | None:
    """The pid the lock's holder wrote (None while it has not yet)."""
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None


class SendState:
    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data
        self._lock = threading.Lock()  # the upload thread records its URL

    @classmethod
    def load(cls, command: str) -> SendState | None:
        """The state a killed run of this command left, if readable and of this version."""
        path = state_dir() / f"{command}.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("v") != VERSION:
            return None
        try:
            state = cls(path, data)
            state.member()
            state.room_key()
        except (KeyError, TypeError, e2e.E2EError):
            return None
        return state

    @classmethod
    def start(
        cls, command: str, member: Membership, key: e2e.RoomKey | None, made: NewRoom | None
    ) -> SendState:
        room = None
        if made is not None:
            room = {
                "link": made.link,
                "code": made.code,
                "invite_id": made.invite_id,
                "words": made.words,
            }
        data = {
            "v": VERSION,
            "member": asdict(member),
            "room_key": key.encoded() if key else None,
            "new_room": room,
            "batch": None,
            "roots": {},
            "keys": {},
            "offered": False,
            "uploads": {},
            "done": {},
        }
        return cls(state_dir() / f"{command}.json", data)

    def member(self) -> Membership:
        return Membership(**self.data["member"])

    def room_key(self) -> e2e.RoomKey | None:
        text = self.data["room_key"]
        return e2e.RoomKey.decode(text) if text else None

    def new_room(self) -> NewRoom | None:
        room = self.data["new_room"]
        if not room:
            return None
        return NewRoom(member=self.member(), key=self.room_key(), **room)

    def replace_invite(self, rotated: Rotated) -> None:
        """The room this command made rotated its key (a member left for good): its
        invite is now the new one (the one shown first is revoked), shown on a rerun."""
        room = self.data["new_room"]
        if not room:
            return
        room |= {
            "link": rotated.link,
            "code": rotated.code,
            "invite_id": rotated.invite_id,
            "words": rotated.words,
        }
        self.save()

    @property
    def batch(self) -> str | None:
        batch = self.data["batch"]
        return batch if isinstance(batch, str) else None

    @property
    def offered(self) -> bool:
        return bool(self.data["offered"])

    def keys(self) -> dict[str, str]:
        return dict(self.data["keys"])

    def check(self, roots: dict[str, str]) -> None:
        """The files hashed now are the ones offered before (same size and mtime can
        still hide a change), else the state is dropped and the run stops."""
        if self.data["roots"] and self.data["roots"] != roots:
            self.remove()
            raise PeerError(
                "The files changed since the interrupted run; run the command again to "
                "offer them anew.",
                EXIT_USAGE,
            )

    def upload_url(self, transfer: str) -> str | None:
        url = self.data["uploads"].get(transfer)
        return url if isinstance(url, str) else None

    def set_batch(self, batch: str, roots: dict[str, str], keys: dict[str, str]) -> None:
        self.data |= {"batch": batch, "roots": roots, "keys": keys}
        self.save()

    def set_offered(self) -> None:
        self.data["offered"] = True
        self.save()

    def file_id(self, transfer: str) -> str | None:
        """The room's finished copy, once an upload completed."""
        done = self.data.setdefault("done", {}).get(transfer)
        return done if isinstance(done, str) else None

    def set_file_id(self, transfer: str, file_id: str) -> None:
        self.data.setdefault("done", {})[transfer] = file_id
        self.save()

    def set_upload(self, transfer: str, url: str) -> None:
        """(From the upload's thread.)"""
        self.data["uploads"][transfer] = url
        self.save()

    def save(self) -> None:
        """Written whole to a new file (0600 from its creation), then renamed over."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            temporary = self.path.with_name(self.path.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                json.dump(self.data, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)

    def remove(self) -> None:
        with self._lock, contextlib.suppress(FileNotFoundError):
            self.path.unlink()
