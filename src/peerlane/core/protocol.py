"""The WebSocket wire protocol: one Pydantic model per message, one union per direction.

Every message is a JSON object with a ``type`` field. ``docs/protocol.md`` documents each
message and the join → signaling → chat → reconnect sequence; ``web/protocol.js`` mirrors
the vocabulary for the browser, and a test keeps the two in agreement.

Chat bodies are opaque: any JSON value (binary payloads such as ciphertext travel as a
base64 string). The server measures and stores them, and never interprets them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter, ValidationError

from peerlane.errors import ErrorCode, ProtocolError

PROTOCOL_VERSION = 1
# Nesting of a whole frame (objects and arrays). Pydantic validates a little deeper than it
# can serialize (about 254), so a deeper body would be stored but could never be sent.
MAX_DEPTH = 64

# Client-generated ids (chat message ids): short, URL-safe, unique per sender and room.
ClientId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
PeerId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# A resume token from an earlier welcome: "<peer id>.<22-character signature>" (core.peer_ids).
ResumeToken = Annotated[
    str, Field(min_length=24, max_length=87, pattern=r"^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{22}$")
]
# The largest seq a client may name: within JSON's exact integers (2**53, what a browser's
# Number holds) and so within the database's signed 64-bit columns.
MAX_SEQ = 2**53
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ)]
# Client ids one ``stored`` question may name: a frame stays small (at most ~7 KB of ids)
# and the answer is one indexed lookup. A client with more unacked messages asks in parts.
MAX_STORED_IDS = 100


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- client → server ----------------------------------------------------------------


class Hello(WireModel):
    """First message on a connection: protocol version, the last seq the client holds,
    and the resume token of its previous connection (to keep its peer id)."""

    type: Literal["hello"] = "hello"
    v: int = Field(ge=1, le=1000)
    last_seq: Seq | None = None
    resume: ResumeToken | None = None


# What a chat message is. "edit" and "delete" change an earlier message of the sender's
# own (named by ``ref``); they are stored, acked and replayed like any other message, so a
# change made offline reconciles exactly as a message written offline does.
ChatKind = Literal["text", "reaction", "file", "edit", "delete"]
CHANGE_KINDS = frozenset({"edit", "delete"})


class Chat(WireModel):
    """A chat message. ``id`` is the client's; resending the same id is idempotent.

    ``ref`` is the seq of the message this one refers to: the message replied to (kind
    "text"), reacted to ("reaction"), edited ("edit", ``body`` is the new body) or deleted
    ("delete", ``body`` must be null)."""

    type: Literal["chat"] = "chat"
    id: ClientId
    body: JsonValue
    kind: ChatKind = "text"
    ref: Seq | None = None


class Signal(WireModel):
    """WebRTC signaling for one named peer of the same room; relayed, never read."""

    type: Literal["signal"] = "signal"
    to: PeerId
    kind: Literal["offer", "answer", "candidate", "bye"]
    data: JsonValue = None


class Sync(WireModel):
    """Ask for every message after ``after`` (a reconnect that did not re-hello)."""

    type: Literal["sync"] = "sync"
    after: Seq


class Typing(WireModel):
    type: Literal["typing"] = "typing"
    active: bool


class Receipt(WireModel):
    """The sender has read every message up to and including ``seq``."""

    type: Literal["receipt"] = "receipt"
    seq: Seq


class Ping(WireModel):
    type: Literal["ping"] = "ping"
    nonce: Annotated[str, Field(max_length=64)] | None = None


class StoredQuery(WireModel):
    """Which of these of my chat ids has the room stored? (After a reconnect, so the
    client resends exactly the messages whose ack it never got and the server lacks.)"""

    type: Literal["stored"] = "stored"
    ids: list[ClientId] = Field(min_length=1, max_length=MAX_STORED_IDS)


ClientMessage = Annotated[
    Hello | Chat | Signal | Sync | Typing | Receipt | Ping | StoredQuery,
    Field(discriminator="type"),
]
CLIENT_TYPES = frozenset({"hello", "chat", "signal", "sync", "typing", "receipt", "ping", "stored"})
_client_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


# --- server → client ----------------------------------------------------------------


class PeerInfo(WireModel):
    peer_id: str
    participant_id: str
    name: str
    role: Literal["owner", "member"]


class IceServer(WireModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class Welcome(WireModel):
    type: Literal["welcome"] = "welcome"
    v: int = PROTOCOL_VERSION
    peer_id: str
    participant_id: str
    name: str
    role: Literal["owner", "member"]
    room_id: str
    room_name: str
    peers: list[PeerInfo]
    latest_seq: int
    ice_servers: list[IceServer]
    read: dict[str, int] = Field(default_factory=dict)  # participant id → last read seq
    limits: dict[str, int] = Field(default_factory=dict)
    resume: str | None = None  # shown in the next hello, it gives this peer id back
    # Seconds a direct link gets to connect before chat and files use the server (the
    # operator's setting); absent from an older server, the client keeps its own 15 s.
    mesh_connect_timeout: float | None = Field(None, gt=0)


class Presence(WireModel):
    type: Literal["presence"] = "presence"
    event: Literal["joined", "left"]
    peer: PeerInfo


class Message(WireModel):
    """A persisted chat message as everyone sees it, in ``seq`` order."""

    type: Literal["message"] = "message"
    seq: int
    id: str
    sender: str  # participant id
    sender_name: str
    ts: float  # server time, seconds since the epoch
    kind: ChatKind = "text"
    ref: int | None = None
    body: JsonValue  # null once the message is deleted
    edited_at: float | None = None  # server time of the latest edit, if edited
    deleted_at: float | None = None  # server time of the deletion, if deleted


class Ack(WireModel):
    type: Literal["ack"] = "ack"
    id: str
    seq: int
    ts: float


class Synced(WireModel):
    """Replay is complete: the client now holds every message up to ``latest_seq``."""

    type: Literal["synced"] = "synced"
    latest_seq: int


class SignalRelay(WireModel):
    type: Literal["signal"] = "signal"
    sender: str  # peer id
    kind: Literal["offer", "answer", "candidate", "bye"]
    data: JsonValue = None


class TypingRelay(WireModel):
    type: Literal["typing"] = "typing"
    peer_id: str
    name: str
    active: bool


class ReceiptRelay(WireModel):
    type: Literal["receipt"] = "receipt"
    participant_id: str
    seq: int


class KeysRelay(WireModel):
    """A member published its identity key or handed out room keys (a rotation to
    ``epoch``): clients look at the participant list and their wraps again."""

    type: Literal["keys"] = "keys"
    participant_id: str
    epoch: int


class Pong(WireModel):
    type: Literal["pong"] = "pong"
    nonce: str | None = None


class StoredAnswer(WireModel):
    """The answer to a ``stored`` question: the ids the room has (each as the ``ack`` it
    got when stored) and the ones it does not, in the order asked."""

    type: Literal["stored"] = "stored"
    acks: list[Ack]
    missing: list[str]


class ErrorDetail(WireModel):
    code: str
    message: str


class Error(WireModel):
    type: Literal["error"] = "error"
    error: ErrorDetail
    ref: str | None = None  # the client id of the message that caused it, if any


ServerMessage = (
    Welcome
    | Presence
    | Message
    | Ack
    | Synced
    | SignalRelay
    | TypingRelay
    | ReceiptRelay
    | KeysRelay
    | Pong
    | StoredAnswer
    | Error
)
SERVER_TYPES = frozenset(
    {"welcome", "presence", "message", "ack", "synced", "signal", "typing", "receipt", "pong"}
    | {"stored", "error", "keys"}
)


def error_message(code: ErrorCode, message: str | None = None, ref: str | None = None) -> Error:
    from peerlane.errors import DEFAULT_MESSAGE

    return Error(
        error=ErrorDetail(code=code.value, message=message or DEFAULT_MESSAGE[code]), ref=ref
    )


def parse_client_message(data: str | bytes, *, max_size: int) -> ClientMessage:
    """Parse one client frame; every failure is a :class:`ProtocolError` with a code.

    Never raises anything else, whatever the input (a property test feeds it arbitrary
    bytes). Order matters: size first, so a huge frame costs no parsing.
    """
    if len(data) > max_size or (
        isinstance(data, str) and len(data.encode("utf-8", "surrogatepass")) > max_size
    ):  # the limit is in UTF-8 bytes, also for text frames; len() first, so it stays cheap
        raise ProtocolError(
            ErrorCode.MESSAGE_TOO_LARGE, f"Messages are limited to {max_size} bytes."
        )
    try:
        raw: Any = json.loads(data)
        # Python's parser accepts NaN, Infinity (also 1e999) and lone surrogates ("\ud800"),
        # none of which can be stored or sent on as UTF-8 JSON: reject them here.
        json.dumps(raw, ensure_ascii=False, allow_nan=False).encode()
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ProtocolError(ErrorCode.INVALID_JSON) from exc
    if not isinstance(raw, dict):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "A message must be a JSON object.")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in CLIENT_TYPES:
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE,
            f"Unknown message type; expected one of: {', '.join(sorted(CLIENT_TYPES))}.",
        )
    if _deeper_than(raw, MAX_DEPTH):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "The message is nested too deeply.")
    try:
        return _client_adapter.validate_python(raw)
    except ValidationError as exc:
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, _describe(exc)) from exc
    # Unreachable while _deeper_than caps nesting at MAX_DEPTH (64), far below any
    # recursion limit; kept so a raised MAX_DEPTH can never turn into a 5xx.
    except RecursionError as exc:  # pragma: no cover
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "The message is nested too deeply.") from exc


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` levels (breadth-first, no recursion)."""
    level = [value]
    for _ in range(limit):
        level = [
            child
            for v in level
            if isinstance(v, dict | list)
            for child in (v.values() if isinstance(v, dict) else v)
        ]
        if not level:  # no container left: a chat frame stops after two or three levels
            return False
    return any(isinstance(v, dict | list) for v in level)


def _describe(exc: ValidationError) -> str:
    """A short, safe description of what was wrong: field paths and pydantic's reasons."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:3]:
        where = ".".join(str(p) for p in err["loc"][1:]) or "message"
        parts.append(f"{where}: {err['msg']}")
    return "Invalid message: " + "; ".join(parts)


def body_size(body: JsonValue) -> int:
    """Size of an opaque body as it is stored: compact JSON, UTF-8."""
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())


def dump(message: BaseModel) -> str:
    return message.model_dump_json()
