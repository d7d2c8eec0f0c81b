"""A terminal transfer's life, sans-I/O: its states as tables, the control messages of
docs/file-transfer.md ("Control messages") as the terminal sends and reads them, and the
resume state kept next to a partial file.

The browser's engine (web/transfer-machine.js) has more states (reloads, a page that lost
its File, offers to everyone with many receivers); the terminal's transfers are one run
of one command, so their tables are the subset that run can meet. An event a state's row
does not list is refused (a late frame, a second cancel) and changes nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from peerlane.core.e2e import E2EError
from peerlane.core.e2e_file import FileKey
from peerlane.core.fast_path import Candidates, parse_candidates
from peerlane.core.integrity import is_root
from peerlane.core.transfer_blocks import block_count

_FAIL = {"cancel": "cancelled", "peer-cancel": "cancelled", "fail": "failed"}
INCOMING: dict[str, dict[str, str]] = {
    "offered": {"accept": "waiting", "decline": "declined", **_FAIL},
    "waiting": {"bytes-flowing": "receiving", "channel-closed": "waiting", "verified": "done"}
    | _FAIL,
    "receiving": {"bytes-flowing": "receiving", "channel-closed": "waiting", "verified": "done"}
    | _FAIL,
}
OUTGOING: dict[str, dict[str, str]] = {
    "offered": {"receiver-accept": "sending", "receiver-declined": "declined", **_FAIL},
    "sending": {
        "receiver-accept": "sending",  # again: a receiver that resumes
        "receiver-lost": "sending",
        "uploaded": "sending",
        "receiver-done": "done",
        "receiver-declined": "declined",
    }
    | _FAIL,
}
FINAL = frozenset({"done", "declined", "cancelled", "failed"})

_TRANSFER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_TYPE_CHARS = 255


def next_state(table: dict[str, dict[str, str]], state: str, event: str) -> str | None:
    """The state after ``event``, or ``None``: refused (the row does not list it)."""
    return table.get(state, {}).get(event)


@dataclass
class Flow:
    """One transfer's state, moved only by :meth:`step`."""

    table: dict[str, dict[str, str]]
    state: str = "offered"

    def step(self, event: str) -> bool:
        after = next_state(self.table, self.state, event)
        if after is None:
            return False
        self.state = after
        return True

    @property
    def over(self) -> bool:
        return self.state in FINAL


@dataclass(frozen=True, slots=True)
class Offer:
    """An ``offer`` control message (docs/file-transfer.md). ``batch`` and ``count`` are
    the terminal's additions (browsers ignore them): the offers of one ``peerlane send``
    share a batch, so a receiver knows when it has seen them all."""

    transfer: str
    name: str
    size: int
    type: str
    root: str
    to: str | None = None
    peer: str | None = None
    batch: str | None = None
    count: int | None = None
    fast: Candidates | None = None  # the sender's direct-TCP listener (core/fast_path.py)
    bulk: bool = False  # its sender takes batched accepts and dones (core/transfer_batch.py)
    key: str | None = None  # an encrypted room's file key F (the offer is a sealed body)

    @property
    def blocks(self) -> int:
        return block_count(self.size)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "op": "offer",
            "transfer": self.transfer,
            "name": self.name,
            "size": self.size,
            "type": self.type,
            "root": self.root,
            "blocks": self.blocks,
            "to": self.to,
            "peer": self.peer,
        }
        if self.batch is not None:
            body |= {"batch": self.batch, "count": self.count}
        if self.fast is not None:
            body["fast"] = self.fast.body()
        return body


def _count(value: Any) -> int | None:
    """A non-negative integer, or ``None`` (a JSON bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def transfer_id(body: Any) -> str | None:
    """The ``transfer`` of a control message, when it is one (any op)."""
    if not isinstance(body, dict):
        return None
    transfer = body.get("transfer")
    return transfer if isinstance(transfer, str) and _TRANSFER_ID.match(transfer) else None


def parse_offer(body: Any, me: str) -> Offer | None:
    """An offer for ``me`` (or everyone) that adds up, as the browser checks it
    (web/transfer-records.js, incomingRecord); else ``None``."""
    transfer = transfer_id(body)
    if transfer is None or body.get("op") != "offer":
        return None
    size, root, to = _count(body.get("size")), body.get("root"), body.get("to")
    if size is None or not isinstance(root, str) or not is_root(root):
        return None
    if body.get("blocks") != block_count(size) or (to is not None and to != me):
        return None
    key = body.get("key")
    if key is not None and not _file_key(key):  # a key that opens nothing: no transfer
        return None
    name, kind, peer = body.get("name"), body.get("type"), body.get("peer")
    batch, count = body.get("batch"), _count(body.get("count"))
    return Offer(
        transfer=transfer,
        name=name if isinstance(name, str) else "",
        size=size,
        type=kind[:MAX_TYPE_CHARS] if isinstance(kind, str) else "",
        root=root,
        to=to,
        peer=peer if isinstance(peer, str) else None,
        batch=batch if isinstance(batch, str) and count else None,
        count=count if isinstance(batch, str) and count else None,
        fast=parse_candidates(body.get("fast")),
        bulk=body.get("bulk") is True,
        key=key,
    )


def _file_key(text: Any) -> bool:
    """An encrypted room's file key ``F`` in its one spelling (43 base64url characters)."""
    try:
        return isinstance(text, str) and FileKey.decode(text).encoded() == text
    except E2EError:
        return False


def accepted_have(body: Any, blocks: int) -> int:
    """An ``accept``'s ``have`` (verified blocks, for resume), within the file."""
    have = _count(body.get("have")) if isinstance(body, dict) else None
    return min(have or 0, blocks)


def control_body(op: str, transfer: str, **fields: Any) -> dict[str, Any]:
    return {"op": op, "transfer": transfer, **fields}


# --- resume state ------------------------------------------------------------------------


@dataclass
class Partial:
    """What a partial file holds, saved beside it: the file it is part of (root and size),
    the block hash list once known, the blocks written, and the hashes of blocks taken
    from a download before the hash list was known (checked by the root at the end)."""

    root: str
    size: int
    hashes: list[str] = field(default_factory=list)
    verified: set[int] = field(default_factory=set)
    unlisted: dict[int, str] = field(default_factory=dict)

    def encode(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "root": self.root,
                "size": self.size,
                "hashes": self.hashes,
                "verified": _ranges(sorted(self.verified)),
                "unlisted": {str(k): v for k, v in sorted(self.unlisted.items())},
            },
            separators=(",", ":"),
        )


def _ranges(numbers: list[int]) -> list[list[int]]:
    """Sorted numbers as ``[first, last]`` runs (a file's blocks are mostly one run)."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return runs


def decode_partial(text: str, root: str, size: int) -> Partial | None:
    """The saved state when it belongs to this file and reads back whole; else ``None``
    (the partial data is then started over: nothing in it can be trusted)."""
    try:
        data = json.loads(text)
        if data.get("v") != 1 or data.get("root") != root or data.get("size") != size:
            return None
        blocks = block_count(size)
        hashes = [str(h) for h in data["hashes"]]
        verified = {n for a, b in data["verified"] for n in range(int(a), int(b) + 1)}
        unlisted = {int(k): str(v) for k, v in data["unlisted"].items()}
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if hashes and len(hashes) != blocks:
        return None
    if any(not 0 <= n < blocks for n in verified | set(unlisted)):
        return None
    return Partial(root, size, hashes, verified, unlisted)
