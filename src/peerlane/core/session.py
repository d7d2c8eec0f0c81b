"""The per-connection session state machine (sans-I/O).

One :class:`Session` per open WebSocket. The driver feeds it what happens — a frame from
the client, an event from the room's bus, the result of a storage call — and performs
the outputs it returns, in order:

========================  ==================================================================
output                    the driver …
========================  ==================================================================
:class:`Send`             writes ``text`` to this client
:class:`Publish`          publishes ``event`` on the room's bus (every instance, every peer)
:class:`Join`             loads the room snapshot, then calls :meth:`Session.joined`
:class:`PersistChat`      stores the chat, then calls :meth:`Session.chat_stored`
:class:`Replay`           loads messages after ``after``, then calls :meth:`Session.replayed`
:class:`StoreReceipt`     records the participant's read position
:class:`FindStored`       looks up which of ``ids`` this participant has stored in the
                          room, then calls :meth:`Session.stored_found`
:class:`Close`            closes the WebSocket with ``code``
========================  ==================================================================

Transitions (state, input → next state, outputs)::

    AWAITING_HELLO  hello            → JOINING     Join(last_seq, resume)
    JOINING         resumed(peer id) → (same)      Publish(peer_replaced) [the id was live]
    AWAITING_HELLO  other message    → (same)      Send(error hello_required)
    JOINING         joined(snapshot) → REPLAYING   Send(welcome), Publish(presence joined),
                                                   Replay(last_seq)   [client sent last_seq]
                                     → OPEN        Send(welcome), Publish(presence joined),
                                                   Send(synced)       [fresh client]
    REPLAYING       replayed(rows)   → OPEN        Send(message)…, Send(synced), buffered events
    any open state  chat             → (same)      PersistChat         [valid, within limits]
    any open state  chat edit/delete → (same)      Send(error invalid_message) [no ref, or a
                                                   delete with a body]; else PersistChat,
                                                   whose storage call checks the sender owns
                                                   the target (core.edits.check_change)
    any open state  chat_refused     → (same)      Send(error rate_limited) [shared budget spent]
    any open state  chat_stored      → (same)      Send(ack), Publish(message) [new]
                                                   Send(ack)                   [duplicate id]
    any open state  signal           → (same)      Publish(signal to one peer) | Send(error)
    any open state  stored(ids)      → (same)      FindStored(ids, each once)
    any open state  stored_found     → (same)      Send(stored: acks of those found, missing)
    not closed      ping             → (same)      Send(pong)
    any open state  room message     → (same)      Send(message) in seq order; a gap → Replay
    any state       too many errors  → CLOSED      Close(1008)
    any state       peer_replaced    → CLOSED      Close(4409), no "left" [a newer connection
                    (my peer id, another           resumed my peer id: core.peer_ids]
                    connection)
    any state       session_ended    → CLOSED      Send(error participant_removed), Close(4403)
                    (this participant removed)
                    session_ended    → CLOSED      Send(error unauthorized), Close(4401)
                    (this session signed out)

Ordering guarantee: a client receives every room message exactly once, in ``seq``
order, with no gaps. The session remembers the highest seq it has sent; live messages
that arrive during a replay are held back and released after it, duplicates are dropped,
and a gap (possible across bus instances) triggers a replay from the last seq sent.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from peerlane.core import protocol as p
from peerlane.core.peer_ids import PeerReplaced, Resumed
from peerlane.core.ratelimit import TokenBucket
from peerlane.errors import ErrorCode, ProtocolError

Role = Literal["owner", "member"]

# WebSocket close codes (RFC 6455 §7.4.1, and the 4000-4999 private range).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN_LATER = 1013  # too far behind, or too many connections: back off, reconnect
CLOSE_UNAUTHORIZED = 4401
CLOSE_REMOVED = 4403
CLOSE_ROOM_GONE = 4404
CLOSE_REPLACED = 4409  # a newer connection resumed this peer id (the client drops its token)
CLOSE_VERSION = 4400


class State(enum.Enum):
    AWAITING_HELLO = "awaiting_hello"
    JOINING = "joining"
    REPLAYING = "replaying"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is on this connection, taken from a verified token (never from the client)."""

    room_id: str
    participant_id: str
    peer_id: str  # this connection; a participant may have several
    name: str
    role: Role
    session_id: str = ""  # the server-side session the connection was opened with

    def peer_info(self) -> p.PeerInfo:
        return p.PeerInfo(
            peer_id=self.peer_id, participant_id=self.participant_id, name=self.name, role=self.role
        )


