"""What ``peerlane send`` offers (peer/file_send.py sends it): the files named on the
command line with the names they are offered under, each hashed into an offer of the
command's batch (file ``i`` is transfer ``<batch>-i``: core/transfer_batch.py), and an
outgoing file's state while it is served."""

from __future__ import annotations

import asyncio
import mimetypes
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peerlane.core import transfer_batch as tbatch
from peerlane.core import transfer_flow as tf
from peerlane.core.integrity import TreeHasher
from peerlane.peer import EXIT_FAILED, EXIT_USAGE, PeerError

READ_BYTES = 8 * 1024 * 1024


@dataclass
class Outgoing:
    path: Path
    offer: tf.Offer
    hashes: list[str]
    flow: tf.Flow = field(default_factory=lambda: tf.Flow(tf.OUTGOING))
    serving: dict[str, asyncio.Task[Any]] = field(default_factory=dict)  # participant →
    fallback: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    upload: asyncio.Task[None] | None = None
    file_id: str | None = None
    fast_certs: dict[bytes, str] = field(default_factory=dict)  # accepted cert → participant
    fast_accepted: asyncio.Event = field(default_factory=asyncio.Event)


def files_to_send(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """Each file with the name it is offered under: a file's own name; for a directory,
    every file inside with its path from the directory's name on (``photos/2024/a.jpg``)."""
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_file():
            found.append((path, path.name))
        elif path.is_dir():
            base = path.resolve()
            for root, dirs, files in os.walk(base):
                dirs.sort()
                for name in sorted(files):
                    full = Path(root) / name
                    if full.is_file():
                        found.append((full, f"{base.name}/{full.relative_to(base).as_posix()}"))
        else:
            raise PeerError(
                f"{path} is neither a file nor a directory; check the path.", EXIT_USAGE
            )
    if not found:
        raise PeerError("There are no files to send in what you named.", EXIT_USAGE)
    return found


def hash_file(path: Path) -> tuple[int, str, list[str]]:
    """The size, root and block hashes of a file (docs/protocol.md, "Integrity")."""
    hasher = TreeHasher()
    with path.open("rb") as file:
        while chunk := file.read(READ_BYTES):
            hasher.update(chunk)
    return hasher.length, hasher.root(), [h.hex() for h in hasher.final_block_hashes()]


async def prepare(files: list[tuple[Path, str]], batch: str) -> list[Outgoing]:
    out = []
    for index, (path, name) in enumerate(files):
        try:
            size, root, hashes = await asyncio.to_thread(hash_file, path)
        except OSError as exc:
            raise PeerError(f"{path} cannot be read ({exc.strerror}).", EXIT_FAILED) from exc
        offer = tf.Offer(
            transfer=tbatch.batch_transfer(batch, index),
            name=name,
            size=size,
            type=mimetypes.guess_type(name)[0] or "",
            root=root,
            batch=batch,
            count=len(files),
        )
        out.append(Outgoing(path, offer, hashes))
    return out
