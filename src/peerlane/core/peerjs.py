"""The PeerJS server protocol (what the ``peerjs`` npm client speaks), without I/O.

A PeerJS client opens ``<path>peerjs?key=&id=&token=`` and exchanges JSON frames
``{"type", "dst", "payload"}``. The server reads only the routing envelope (``type`` and
``dst``), sets ``src`` to the sender's id and forwards the frame; the payload (SDP,
ICE candidates) is never rebuilt. Frame types, as peerjs-server 1.0 uses them:

- server to client: ``OPEN`` (the id is yours), ``ERROR`` (``payload.msg``; the socket
  closes), ``ID-TAKEN`` (another client holds the id with another token);
- client to server: ``HEARTBEAT`` (keeps the connection alive), and the relayed
  ``OFFER``, ``ANSWER``, ``CANDIDATE``, ``LEAVE``, ``EXPIRE``;
- a relayed frame for a peer that is not connected is queued (except ``LEAVE`` and
  ``EXPIRE``) and handed over when that peer connects; a queue older than the expiry
  timeout is dropped and each sender gets one ``EXPIRE`` per (sender, peer) pair.

Forwarding appends ``"src"`` as the frame's last member, so a client that put its own
``src`` in the frame cannot speak for another peer (JSON parsers, the browser's
included, keep the last of duplicate members); a frame that carries ``src`` is rebuilt
instead, so that no parser sees two. Time is passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from peerlane.core import base64url

# peerjs-server's error texts (its ``Errors`` enum): clients show them as they are.
INVALID_KEY = "Invalid key provided"
INVALID_TOKEN = "Invalid token provided"  # noqa: S105 - a message, not a password
INVALID_WS_PARAMETERS = "No id, token, or key supplied to websocket server"
CONNECTION_LIMIT_EXCEED = "Server has reached its concurrent user limit"
# peerlane's own, in the same style.
INVALID_ID = "Invalid id provided"
RATE_LIMITED = "Too many messages: slow down and connect again"
UNAVAILABLE = "Server is unavailable: connect again shortly"

RELAYED = frozenset({"OFFER", "ANSWER", "CANDIDATE", "LEAVE", "EXPIRE"})
NOT_QUEUED = frozenset({"LEAVE", "EXPIRE"})
HEARTBEAT = "HEARTBEAT"
# Ids, tokens and keys longer than this are refused (peerjs ids are UUIDs, 36 chars).
MAX_PARAM_CHARS = 256

OPEN_FRAME = '{"type":"OPEN"}'
ID_TAKEN_FRAME = '{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}'


def error_frame(message: str) -> str:
    return json.dumps({"type": "ERROR", "payload": {"msg": message}})


def expire_frame(src: str, dst: str) -> str:
    """The EXPIRE a sender gets: ``src`` is the peer that never came."""
    return json.dumps({"type": "EXPIRE", "src": src, "dst": dst})


def check_params(key: str, peer_id: str, token: str) -> str | None:
    """The ERROR message for a socket URL missing a parameter or with an oversized or
    unprintable one, else None."""
    if not key or not peer_id or not token:
        return INVALID_WS_PARAMETERS
    for value in (key, peer_id, token):
        if len(value) > MAX_PARAM_CHARS or not value.isprintable():
            return INVALID_ID
    return None


class Kind(Enum):
    RELAY = "relay"  # forward ``text`` to ``dst`` (or queue it)
    HEARTBEAT = "heartbeat"
    LEAVE_SERVER = "leave"  # LEAVE with no dst: the client leaves the server
    IGNORE = "ignore"  # not JSON, not an object, unknown type, no dst: dropped


@dataclass(frozen=True, slots=True)
class Frame:
    kind: Kind
    type: str = ""
    dst: str = ""
    text: str = ""  # the frame to forward, ``src`` set


_IGNORE = Frame(Kind.IGNORE)
_HEARTBEAT = Frame(Kind.HEARTBEAT)
_LEAVE_SERVER = Frame(Kind.LEAVE_SERVER)


def read_frame(text: str | bytes, src_json: str) -> Frame:
    """What a client's frame asks for. ``src_json`` is the sender's id as a JSON string
    (encoded once per connection, not per frame)."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        return _IGNORE
    if not isinstance(message, dict):
        return _IGNORE
    kind = message.get("type")
    if kind == HEARTBEAT:
        return _HEARTBEAT
    if kind not in RELAYED:
        return _IGNORE
    dst = message.get("dst")
    if not isinstance(dst, str) or not dst:
        return _LEAVE_SERVER if kind == "LEAVE" and dst is None else _IGNORE
    if "src" in message:
        message["src"] = json.loads(src_json)
        try:
            rebuilt = json.dumps(message)
        except RecursionError:  # parsed at the limit, too deep to write back
            return _IGNORE
        return Frame(Kind.RELAY, kind, dst, rebuilt)
    if isinstance(text, bytes):
        text = text.decode()
    # A JSON object ends with "}" (after optional whitespace) and has a member (type).
    body = text.rstrip()
    return Frame(Kind.RELAY, kind, dst, f'{body[:-1]},"src":{src_json}}}')