@dataclass(frozen=True, slots=True)
class SessionLimits:
    max_message_bytes: int = 64 * 1024
    max_body_bytes: int = 16 * 1024
    messages_per_second: float = 20.0
    message_burst: float = 40.0
    # Protocol errors tolerated before the connection counts as abusive and is closed.
    error_burst: float = 20.0
    errors_per_second: float = 1.0


class RoomDeleted(p.WireModel):
    """Internal bus event: the room is gone; every connection closes."""

    type: Literal["room_deleted"] = "room_deleted"


class SessionEnded(p.WireModel):
    """Internal bus event: a session was signed out (``session_id``), or a participant
    removed from the room (``session_id`` None: all of their sessions). The connections
    it names close at once, on every instance."""

    type: Literal["session_ended"] = "session_ended"
    participant_id: str
    session_id: str | None = None


@dataclass(frozen=True)
class RoomEvent:
    """What travels on a room's bus: one server message, addressed to all or to one peer."""

    room_id: str
    message: p.ServerMessage | RoomDeleted | SessionEnded | PeerReplaced
    to: str | None = None  # a peer id: only that peer gets it
    exclude: str | None = None  # a peer id: everyone but that peer gets it

    @cached_property
    def text(self) -> str:
        """Serialized once per event, however many connections send it."""
        return p.dump(self.message)


@dataclass(frozen=True, slots=True)
class RoomSnapshot:
    """What the driver loads for :meth:`Session.joined`."""

    room_name: str
    latest_seq: int
    peers: list[p.PeerInfo]
    ice_servers: list[p.IceServer]
    read: dict[str, int]
    resume_token: str | None = None  # for the welcome: gives this peer id back next time
    mesh_connect_timeout: float | None = None  # for the welcome (Settings.mesh_connect_timeout)


# --- outputs -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    text: str

    @classmethod
    def of(cls, message: p.ServerMessage) -> Send:
        return cls(p.dump(message))


@dataclass(frozen=True, slots=True)
class Publish:
    event: RoomEvent


@dataclass(frozen=True, slots=True)
class Join:
    last_seq: int | None
    resume: str | None = None  # the client's resume token (core.peer_ids)


@dataclass(frozen=True, slots=True)
class PersistChat:
    chat: p.Chat


@dataclass(frozen=True, slots=True)
class Replay:
    after: int


@dataclass(frozen=True, slots=True)
class StoreReceipt:
    seq: int


@dataclass(frozen=True, slots=True)
class FindStored:
    ids: tuple[str, ...]  # distinct, in the order the client asked


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str


Output = Send | Publish | Join | PersistChat | Replay | StoreReceipt | FindStored | Close


@dataclass(frozen=True, slots=True)
class StoredChat:
    """A chat message as storage returns it (also on a duplicate id)."""

    message: p.Message
    duplicate: bool


# --- the machine ---------------------------------------------------------------------


