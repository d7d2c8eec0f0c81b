"""What ``peerlane send`` and ``peerlane receive`` print: the progress bar, the invite
(link, QR code, code), notices on standard error and the summary (docs/cli.md)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peerlane.core.transfer_flow import Offer
    from peerlane.peer.key_follow import KeyChanged


@dataclass
class Meter:
    """The progress bar (rich, on standard error) and the numbers of the summary."""

    label: str
    quiet: bool = False
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    _progress: object | None = None
    _task: object | None = None

    def start(self, total: int, already: int = 0) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        if self._progress is not None:  # more files accepted later: a longer bar
            self._progress.update(self._task, total=total)  # type: ignore[attr-defined]
            self._progress.update(self._task, advance=already)  # type: ignore[attr-defined]
            return
        self.started = time.monotonic()
        if self.quiet:
            return
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task = progress.add_task(self.label, total=total, completed=already)
        self._progress = progress
        progress.start()

    def advance(self, n: int) -> None:
        self.done += n
        if self._progress is not None:
            self._progress.update(self._task, advance=n)  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()  # type: ignore[attr-defined]
            self._progress = None


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


def notice(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def key_notice(what: KeyChanged | str) -> None:
    """A member's changed key (or a failed fetch of the room's keys), on standard error."""
    from peerlane.cli_chat import printable
    from peerlane.peer.key_follow import warning

    print(printable(warning(what)), file=sys.stderr, flush=True)


def show_invite(link: str, code: str, *, encrypted: bool) -> None:
    """The link (the fast way in: the room key rides in its fragment), its QR code, and
    the short code to read aloud (a member online checks its words: a PAKE)."""
    import segno

    out = sys.stdout
    if link:
        segno.make(link, error="l").terminal(out=out, compact=True)
    print(f"Link: {link}", file=out)
    print(f"Code: {code}  (to read aloud; the link is faster)", file=out)
    print(f"On the other side: peerlane receive {code}  (or open the link)", file=out)
    if encrypted:
        print("End-to-end encrypted: the server sees neither the files nor their names.", file=out)
    else:
        print(
            "Not end-to-end encrypted (--no-encrypt): the server can read names and data.", file=out
        )
    out.flush()


def summary(
    verb: str,
    wire_bytes: int,
    started: float,
    paths: set[str],
    offers: Sequence[Offer],
    where: Path | None,
) -> None:
    seconds = max(time.monotonic() - started, 1e-6)
    size = sum(o.size for o in offers)
    how = " and ".join(sorted(paths)) or "nothing (already here)"
    out = sys.stdout
    print(
        f"{verb} {len(offers)} file(s), {size} bytes in {seconds:.1f} s "
        f"({human(size / seconds)}/s) via {how}",
        file=out,
    )
    print(f"bytes on the wire: {wire_bytes}", file=out)
    if where is not None:
        print(f"saved in: {where}", file=out)
    for offer in offers:
        print(f"verified {offer.root}  {offer.name}", file=out)
    out.flush()
