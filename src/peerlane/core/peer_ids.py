"""Peer ids that last across reconnects (sans-I/O): who may take which id.

Each WebSocket connection is a peer with a short random id. The welcome also carries a
*resume token* for that id, ``<peer id>.<signature>``, an HMAC of the room, the
participant and the id under the server's secret. A client that reconnects (its socket
was lost, or the server restarted) proposes the token in its hello; the server gives
it the same peer id again, so the other peers keep their direct links to it
(docs/protocol.md, "Resuming a peer id").

The rule (:func:`resume`):

* A token that is not signed for this room and this participant (someone else's, or
  from another secret) is ignored: the connection gets a fresh id. A participant can
  never take another participant's peer id, even when that id is not in use.
* A signed token whose id is held in the room's presence by another participant (it
  cannot happen unless ids collide) is ignored too.
* A signed token whose id is held by the same participant replaces that entry: it is
  the same tab's connection from before (a server that died, a socket the server has
  not yet seen close). The older connection, wherever it runs, closes without saying
  "left" (:class:`PeerReplaced`), so presence never lists the id twice.

A second tab of the same participant never has the first tab's token (the client keeps
it in memory, not in storage), so it gets its own id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from peerlane.core import protocol as p

_PURPOSE = "peerlane-peer-resume"
SIGNATURE_CHARS = 22  # 128 bits of the HMAC, base64url


def _signature(secret: bytes, room_id: str, participant_id: str, peer_id: str) -> str:
    message = f"{_PURPOSE}\n{room_id}\n{participant_id}\n{peer_id}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_CHARS]


def resume_token(secret: bytes, room_id: str, participant_id: str, peer_id: str) -> str:
    """The token a client shows to get ``peer_id`` again in this room."""
    return f"{peer_id}.{_signature(secret, room_id, participant_id, peer_id)}"


@dataclass(frozen=True, slots=True)
class Resumed:
    """The outcome of a resume: the id to use, and whether a live entry holds it already."""

    peer_id: str
    replaces: bool


def resume(
    token: str | None,
    *,
    secret: bytes,
    room_id: str,
    participant_id: str,
    present: list[p.PeerInfo],
) -> Resumed | None:
    """The peer id ``token`` lets this participant take back, or None (use a fresh id).

    ``present``: the room's presence entries (every instance's) when the connection joins.
    """
    if not token or not secret:
        return None
    peer_id, _, signature = token.rpartition(".")
    if not peer_id:
        return None
    expected = _signature(secret, room_id, participant_id, peer_id)
    if not hmac.compare_digest(expected, signature):
        return None
    holder = next((peer for peer in present if peer.peer_id == peer_id), None)
    if holder is None:
        return Resumed(peer_id, replaces=False)
    if holder.participant_id != participant_id:
        return None
    return Resumed(peer_id, replaces=True)


class PeerReplaced(p.WireModel):
    """Internal bus event: a newer connection took ``peer_id`` back (a resume). Any other
    connection holding that id (``connection`` names the newer one) closes quietly: no
    "left", and it leaves the presence entry to the newer connection."""

    type: Literal["peer_replaced"] = "peer_replaced"
    peer_id: str
    participant_id: str
    connection: str


def choose_direct_peers(self_id: str, peer_ids: Iterable[str], limit: int) -> set[str]:
    """The peers to link with directly, as web/mesh-peers.js chooses them (the same answer
    on both ends): every peer id of the room sorted, the first ``limit + 1`` form a full
    mesh, the rest go through the server."""
    everyone = sorted({self_id, *peer_ids})
    mesh = everyone[: max(0, limit) + 1]
    return {peer for peer in mesh if peer != self_id} if self_id in mesh else set()