@dataclass
class Session:
    identity: Identity
    limits: SessionLimits
    now: float
    state: State = State.AWAITING_HELLO
    peers: dict[str, p.PeerInfo] = field(default_factory=dict)
    sent_seq: int | None = None  # highest message seq sent to the client
    announced: bool = False  # the room was told this peer joined
    connection: str = ""  # this connection's own id (peer ids may be resumed by another)
    replaced: bool = False  # a newer connection took this peer id: its presence entry is not ours
    _held: list[RoomEvent] = field(default_factory=list)
    _messages: TokenBucket = field(init=False)
    _errors: TokenBucket = field(init=False)

    def __post_init__(self) -> None:
        lim = self.limits
        self._messages = TokenBucket.full(lim.messages_per_second, lim.message_burst, self.now)
        self._errors = TokenBucket.full(lim.errors_per_second, lim.error_burst, self.now)

    # -- input from the client --

    def receive(self, data: str | bytes, now: float) -> list[Output]:
        """A frame from the client. Bad input gets an ``error``; nothing is stored."""
        if self.state is State.CLOSED:
            return []
        try:
            message = p.parse_client_message(data, max_size=self.limits.max_message_bytes)
        except ProtocolError as exc:
            return self._error(exc.code, exc.message, now)
        if not self._messages.take(now):
            ref = message.id if isinstance(message, p.Chat) else None
            return self._error(ErrorCode.RATE_LIMITED, None, now, ref=ref)
        handler = _HANDLERS[type(message)]
        return handler(self, message, now)

    def spend_outside_frame(self, now: float) -> list[Output] | None:
        """A frame the driver handles itself (a join-by-code ``pake.*`` message) spends
        the same message budget: None when it may go on, else the refusal to send."""
        if self._messages.take(now):
            return None
        return self._error(ErrorCode.RATE_LIMITED, None, now)

    def _hello(self, message: p.Hello, now: float) -> list[Output]:
        if self.state is not State.AWAITING_HELLO:
            return self._error(ErrorCode.INVALID_MESSAGE, "hello was already received.", now)
        if message.v != p.PROTOCOL_VERSION:
            self.state = State.CLOSED
            return [
                Send.of(p.error_message(ErrorCode.UNSUPPORTED_VERSION)),
                Close(CLOSE_VERSION, "unsupported protocol version"),
            ]
        self.state = State.JOINING
        return [Join(message.last_seq, message.resume)]

    def _chat(self, message: p.Chat, now: float) -> list[Output]:
        if (blocked := self._require_open(now, ref=message.id)) is not None:
            return blocked
        if p.body_size(message.body) > self.limits.max_body_bytes:
            return self._error(
                ErrorCode.BODY_TOO_LARGE,
                f"Chat bodies are limited to {self.limits.max_body_bytes} bytes.",
                now,
                ref=message.id,
            )
        if message.kind in p.CHANGE_KINDS and message.ref is None:
            return self._error(
                ErrorCode.INVALID_MESSAGE,
                "An edit or a deletion names the message it changes in ref.",
                now,
                ref=message.id,
            )
        if message.kind == "delete" and message.body is not None:
            return self._error(
                ErrorCode.INVALID_MESSAGE, "A deletion has no body; send null.", now, ref=message.id
            )
        return [PersistChat(message)]

    def _signal(self, message: p.Signal, now: float) -> list[Output]:
        if (blocked := self._require_open(now)) is not None:
            return blocked
        if message.to not in self.peers or message.to == self.identity.peer_id:
            return self._error(ErrorCode.PEER_NOT_FOUND, None, now)
        relay = p.SignalRelay(sender=self.identity.peer_id, kind=message.kind, data=message.data)
        return [Publish(RoomEvent(self.identity.room_id, relay, to=message.to))]

    def _sync(self, message: p.Sync, now: float) -> list[Output]:
        if (blocked := self._require_open(now)) is not None:
            return blocked
        if self.state is State.REPLAYING:
            return []  # a replay is already running; it ends with synced
        self.state = State.REPLAYING
        self.sent_seq = message.after
        return [Replay(message.after)]

    def _typing(self, message: p.Typing, now: float) -> list[Output]:
        if (blocked := self._require_open(now)) is not None:
            return blocked
        ident = self.identity
        relay = p.TypingRelay(peer_id=ident.peer_id, name=ident.name, active=message.active)
        return [Publish(RoomEvent(ident.room_id, relay, exclude=ident.peer_id))]

    def _receipt(self, message: p.Receipt, now: float) -> list[Output]:
        if (blocked := self._require_open(now)) is not None:
            return blocked
        seq = min(message.seq, self.sent_seq or 0)
        relay = p.ReceiptRelay(participant_id=self.identity.participant_id, seq=seq)
        return [StoreReceipt(seq), Publish(RoomEvent(self.identity.room_id, relay))]

    def _ping(self, message: p.Ping, now: float) -> list[Output]:
        return [Send.of(p.Pong(nonce=message.nonce))]

    def _stored(self, message: p.StoredQuery, now: float) -> list[Output]:
        if (blocked := self._require_open(now)) is not None:
            return blocked
        return [FindStored(tuple(dict.fromkeys(message.ids)))]

    # -- results of the driver's work --

    def resumed(self, resumed: Resumed) -> list[Output]:
        """The driver checked the hello's resume token (core.peer_ids.resume): this
        connection takes that peer id back, and one that still holds it closes."""
        if self.state is not State.JOINING:
            return []
        ident = self.identity
        self.identity = Identity(
            room_id=ident.room_id,
            participant_id=ident.participant_id,
            peer_id=resumed.peer_id,
            name=ident.name,
            role=ident.role,
            session_id=ident.session_id,
        )
        if not resumed.replaces:
            return []
        replaced = PeerReplaced(
            peer_id=resumed.peer_id,
            participant_id=ident.participant_id,
            connection=self.connection,
        )
        return [Publish(RoomEvent(ident.room_id, replaced))]

    def joined(self, snapshot: RoomSnapshot, last_seq: int | None) -> list[Output]:
        """The room snapshot is loaded: welcome the client, announce it, catch it up."""
        if self.state is State.CLOSED:
            return []  # closed while the snapshot loaded: announcing now would leave a ghost
        ident = self.identity
        self.peers = {peer.peer_id: peer for peer in snapshot.peers}
        self.peers.pop(ident.peer_id, None)
        welcome = p.Welcome(
            peer_id=ident.peer_id,
            participant_id=ident.participant_id,
            name=ident.name,
            role=ident.role,
            room_id=ident.room_id,
            room_name=snapshot.room_name,
            peers=list(self.peers.values()),
            latest_seq=snapshot.latest_seq,
            ice_servers=snapshot.ice_servers,
            read=snapshot.read,
            resume=snapshot.resume_token,
            mesh_connect_timeout=snapshot.mesh_connect_timeout,
            limits={
                "max_message_bytes": self.limits.max_message_bytes,
                "max_body_bytes": self.limits.max_body_bytes,
            },
        )
        joined = p.Presence(event="joined", peer=ident.peer_info())
        self.announced = True
        out: list[Output] = [
            Send.of(welcome),
            Publish(RoomEvent(ident.room_id, joined, exclude=ident.peer_id)),
        ]
        if last_seq is None or last_seq >= snapshot.latest_seq:
            # A fresh client starts at the present; it pages history over HTTP. A last_seq
            # beyond the room's latest is stale: trust the room, or later messages are lost.
            self.sent_seq = snapshot.latest_seq
            self.state = State.OPEN
            out.append(Send.of(p.Synced(latest_seq=self.sent_seq)))
            return out + self._release_held()
        self.sent_seq = last_seq
        self.state = State.REPLAYING
        out.append(Replay(last_seq))
        return out

    def replayed(self, messages: list[p.Message], complete: bool) -> list[Output]:
        """A page of stored messages after the last one sent; ``complete`` on the last page."""
        if self.state is State.CLOSED:
            return []
        out: list[Output] = [Send.of(m) for m in self._accept(messages)]
        if not complete:
            assert self.sent_seq is not None
            return [*out, Replay(self.sent_seq)]
        self.state = State.OPEN
        out.append(Send.of(p.Synced(latest_seq=self.sent_seq or 0)))
        return out + self._release_held()

    def chat_stored(self, stored: StoredChat) -> list[Output]:
        msg = stored.message
        ack = Send.of(p.Ack(id=msg.id, seq=msg.seq, ts=msg.ts))
        if stored.duplicate:
            return [ack]  # the original was published when it was first stored
        return [ack, Publish(RoomEvent(self.identity.room_id, msg))]

    def stored_found(self, asked: tuple[str, ...], found: list[p.Ack]) -> list[Output]:
        """Of the ids ``asked``, storage has ``found`` (this participant's, this room's)."""
        if self.state is State.CLOSED:
            return []
        by_id = {ack.id: ack for ack in found}
        answer = p.StoredAnswer(
            acks=[by_id[i] for i in asked if i in by_id],
            missing=[i for i in asked if i not in by_id],
        )
        return [Send.of(answer)]

    def chat_failed(
        self, chat_id: str, code: ErrorCode, message: str | None = None
    ) -> list[Output]:
        """Storing the chat failed (the room is gone, or an edit or delete was refused)."""
        return [Send.of(p.error_message(code, message, ref=chat_id))]

    def chat_refused(self, chat_id: str, now: float) -> list[Output]:
        """The participant's or its address's shared budget (kept on the bus, so that
        reconnecting does not refill it) refused the chat: the same ``rate_limited``
        error as this connection's own bucket, counted the same towards closing it."""
        if self.state is State.CLOSED:
            return []
        return self._error(ErrorCode.RATE_LIMITED, None, now, ref=chat_id)

    # -- input from the room --

    def room_event(self, event: RoomEvent) -> list[Output]:
        """An event from the room's bus, possibly not meant for this connection."""
        me = self.identity.peer_id
        if self.state is State.CLOSED:
            return []
        if isinstance(event.message, SessionEnded):
            # Before hello too: an ended session must not keep a socket it opened.
            return self._session_ended(event.message)
        if isinstance(event.message, PeerReplaced):
            return self._peer_replaced(event.message)
        if self.state is State.AWAITING_HELLO:
            return []
        if (event.to is not None and event.to != me) or event.exclude == me:
            return []
        msg = event.message
        if isinstance(msg, RoomDeleted):
            self.state = State.CLOSED
            return [
                Send.of(p.error_message(ErrorCode.ROOM_NOT_FOUND, "The room was deleted.")),
                Close(CLOSE_ROOM_GONE, "room deleted"),
            ]
        if self.state is not State.OPEN:
            self._held.append(event)  # released in seq order once the client is caught up
            return []
        if isinstance(msg, p.Presence):
            return self._presence(msg, event)
        if isinstance(msg, p.Message):
            return self._live_message(msg, event)
        return [Send(event.text)]

    def _session_ended(self, ended: SessionEnded) -> list[Output]:
        ident = self.identity
        if ended.participant_id != ident.participant_id:
            return []
        if ended.session_id is None:
            self.state = State.CLOSED
            return [
                Send.of(p.error_message(ErrorCode.PARTICIPANT_REMOVED)),
                Close(CLOSE_REMOVED, "removed from the room"),
            ]
        if ended.session_id != ident.session_id:
            return []  # another browser of the same participant signed out
        self.state = State.CLOSED
        return [
            Send.of(p.error_message(ErrorCode.UNAUTHORIZED, "You signed out of this room.")),
            Close(CLOSE_UNAUTHORIZED, "signed out"),
        ]

    def _peer_replaced(self, replaced: PeerReplaced) -> list[Output]:
        ident = self.identity
        if replaced.peer_id != ident.peer_id or replaced.connection == self.connection:
            return []
        if replaced.participant_id != ident.participant_id:
            return []  # never: the resume rule gives no one another participant's id
        # Quietly: the peer is still here, on the newer connection.
        self.state = State.CLOSED
        self.announced = False
        self.replaced = True
        return [Close(CLOSE_REPLACED, "replaced by a newer connection")]

    def _presence(self, msg: p.Presence, event: RoomEvent) -> list[Output]:
        if msg.event == "joined":
            self.peers[msg.peer.peer_id] = msg.peer
        else:
            self.peers.pop(msg.peer.peer_id, None)
        return [Send(event.text)]

    def _live_message(self, msg: p.Message, event: RoomEvent) -> list[Output]:
        assert self.sent_seq is not None
        if msg.seq <= self.sent_seq:
            return []  # already sent (a replay overlapped with the live stream)
        if msg.seq > self.sent_seq + 1:
            # A gap: an earlier message is still on its way. Fetch from storage, which
            # has it (messages are stored before they are published).
            self.state = State.REPLAYING
            return [Replay(self.sent_seq)]
        self.sent_seq = msg.seq
        return [Send(event.text)]

    def _accept(self, messages: list[p.Message]) -> list[p.Message]:
        fresh = []
        for m in sorted(messages, key=lambda m: m.seq):
            if self.sent_seq is None or m.seq > self.sent_seq:
                self.sent_seq = m.seq
                fresh.append(m)
        return fresh

    def _release_held(self) -> list[Output]:
        held, self._held = self._held, []
        out: list[Output] = []
        for event in held:
            out.extend(self.room_event(event))
        return out

    # -- helpers --

    def _require_open(self, now: float, ref: str | None = None) -> list[Output] | None:
        if self.state is State.AWAITING_HELLO:
            return self._error(ErrorCode.HELLO_REQUIRED, None, now, ref=ref)
        return None

    def _error(
        self, code: ErrorCode, message: str | None, now: float, ref: str | None = None
    ) -> list[Output]:
        if not self._errors.take(now):
            self.state = State.CLOSED
            return [Close(CLOSE_POLICY, "too many invalid messages")]
        return [Send.of(p.error_message(code, message, ref=ref))]

    def closed(self, *, going_away: bool = False) -> list[Output]:
        """The connection ended: tell the room this peer left (if it had joined).

        ``going_away``: the server is shutting down (close code 1001). The client comes
        back, to this server restarted or to another instance, with its resume token and
        the same peer id: saying "left" would make the others tear down the direct links
        that carry the chat meanwhile. A client that does not come back is noticed by its
        peers when its links close."""
        self.state = State.CLOSED
        if not self.announced or going_away:
            return []
        self.announced = False
        left = p.Presence(event="left", peer=self.identity.peer_info())
        return [Publish(RoomEvent(self.identity.room_id, left, exclude=self.identity.peer_id))]


_Handler = Callable[[Session, Any, float], list[Output]]
_HANDLERS: dict[type[p.WireModel], _Handler] = {
    p.Hello: Session._hello,
    p.Chat: Session._chat,
    p.Signal: Session._signal,
    p.Sync: Session._sync,
    p.Typing: Session._typing,
    p.Receipt: Session._receipt,
    p.Ping: Session._ping,
    p.StoredQuery: Session._stored,
}
