"""The terminal's direct links (aiortc), made the way browsers make them with each other
(web/mesh-links.js, web/mesh-negotiation.js), so a browser links with the terminal as
with another browser and a file transfer's channel can run on the link.

* Who links: core.peer_ids.choose_direct_peers, the browsers' rule (same answer on both
  ends).
* One RTCPeerConnection per peer with the pre-negotiated ``chat`` channel (id 0); the
  impolite side (the higher peer id) makes the offer, the polite side answers. aiortc
  cannot roll back an offer, so the terminal never offers as the polite side: it waits,
  and the browser's impolite side always starts.
* aiortc gathers all its candidates before its description is set, so it sends none
  separately; the browser's trickled candidates are added as they come.
* ``file:<transfer>`` channels the peer opens are handed on; others are closed.
* A failed or closed connection is dropped (and told); a ``bye`` with ``restart`` or
  ``reset`` starts a fresh link, as the browser expects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCDataChannel,
    RTCIceTransport,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

from peerlane.core.peer_ids import choose_direct_peers
from peerlane.core.protocol import IceServer
from peerlane.core.transfer_wire import LABEL_PREFIX
from peerlane.peer import turn_choice
from peerlane.peer.rtc_config import rtc_configuration

SendSignal = Callable[[str, str, Any], None]
OnChannel = Callable[[str, RTCDataChannel], None]
OnChange = Callable[[str], None]


@dataclass
class Link:
    peer_id: str
    polite: bool
    pc: RTCPeerConnection
    chat: RTCDataChannel
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed: bool = False

    @property
    def open(self) -> bool:
        return not self.closed and self.chat.readyState == "open"


def selected_path(ice: RTCIceTransport) -> str:
    """The path words of an ICE transport's selected pair. aiortc has no getStats for
    candidate pairs, so this reads aioice's nominated pair. A remote candidate learned
    from a check (``prflx``) is a relay when its address is one of the remote relay
    candidates the peer's description listed."""
    connection = ice._connection  # aioice.Connection (no public accessor in aiortc)
    pair = connection._nominated.get(1)
    if pair is None:
        return ""
    relays = {(c.host, c.port) for c in connection.remote_candidates if c.type == "relay"}
    remote = pair.remote_candidate
    if "relay" in (pair.local_candidate.type, remote.type) or (remote.host, remote.port) in relays:
        return "TURN relay"
    return "direct"