class Claim(Enum):
    """Whether a socket may hold an id."""

    NEW = "new"  # nobody holds it: OPEN
    AGAIN = "again"  # the same token holds it: a reconnect, no second OPEN
    TAKEN = "taken"  # another token holds it: ID-TAKEN
    FULL = "full"  # the concurrent limit is reached: ERROR


def claim(holder_token: str | None, token: str, *, connected: int, limit: int) -> Claim:
    """peerjs-server's rule: a held id is the holder's token's; a new one counts
    against the concurrent limit."""
    if holder_token is not None:
        return Claim.AGAIN if hmac.compare_digest(holder_token, token) else Claim.TAKEN
    if connected >= limit:
        return Claim.FULL
    return Claim.NEW


def is_alive(last_heartbeat: float, now: float, alive_timeout: float) -> bool:
    """A connection that sent no HEARTBEAT for ``alive_timeout`` seconds is dead."""
    return now - last_heartbeat < alive_timeout


@dataclass(slots=True)
class _Queue:
    since: float
    frames: deque[tuple[str, str]] = field(default_factory=deque)  # (src, frame text)


class Queues:
    """Frames waiting for peers that have not connected (yet): at most ``limit`` per
    peer (later ones are dropped: the sender still gets its EXPIRE), and each queue
    expires ``expire_timeout`` seconds after its first frame."""

    def __init__(self, *, limit: int) -> None:
        self._limit = limit
        self._queues: dict[str, _Queue] = {}

    def __len__(self) -> int:
        return len(self._queues)

    def add(self, dst: str, src: str, text: str, now: float) -> bool:
        """Queue ``text`` for ``dst``; False when its queue is full (dropped)."""
        queue = self._queues.get(dst)
        if queue is None:
            queue = self._queues[dst] = _Queue(now)
        if len(queue.frames) >= self._limit:
            return False
        queue.frames.append((src, text))
        return True

    def take(self, dst: str) -> list[str]:
        """The frames waiting for ``dst``, in order; the queue is gone."""
        queue = self._queues.pop(dst, None)
        return [] if queue is None else [text for _, text in queue.frames]

    def expire(self, now: float, expire_timeout: float) -> list[tuple[str, str]]:
        """Drop the queues older than ``expire_timeout``: the (sender, frame) EXPIREs to
        send, one per (sender, peer)."""
        out: list[tuple[str, str]] = []
        for dst in [d for d, q in self._queues.items() if now - q.since >= expire_timeout]:
            out.extend(expire_notices(dst, (src for src, _ in self._queues.pop(dst).frames)))
        return out


def expire_notices(dst: str, senders: Iterable[str]) -> list[tuple[str, str]]:
    """One EXPIRE per distinct sender of the frames that waited for ``dst``."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for src in senders:
        if src not in seen:
            seen.add(src)
            out.append((src, expire_frame(dst, src)))
    return out


# -- the signed token (the optional auth hook) --


def _signature(secret: bytes, key: str, peer_id: str, expires: int) -> str:
    message = f"peerjs|{key}|{peer_id}|{expires}".encode()
    return base64url.encode(hmac.new(secret, message, hashlib.sha256).digest())


def issue_token(secret: bytes, key: str, peer_id: str, *, expires: int) -> str:
    """A token that lets ``peer_id`` connect under ``key`` until ``expires`` (epoch
    seconds): ``<expires>.<base64url HMAC-SHA256(secret, "peerjs|key|id|expires")>``."""
    return f"{expires}.{_signature(secret, key, peer_id, expires)}"


def check_token(secret: bytes, key: str, peer_id: str, token: str, *, now: float) -> bool:
    expires_text, _, signature = token.partition(".")
    if not expires_text.isdecimal() or len(expires_text) > 12:
        return False
    expires = int(expires_text)
    if expires <= now:
        return False
    return hmac.compare_digest(signature, _signature(secret, key, peer_id, expires))
