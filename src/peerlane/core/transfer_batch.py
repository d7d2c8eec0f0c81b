"""Batched control messages (docs/file-transfer.md, "Batched control messages"): one chat
message offers, accepts or confirms many files at once, so many small files are not
paced one control message each under the server's per-participant chat limit.

``offers`` carries a batch's files (file ``i`` of batch ``B`` is transfer ``B-i``);
``accepts`` and ``dones`` carry transfer ids. Each is cut into bodies under the server's
body limit and, on the way in, expanded back into the per-file messages (``offer``,
``accept``, ``done``) that both ends already handle: a batched message means exactly
what its per-file messages would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from peerlane.core.transfer_blocks import block_count

BATCH_OPS = ("offers", "accepts", "dones")
DEFAULT_MAX_BODY_BYTES = 16 * 1024  # the server's default (welcome limits.max_body_bytes)
_BATCH_ID = re.compile(r"^[A-Za-z0-9_]{1,40}$")
_TRANSFER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SLACK = 256  # bytes kept free under the limit for the fields besides the list


def batch_transfer(batch: str, index: int) -> str:
    """The transfer id of a batch's file ``index``."""
    return f"{batch}-{index}"


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _chunks(entries: list[Any], head: dict[str, Any], max_bytes: int) -> list[list[Any]]:
    """``entries`` in runs whose list fits in a body with ``head`` under ``max_bytes``."""
    room = max_bytes - _size(head) - _SLACK
    runs: list[list[Any]] = [[]]
    used = 0
    for entry in entries:
        size = _size(entry) + 1
        if runs[-1] and used + size > room:
            runs.append([])
            used = 0
        runs[-1].append(entry)
        used += size
    return runs


def offers_bodies(
    batch: str,
    files: list[tuple[str, int, str, str]],  # name, size, root, type; file i is batch-i
    *,
    keys: list[str] | None = None,  # an encrypted room's file keys F, one per file
    peer: str | None,
    to: str | None = None,
    fast: dict[str, Any] | None = None,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> list[dict[str, Any]]:
    head: dict[str, Any] = {"op": "offers", "batch": batch, "count": len(files), "first": 0}
    head |= {"peer": peer, "to": to} | ({"fast": fast} if fast is not None else {})
    entries: list[list[Any]] = [[n, s, r, t] if t else [n, s, r] for n, s, r, t in files]
    if keys is not None:  # [name, size, root, type, key]: the whole body is sealed
        entries = [[n, s, r, t, k] for (n, s, r, t), k in zip(files, keys, strict=True)]
    bodies, first = [], 0
    for run in _chunks(entries, head, max_bytes):
        bodies.append(head | {"first": first, "files": run})
        first += len(run)
    return bodies


def accepts_bodies(
    haves: list[tuple[str, int]],  # transfer, verified blocks already here
    *,
    fast: dict[str, Any] | None = None,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> list[dict[str, Any]]:
    head: dict[str, Any] = {"op": "accepts"} | ({"fast": fast} if fast is not None else {})
    bodies = []
    # Resumed files are few: their ``have`` rides in a map beside the list of ids.
    for run in _chunks([[t, h] if h else t for t, h in haves], head, max_bytes):
        ids = [e[0] if isinstance(e, list) else e for e in run]
        have = {e[0]: e[1] for e in run if isinstance(e, list)}
        bodies.append(head | {"transfers": ids} | ({"have": have} if have else {}))
    return bodies


def dones_bodies(
    transfers: list[str], max_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> list[dict[str, Any]]:
    head = {"op": "dones"}
    return [head | {"transfers": run} for run in _chunks(transfers, head, max_bytes)]


def expand(body: Any) -> list[dict[str, Any]] | None:
    """The per-file control messages a batched one stands for (``[]`` when it is
    malformed), or ``None`` when ``body`` is not a batched message at all."""
    if not isinstance(body, dict) or body.get("op") not in BATCH_OPS:
        return None
    if body["op"] == "offers":
        return list(_offers(body))
    transfers = body.get("transfers")
    if not isinstance(transfers, list):
        return []
    ids = [t for t in transfers if isinstance(t, str) and _TRANSFER_ID.match(t)]
    if body["op"] == "dones":
        return [{"op": "done", "transfer": t} for t in ids]
    have = body["have"] if isinstance(body.get("have"), dict) else {}
    fast = {"fast": body["fast"]} if "fast" in body else {}
    return [{"op": "accept", "transfer": t, "have": have.get(t, 0)} | fast for t in ids]


def _offers(body: dict[str, Any]) -> Iterable[dict[str, Any]]:
    batch, first, count, files = (body.get(k) for k in ("batch", "first", "count", "files"))
    if not isinstance(batch, str) or not _BATCH_ID.match(batch) or not isinstance(files, list):
        return
    if not isinstance(first, int) or not isinstance(count, int):
        return
    if not _index(first) or not _index(count):
        return
    common = {k: body.get(k) for k in ("peer", "to")} | {"batch": batch, "count": count}
    common |= {"fast": body["fast"]} if "fast" in body else {}
    for at, entry in enumerate(files, start=first):
        if at >= count or not isinstance(entry, list) or len(entry) not in (3, 4, 5):
            continue
        name, size, root, kind, *key = (*entry, "") if len(entry) == 3 else entry
        yield (
            {
                "op": "offer",
                "transfer": batch_transfer(batch, at),
                "name": name,
                "size": size,
                "type": kind,
                "root": root,
                "blocks": block_count(size) if _index(size) else None,
                "bulk": True,
            }
            | common
            | ({"key": key[0]} if key else {})
        )


def _index(value: Any) -> bool:
    """A non-negative integer (a JSON bool is not one here)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
