"""A room chat client's state (sans-I/O): the terminal's counterpart of the browser's
ChatRoom + Outbox (web/chat.js, web/chat-outbox.js).

The driver (``peerlane.peer.room_socket``) opens the WebSocket, sends :meth:`ChatClient.hello`,
feeds every server frame to :meth:`ChatClient.received` and writes what comes back:
:class:`Out` frames go to the server, the other outputs are events to show.

What it guarantees, as the browser does:

* every room message is shown once, in seq order: a reconnect says ``last_seq`` and the
  server replays what was missed; a message at or below the last seq shown is dropped;
* own messages keep their client id until acked; after a reconnect (``synced``) every
  unacked one is resent under the same id, oldest first, and the server stores each id
  once (a resend of a stored id only gets its ``ack`` again);
* presence across a reconnect: the new ``welcome``'s peers are compared with the ones
  known, and the difference is reported as joins and leaves;
* in an encrypted room, a message sealed with a key this client does not hold waits
  (and every message after it, so the order stays) while the driver fetches the keys
  wrapped to it (:class:`KeysWanted`, then :meth:`ChatClient.keys_fetched`); a key id
  that a fetch did not bring is shown as the placeholder at once until a ``keys`` frame
  says there may be new wraps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from peerlane.core import protocol as p
from peerlane.core.chat_crypto import RoomCrypto, undecryptable
from peerlane.core.e2e import is_envelope

# Close codes after which the client comes back (with last_seq and its resume token);
# the others end the chat with a sentence (CLOSE_REASONS). None: no close frame at all.
RECONNECT_CODES = frozenset({None, 1000, 1001, 1006, 1011, 1012, 1013, 4409})
CLOSE_REASONS = {
    1007: "The server refused a frame this client sent; please report this bug.",
    1008: "The server closed the connection after too much bad input; try again in a minute.",
    1009: "A message was too large for the server.",
    4400: "The server speaks another protocol version; update peerlane (pipx upgrade peerlane).",
    4401: "Your session in this room has ended; join again with a fresh invite.",
    4403: "The room's owner removed you from the room.",
    4404: "The room was deleted.",
}


@dataclass(frozen=True, slots=True)
class Out:
    """A frame to send to the server."""

    frame: p.Hello | p.Chat


@dataclass(frozen=True, slots=True)
class Connected:
    """The server welcomed this connection (``again``: a reconnect)."""

    welcome: p.Welcome
    again: bool


@dataclass(frozen=True, slots=True)
class Synced:
    latest_seq: int


@dataclass(frozen=True, slots=True)
class Shown:
    """A room message to show (each seq once); in an encrypted room, opened (or the
    placeholder, and ``e2e_error`` says why it could not be opened)."""

    message: p.Message
    own: bool
    e2e_error: str | None = None


@dataclass(frozen=True, slots=True)
class PresenceChange:
    event: str  # "joined" | "left"
    peer: p.PeerInfo


@dataclass(frozen=True, slots=True)
class Acked:
    id: str
    seq: int


@dataclass(frozen=True, slots=True)
class Refused:
    """The server refused something (``ref``: the own message it was about, if any);
    ``retry``: the message stays queued and is sent again later (rate_limited)."""

    code: str
    message: str
    ref: str | None
    retry: bool


@dataclass(frozen=True, slots=True)
class KeysWanted:
    """Fetch the keys wrapped to this member (and look at the members' keys again), then
    call :meth:`ChatClient.keys_fetched`: a ``keys`` frame came (``participant_id``
    published a key or handed keys out), or a message waits for a key not held (None)."""

    participant_id: str | None


@dataclass(frozen=True, slots=True)
class Signalled:
    """WebRTC signaling from another peer of the room (the terminal's transfers use it)."""

    sender: str
    kind: str
    data: Any


Event = Out | Connected | Synced | Shown | PresenceChange | Acked | Refused | KeysWanted | Signalled


@dataclass
class ChatClient:
    last_seq: int | None = None  # None until the first welcome: the server starts at the present
    resume: str | None = None
    participant_id: str | None = None
    peers: dict[str, p.PeerInfo] = field(default_factory=dict)
    pending: dict[str, p.Chat] = field(default_factory=dict)  # insertion order = send order
    synced: bool = False
    connections: int = 0
    # An end-to-end encrypted room's crypto: own bodies go out sealed, bodies and the
    # room's name are shown opened. None: a room without encryption.
    crypto: RoomCrypto | None = None
    held: list[p.Message] = field(default_factory=list)  # waiting for a key, in seq order
    missing: set[str] = field(default_factory=set)  # key ids the last fetch did not bring

    def hello(self) -> p.Hello:
        return p.Hello(v=p.PROTOCOL_VERSION, last_seq=self.last_seq, resume=self.resume)

    def compose(self, client_id: str, body: Any, kind: p.ChatKind = "text") -> list[Event]:
        """A line the user typed (or a file transfer's control message, kind "file"):
        queued until acked; sent now when the socket is synced."""
        if self.crypto is not None:  # sealed once: a resend is the same envelope
            body = self.crypto.seal(client_id, body, kind)
        chat = p.Chat(id=client_id, body=body, kind=kind)
        self.pending[client_id] = chat
        return [Out(chat)] if self.synced else []

    def retry(self, client_id: str) -> list[Event]:
        """Send a refused-for-now message again (the driver's backoff decided when)."""
        chat = self.pending.get(client_id)
        return [Out(chat)] if chat is not None and self.synced else []

    def disconnected(self, close_code: int | None) -> bool:
        """The socket ended; whether to reconnect. A 4409 (this peer id resumed by a newer
        connection) drops the resume token: the next connection is a new peer."""
        self.synced = False
        if close_code == 4409:
            self.resume = None
        return close_code in RECONNECT_CODES

    def received(self, raw: str | bytes) -> list[Event]:
        try:
            data: Any = json.loads(raw)
            kind = data.get("type") if isinstance(data, dict) else None
            handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
            return handler(self, data) if handler else []
        except (ValueError, ValidationError):
            return []  # a frame this version does not understand: ignored, as the browser does

    # --- per type -------------------------------------------------------------------

    def _welcome(self, data: Any) -> list[Event]:
        welcome = p.Welcome.model_validate(data)
        again = self.connections > 0
        self.connections += 1
        self.resume = welcome.resume
        self.participant_id = welcome.participant_id
        if self.crypto is not None:
            welcome = welcome.model_copy(
                update={"room_name": self.crypto.open_name(welcome.room_name)}
            )
        if self.last_seq is None:
            self.last_seq = welcome.latest_seq
        now = {peer.peer_id: peer for peer in welcome.peers}
        events: list[Event] = [Connected(welcome, again)]
        if again:  # what changed while away
            events += [PresenceChange("left", x) for k, x in self.peers.items() if k not in now]
            events += [PresenceChange("joined", x) for k, x in now.items() if k not in self.peers]
        self.peers = now
        return events

    def _synced(self, data: Any) -> list[Event]:
        synced = p.Synced.model_validate(data)
        self.synced = True
        return [Synced(synced.latest_seq), *(Out(chat) for chat in self.pending.values())]

    def _message(self, data: Any) -> list[Event]:
        message = p.Message.model_validate(data)
        if self.last_seq is not None and message.seq <= self.last_seq:
            return []  # already shown (a replay overlapping what arrived live)
        self.last_seq = message.seq
        own = message.sender == self.participant_id
        if own:
            self.pending.pop(message.id, None)
        if self.crypto is None:
            if is_envelope(message.body):  # sealed, and this client holds no key
                return [Shown(undecryptable(message), own, "wrong_key")]
            return [Shown(message, own)]
        kid = self.crypto.missing_kid(message.body)
        if self.held or (kid is not None and kid not in self.missing):
            self.held.append(message)
            return [KeysWanted(None)] if len(self.held) == 1 else []
        return [self._open(message)]

    def _open(self, message: p.Message) -> Shown:
        assert self.crypto is not None
        opened, error = self.crypto.open_message(message)
        return Shown(opened, message.sender == self.participant_id, error)

    def keys_fetched(self) -> list[Event]:
        """The driver fetched the keys wrapped to this member (or tried: the server may
        be unreachable): the messages that waited are shown, opened or as the
        placeholder, and the key ids still not held are not waited for again."""
        held, self.held = self.held, []
        if self.crypto is not None:
            kids = (self.crypto.missing_kid(m.body) for m in held)
            self.missing |= {kid for kid in kids if kid is not None}
        return [self._open(m) for m in held]

    def _keys(self, data: Any) -> list[Event]:
        relay = p.KeysRelay.model_validate(data)
        self.missing.clear()  # there may be new wraps
        return [KeysWanted(relay.participant_id)]

    def _ack(self, data: Any) -> list[Event]:
        ack = p.Ack.model_validate(data)
        if self.pending.pop(ack.id, None) is None:
            return []
        return [Acked(ack.id, ack.seq)]

    def _presence(self, data: Any) -> list[Event]:
        presence = p.Presence.model_validate(data)
        peer = presence.peer
        if presence.event == "joined":
            if peer.peer_id in self.peers:
                return []  # a resumed peer id: the same connection, back
            self.peers[peer.peer_id] = peer
        elif self.peers.pop(peer.peer_id, None) is None:
            return []
        return [PresenceChange(presence.event, peer)]

    def _signal(self, data: Any) -> list[Event]:
        signal = p.SignalRelay.model_validate(data)
        return [Signalled(signal.sender, signal.kind, signal.data)]

    def _error(self, data: Any) -> list[Event]:
        error = p.Error.model_validate(data)
        retry = error.error.code == "rate_limited" and error.ref in self.pending
        if error.ref is not None and not retry:
            self.pending.pop(error.ref, None)  # refused for good: never resent
        return [Refused(error.error.code, error.error.message, error.ref, retry)]


_HANDLERS = {
    "welcome": ChatClient._welcome,
    "synced": ChatClient._synced,
    "message": ChatClient._message,
    "ack": ChatClient._ack,
    "presence": ChatClient._presence,
    "error": ChatClient._error,
    "signal": ChatClient._signal,
    "keys": ChatClient._keys,
}


def close_reason(code: int | None) -> str:
    return CLOSE_REASONS.get(code or 0, f"The server closed the connection (code {code}).")
