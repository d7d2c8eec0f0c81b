"""Where a received file goes, and its partial data until it is whole.

The sender's name becomes a path under the output folder by files.names.safe_relative_path
(no absolute path, no ``..``, no device names). Until the file is verified its bytes are
in ``<target>.peerlane-part`` with the resume state (core.transfer_flow.Partial) in
``<target>.peerlane-part.json``, written after the blocks it names are: running the same
``receive`` again resumes from the last verified block. The finished file replaces the
target only when ``--overwrite`` allows it.
"""

from __future__ import annotations

import errno
import os
from functools import partial
from pathlib import Path

from peerlane.core.e2e_file import FileKey
from peerlane.core.integrity import BLOCK_SIZE
from peerlane.core.sealed_blocks import SealedBlockReceiver
from peerlane.core.transfer_blocks import BlockReceiver
from peerlane.core.transfer_flow import Partial, decode_partial
from peerlane.files.names import safe_relative_path
from peerlane.peer import EXIT_FAILED, EXIT_USAGE, PeerError

PART_SUFFIX = ".peerlane-part"


def target_for(out_dir: Path, name: str) -> Path:
    return out_dir.joinpath(*safe_relative_path(name))


def check_target(target: Path, *, overwrite: bool) -> None:
    """Refuse, before anything is accepted, a target that exists (unless ``overwrite``)
    or that is a directory."""
    if target.is_dir():
        raise PeerError(
            f"{target} is a directory; receive into another folder with -o DIR.", EXIT_USAGE
        )
    if target.exists() and not overwrite:
        raise PeerError(
            f"{target} exists already; add --overwrite to replace it, "
            "or receive into another folder with -o DIR.",
            EXIT_USAGE,
        )


class PartialFile:
    def __init__(self, target: Path, root: str, size: int) -> None:
        self.target = target
        self.data_path = target.with_name(target.name + PART_SUFFIX)
        self.state_path = target.with_name(target.name + PART_SUFFIX + ".json")
        self.root, self.size = root, size
        self._fd: int | None = None

    def receiver(self, key: str | None = None) -> BlockReceiver:
        """A block receiver that knows what the partial data holds (nothing when the saved
        state is missing, unreadable or for another file); with an encrypted room's file
        key ``F``, one that opens sealed blocks (core/sealed_blocks.py)."""
        kind = partial(SealedBlockReceiver, key=FileKey.decode(key)) if key else BlockReceiver
        try:
            state = decode_partial(self.state_path.read_text(), self.root, self.size)
        except OSError:
            state = None
        if state is None or not self.data_path.exists():
            return kind(self.size, self.root)
        return kind(
            self.size,
            self.root,
            hashes=state.hashes,
            verified=state.verified,
            unlisted=state.unlisted,
        )

    def write(self, block: int, data: bytes) -> None:
        try:
            if self._fd is None:
                self.target.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.data_path, os.O_RDWR | os.O_CREAT, 0o600)
            os.pwrite(self._fd, data, block * BLOCK_SIZE)
        except OSError as exc:
            raise _storage_error(exc, self.target) from exc

    def save(self, receiver: BlockReceiver) -> None:
        """Record what is written (after it is: the state never runs ahead of the data)."""
        state = Partial(
            self.root, self.size, receiver.hashes, set(receiver.verified), dict(receiver.unlisted)
        )
        temporary = self.state_path.with_name(self.state_path.name + ".new")
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(state.encode())
            temporary.replace(self.state_path)
        except OSError as exc:
            raise _storage_error(exc, self.target) from exc

    def finish(self, *, overwrite: bool) -> None:
        """The verified data becomes the target (``os.replace`` only with ``overwrite``)."""
        self.close()
        try:
            if not self.data_path.exists():  # an empty file has no blocks to write
                self.target.parent.mkdir(parents=True, exist_ok=True)
                self.data_path.touch()
            os.truncate(self.data_path, self.size)
            if overwrite:
                self.data_path.replace(self.target)
            else:
                os.link(self.data_path, self.target)  # fails if the target appeared meanwhile
                self.data_path.unlink()
            self.state_path.unlink(missing_ok=True)
        except FileExistsError as exc:
            raise PeerError(
                f"{self.target} appeared while receiving; the data is kept in "
                f"{self.data_path}. Add --overwrite to replace it.",
                EXIT_FAILED,
            ) from exc
        except OSError as exc:
            raise _storage_error(exc, self.target) from exc

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _storage_error(exc: OSError, target: Path) -> PeerError:
    if exc.errno == errno.ENOSPC:
        return PeerError(
            f"The disk is full while writing {target}; free some space and run the same "
            "command again to resume.",
            EXIT_FAILED,
        )
    return PeerError(
        f"{target} cannot be written ({exc.strerror}); check the folder's permissions.",
        EXIT_FAILED,
    )
