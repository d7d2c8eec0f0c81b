"""A room session for file transfers, the part ``send`` and ``receive`` share: the room
WebSocket (control messages of kind "file", signaling), the direct links, and handing
each to the side that runs the transfers (:class:`Side`: peer/file_send.py or
peer/file_receive.py). The transport for the bytes is the side's choice: a link's data
channel or the server (tus); another transport can be added beside them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, Protocol

from aiortc import RTCDataChannel

from peerlane.core import chat_client as cc
from peerlane.core import protocol as p
from peerlane.core import transfer_batch as tb
from peerlane.core.chat_crypto import RoomCrypto
from peerlane.core.ratelimit import TokenBucket
from peerlane.peer.http_api import Membership
from peerlane.peer.room_socket import RoomChat
from peerlane.peer.rtc_links import Links

ACK_WAIT_S = 5.0  # at the end, how long to wait for the server's next ack
# Control messages are chat messages, under the server's per-participant limit (10 a
# second, bursts of 40, by default; going over gets refusals and, repeated, a closed
# socket): the terminal stays under it by its own bucket.
CONTROL_RATE = 8.0
CONTROL_BURST = 20.0


def p2p_words(path: str) -> str:
    """The summary's words for a link's path (Links.path_of): "peer to peer (direct)"."""
    return f"peer to peer ({path})" if path else "peer to peer"


class Side(Protocol):
    def on_synced(self) -> None: ...
    def on_file_message(self, message: p.Message) -> None: ...
    def on_channel(self, peer_id: str, channel: RTCDataChannel) -> None: ...
    def on_links_changed(self) -> None: ...
    def cancel_unfinished(self) -> None: ...


class TransferRoom:
    def __init__(
        self, member: Membership, *, from_start: bool, crypto: RoomCrypto | None = None
    ) -> None:
        self.member = member
        self.encrypted = crypto is not None  # control bodies sealed, offers carry keys
        # The receiver reads the room from its start: offers made before it joined count.
        client = cc.ChatClient(last_seq=0 if from_start else None, crypto=crypto)
        self.chat = RoomChat(member, self._show, client)
        self.links = Links(self.chat.signal, self._channel, lambda _peer: self._links_changed())
        self.side: Side | None = None
        self.welcome: p.Welcome | None = None
        self.peers: dict[str, p.PeerInfo] = {}
        loop = asyncio.get_running_loop()
        self.finished: asyncio.Future[None] = loop.create_future()
        self._controls: list[dict[str, Any]] = []
        # accepts and dones waiting for the pacer, merged into batched messages: as many
        # as came while it waited (op, fast fields as JSON) -> (transfer, have)
        self._bulk: dict[tuple[str, str], list[tuple[str, int]]] = {}
        self._pace_soon: asyncio.Handle | None = None
        self._bucket = TokenBucket.full(CONTROL_RATE, CONTROL_BURST, loop.time())
        self._pacer: asyncio.TimerHandle | None = None
        self._heard = asyncio.Event()  # the server said something (an ack, a message)

    @property
    def participant_id(self) -> str:
        return self.member.participant_id

    @property
    def peer_id(self) -> str | None:
        return self.welcome.peer_id if self.welcome else None

    def name_of(self, participant: str) -> str:
        for peer in self.peers.values():
            if peer.participant_id == participant:
                return peer.name
        return "someone"

    def peers_of(self, participant: str) -> list[str]:
        return [k for k, v in self.peers.items() if v.participant_id == participant]

    def direct_possible(self, participant: str) -> bool:
        """Whether a direct link to one of the participant's peers is wanted (else there
        is no point waiting for one)."""
        return any(self.links.chosen(peer) for peer in self.peers_of(participant))

    @property
    def max_body_bytes(self) -> int:
        limits = self.welcome.limits if self.welcome else {}
        return int(limits.get("max_body_bytes", tb.DEFAULT_MAX_BODY_BYTES))

    def send_control(self, body: dict[str, Any]) -> None:
        self._flush_bulk()  # what was said before goes first
        self._controls.append(body)
        self._pace()

    def send_bulk(self, op: str, transfer: str, have: int = 0, **fast: Any) -> None:
        """An ``accept`` or ``done`` merged with the others the pacer holds back meanwhile
        (for a sender that takes batched ones: core/transfer_batch.py)."""
        self._bulk.setdefault((op, json.dumps(fast)), []).append((transfer, have))
        if self._pace_soon is None:  # after what this turn of the loop adds
            self._pace_soon = asyncio.get_running_loop().call_soon(self._pace)

    def _flush_bulk(self) -> None:
        limit = self.max_body_bytes
        for (op, fast), entries in self._bulk.items():
            if op == "done":
                self._controls += tb.dones_bodies([t for t, _ in entries], limit)
            else:
                extra = json.loads(fast).get("fast")
                self._controls += tb.accepts_bodies(entries, fast=extra, max_bytes=limit)
        self._bulk.clear()

    def _pace(self) -> None:
        self._pacer = self._pace_soon = None
        loop = asyncio.get_running_loop()
        while self._controls or self._bulk:
            if not self._bucket.take(loop.time()):
                break
            if not self._controls:
                self._flush_bulk()  # all that waited, in as few messages as fit
            self.chat.send_body(self._controls.pop(0), "file")
        if (self._controls or self._bulk) and self._pacer is None:
            self._pacer = loop.call_later(self._bucket.retry_after(), self._pace)

    def finish(self, error: BaseException | None = None) -> None:
        if not self.finished.done():
            if error is None:
                self.finished.set_result(None)
            else:
                self.finished.set_exception(error)

    async def run(self, side: Side) -> None:
        """Until the side calls :meth:`finish` (or the connection fails for good)."""
        self.side = side
        chat = asyncio.create_task(self.chat.run(None))
        try:
            done, _ = await asyncio.wait({chat, self.finished}, return_when=asyncio.FIRST_COMPLETED)
            if chat in done:
                chat.result()  # its PeerError
            self.finished.result()
        except asyncio.CancelledError:  # Ctrl-C: tell the peer before leaving
            side.cancel_unfinished()
            raise
        finally:
            await self.settle()
            chat.cancel()
            with contextlib.suppress(BaseException):
                await chat
            await self.links.close()

    async def settle(self) -> None:
        """Wait until every control message is sent and stored: a done or a cancel said
        just before leaving must reach the peer. Gives up when the server says nothing
        for ACK_WAIT_S (the paced queue itself may take longer: each ack restarts it)."""
        while (
            self._controls or self._bulk or self.chat.client.pending
        ) and self.chat.ws is not None:
            self._heard.clear()
            try:
                await asyncio.wait_for(self._heard.wait(), ACK_WAIT_S)
            except TimeoutError:
                return

    # --- the room's events -----------------------------------------------------------

    def _show(self, event: cc.Event) -> None:
        self._heard.set()
        side = self.side
        if side is None:
            return  # not running (events come only while run() runs)
        if isinstance(event, cc.Connected):
            self.welcome = event.welcome
            self.peers = {peer.peer_id: peer for peer in event.welcome.peers}
            self.links.welcome(
                event.welcome.peer_id,
                list(self.peers),
                event.welcome.ice_servers,
                int(self.member.body.get("mesh_limit", 8)),
            )
        elif isinstance(event, cc.PresenceChange):
            if event.event == "joined":
                self.peers[event.peer.peer_id] = event.peer
                self.links.joined(event.peer.peer_id)
            else:
                self.peers.pop(event.peer.peer_id, None)
                self.links.left(event.peer.peer_id)
            self._links_changed()
        elif isinstance(event, cc.Signalled):
            self.links.signal(event.sender, event.kind, event.data)
        elif isinstance(event, cc.Synced):
            side.on_synced()
        elif isinstance(event, cc.Shown) and event.message.kind == "file" and not event.own:
            message = event.message
            bodies = tb.expand(message.body)
            for body in [message.body] if bodies is None else bodies:
                side.on_file_message(message.model_copy(update={"body": body}))

    def _channel(self, peer_id: str, channel: RTCDataChannel) -> None:
        if self.side:
            self.side.on_channel(peer_id, channel)
        else:
            channel.close()

    def _links_changed(self) -> None:
        if self.side:
            self.side.on_links_changed()