class Links:
    def __init__(self, send_signal: SendSignal, on_channel: OnChannel, on_change: OnChange):
        self._send_signal = send_signal
        self._on_channel = on_channel
        self._on_change = on_change  # a link opened or closed
        self.self_id = ""
        self.mesh_limit = 8
        self.ice_servers: list[IceServer] = []
        self.peers: set[str] = set()
        self._links: dict[str, Link] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._choosing: asyncio.Future[None] | None = None  # the TURN URL being picked

    # --- what the room says ------------------------------------------------------------

    def welcome(
        self, self_id: str, peers: Sequence[str], ice: Sequence[IceServer], mesh_limit: int
    ) -> None:
        if self_id != self.self_id:  # a new peer id: the others know nothing of the old links
            for peer_id in list(self._links):
                self._close(peer_id)
        self.self_id, self.mesh_limit = self_id, mesh_limit
        self.ice_servers = turn_choice.with_choice(ice)  # a choice made earlier in the run
        self.peers = set(peers)
        if turn_choice.needs_choice(ice) and not self._turn_pending:
            # No link starts before the TURN URL that works is first (aiortc takes the first).
            self._choosing = asyncio.ensure_future(self._choose_turn(list(ice)))
            self._choosing.add_done_callback(lambda t: t.cancelled() or t.exception())
        self._recompute()

    async def _choose_turn(self, ice: list[IceServer]) -> None:
        with contextlib.suppress(Exception):  # whatever happens, the links start
            await turn_choice.prefer_working(ice)
        # The choice is kept by URL: it applies to a newer welcome's credentials too.
        self.ice_servers = turn_choice.with_choice(self.ice_servers)
        self._choosing = None
        self._recompute()

    @property
    def _turn_pending(self) -> bool:
        return self._choosing is not None and not self._choosing.done()

    def joined(self, peer_id: str) -> None:
        self.peers.add(peer_id)
        self._recompute()

    def left(self, peer_id: str) -> None:
        self.peers.discard(peer_id)
        self._close(peer_id)
        self._recompute()

    def chosen(self, peer_id: str) -> bool:
        return peer_id in choose_direct_peers(self.self_id, self.peers, self.mesh_limit)

    def is_open(self, peer_id: str) -> bool:
        link = self._links.get(peer_id)
        return link is not None and link.open

    def open_channel(self, peer_id: str, label: str) -> RTCDataChannel | None:
        link = self._links.get(peer_id)
        if link is None or not link.open:
            return None
        return link.pc.createDataChannel(label, ordered=True)

    def path_of(self, peer_id: str) -> str:
        """How the link's bytes go: ``"direct"``, ``"TURN relay"`` (either end's candidate
        of the selected pair is a TURN relay), or ``""`` when not connected."""
        link = self._links.get(peer_id)
        sctp = link.pc.sctp if link else None
        return selected_path(sctp.transport.transport) if sctp else ""

    def remote_sdp(self, peer_id: str) -> str | None:
        link = self._links.get(peer_id)
        description = link.pc.remoteDescription if link else None
        return description.sdp if description else None

    def _recompute(self) -> None:
        wanted = choose_direct_peers(self.self_id, self.peers, self.mesh_limit)
        for peer_id in list(self._links):
            if peer_id not in wanted:
                self._close(peer_id, notify="not_chosen")
        if self._turn_pending:
            return  # the links start when the TURN URL is chosen
        for peer_id in wanted - set(self._links):
            self._start(peer_id)

    # --- links -------------------------------------------------------------------------

    def _start(self, peer_id: str) -> Link:
        pc = RTCPeerConnection(rtc_configuration(self.ice_servers))
        chat = pc.createDataChannel("chat", negotiated=True, id=0, ordered=True)
        link = Link(peer_id, self.self_id < peer_id, pc, chat)
        self._links[peer_id] = link

        @pc.on("datachannel")
        def incoming(channel: RTCDataChannel) -> None:
            if self._links.get(peer_id) is link and channel.label.startswith(LABEL_PREFIX):
                self._on_channel(peer_id, channel)
            else:
                channel.close()

        @pc.on("connectionstatechange")
        def state() -> None:
            if pc.connectionState in ("failed", "closed") and self._links.get(peer_id) is link:
                self._close(peer_id)

        chat.on("open", lambda: self._on_change(peer_id))
        if not link.polite:
            self._spawn(self._offer(link))
        return link

    async def _offer(self, link: Link) -> None:
        async with link.lock:
            if link.closed:
                return
            await link.pc.setLocalDescription(await link.pc.createOffer())
            self._signal(link, "offer")

    def _signal(self, link: Link, kind: str) -> None:
        description = link.pc.localDescription
        if not link.closed and description is not None:
            self._send_signal(link.peer_id, kind, {"type": kind, "sdp": description.sdp})

    def _close(self, peer_id: str, notify: str | None = None) -> None:
        link = self._links.pop(peer_id, None)
        if link is None:
            return
        link.closed = True
        if notify:
            self._send_signal(peer_id, "bye", {"reason": notify})
        self._spawn(link.pc.close())
        self._on_change(peer_id)

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    # --- signals from the peer -----------------------------------------------------------

    def signal(self, sender: str, kind: str, data: Any) -> None:
        self._spawn(self._apply(sender, kind, data))

    async def _apply(self, sender: str, kind: str, data: Any) -> None:
        if self._choosing is not None and not self._choosing.done():
            # Waiters resume in the order they came, so the peer's signals keep theirs.
            await asyncio.shield(self._choosing)
        if kind == "bye":
            reason = data.get("reason") if isinstance(data, dict) else None
            self._close(sender)
            if reason in ("restart", "reset") and self.chosen(sender):
                self._start(sender)
            return
        if not self.chosen(sender):
            if kind == "offer":
                self._send_signal(sender, "bye", {"reason": "not_chosen"})
            return
        link = self._links.get(sender) or self._start(sender)
        async with link.lock:
            if not link.closed and isinstance(data, dict):
                with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
                    await self._apply_to(link, kind, data)

    async def _apply_to(self, link: Link, kind: str, data: dict[str, Any]) -> None:
        pc = link.pc
        if kind == "candidate":
            text = str(data.get("candidate") or "")
            if not text:
                return  # the end of the peer's candidates
            candidate = candidate_from_sdp(text.split(":", 1)[1])
            candidate.sdpMid = data.get("sdpMid")
            candidate.sdpMLineIndex = data.get("sdpMLineIndex")
            await pc.addIceCandidate(candidate)
            return
        description = RTCSessionDescription(sdp=str(data["sdp"]), type=kind)
        if kind == "offer":
            if pc.signalingState != "stable":
                return  # a collision; the impolite side ignores it (and the polite never offers)
            await pc.setRemoteDescription(description)
            await pc.setLocalDescription(await pc.createAnswer())
            self._signal(link, "answer")
        elif kind == "answer" and pc.signalingState == "have-local-offer":
            await pc.setRemoteDescription(description)

    async def close(self) -> None:
        if self._choosing is not None:
            self._choosing.cancel()
        for peer_id in list(self._links):
            self._close(peer_id, notify="leave")
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
