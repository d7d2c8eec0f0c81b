"""The WebSocket driver: a thin loop around :class:`peerlane.core.session.Session`.

Frames from the client feed the session in the reader task; events from the room's bus
feed it at once, in the publisher's call (:meth:`Connection._room_event`), so a room
message reaches every socket of the room without a task wake-up per socket. What the
session returns is carried out by :meth:`Connection.perform`, or, for a room event's
storage work (a replay after a gap), by the events task. Frames leave through one
:class:`~peerlane.server.ws_writer.FrameWriter`, in the order they were decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from peerlane.bus.base import Subscription
from peerlane.core import peer_ids
from peerlane.core import protocol as p
from peerlane.core import session as core
from peerlane.core.records import new_id
from peerlane.errors import ErrorCode, PeerlaneError
from peerlane.server import logs
from peerlane.server.auth import Caller, renew_if_due
from peerlane.server.pake_frames import pake_message
from peerlane.server.services import Services
from peerlane.server.ws_writer import FrameWriter

if TYPE_CHECKING:
    from peerlane.server.pake_join import PakeJoins

log = logs.get(__name__)
REPLAY_PAGE = 500


class Connection:
    def __init__(
        self,
        ws: WebSocket,
        services: Services,
        caller: Caller,
        hello: str | None = None,
        address: str = "unknown",
        pake: PakeJoins | None = None,
    ) -> None:
        self.ws = ws
        self._pake = pake  # answers joins by short code (server.pake_join)
        self._pake_member = False
        self.address = address  # the per-IP limit key (server.addresses)
        self._url_hello = hello
        self.services = services
        cfg = services.settings
        participant = caller.participant
        identity = core.Identity(
            room_id=caller.room.id,
            participant_id=participant.id,
            peer_id=new_id(6),  # or the one it resumes (Session.resumed)
            name=participant.name,
            role=participant.role,
            session_id=caller.session.id,
        )
        self._session = caller.session
        limits = core.SessionLimits(
            max_message_bytes=cfg.max_ws_message_bytes,
            max_body_bytes=cfg.max_body_bytes,
            messages_per_second=cfg.messages_per_second,
            message_burst=cfg.message_burst,
        )
        self.session = core.Session(identity, limits, now=time.monotonic(), connection=new_id(9))
        self._writer = FrameWriter(ws, services.metrics)
        # The room events' work that awaits (a replay, a flush the transport deferred),
        # in the order decided; None: the subscription ended.
        self._room_work: asyncio.Queue[list[core.Output] | None] = asyncio.Queue()
        self._flush_asked = False
        # Frames a slow reader may fall behind by before it is cut off (and replays).
        self._backlog_limit = getattr(services.bus, "queue_size", 4096)
        self._closed = asyncio.Event()
        self._close_code = core.CLOSE_NORMAL
        self._close_reason = ""

    @property
    def identity(self) -> core.Identity:
        return self.session.identity

    @property
    def room_id(self) -> str:
        return self.identity.room_id

    @property
    def participant_id(self) -> str:
        return self.identity.participant_id

    async def send_text(self, text: str) -> None:
        """A frame from outside the session (a join-by-code message), in order."""
        await self.perform([core.Send(text)])

    async def _pake_frame(self, data: str | bytes) -> bool:
        """A ``pake.*`` frame goes to the join-by-code relay, not the session."""
        limit = self.services.settings.max_ws_message_bytes
        if self._pake is None or (message := pake_message(data, limit)) is None:
            return False
        refused = self.session.spend_outside_frame(time.monotonic())
        if refused is not None:
            await self.perform(refused)
        else:
            await self._pake.member_message(self, message)
        return True

    # -- the loop --

    async def run(self) -> None:
        bus = self.services.bus
        async with bus.subscribe(self.identity.room_id) as sub:
            try:
                async with asyncio.TaskGroup() as tasks:
                    reader = tasks.create_task(self._read())
                    events = tasks.create_task(self._events(sub))
                    await self._closed.wait()
                    reader.cancel()
                    events.cancel()
            finally:
                room_id, peer_id = self.identity.room_id, self.identity.peer_id
                if self.session.replaced:  # the entry is the newer connection's now
                    await bus.forget_peer(room_id, peer_id)
                else:
                    await bus.remove_peer(room_id, peer_id)
                going_away = self._close_code == core.CLOSE_GOING_AWAY
                await self.perform(self.session.closed(going_away=going_away))
                if self._pake is not None and self._pake_member:
                    await self._pake.member_left(self)
        await self._close_socket()

    async def _read(self) -> None:
        try:
            if self._url_hello is not None:
                await self.perform(self.session.receive(self._url_hello, time.monotonic()))
            # Once closing is decided (a flooder, say), frames already queued are neither
            # parsed nor stored: receive() hands them over without yielding, so without
            # this check the reader would work through the whole backlog first.
            while not self._closed.is_set():
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("text")
                if data is None:
                    data = message.get("bytes") or b""
                if await self._pake_frame(data):
                    continue
                await self.perform(self.session.receive(data, time.monotonic()))
                await self._keep_session()
        except WebSocketDisconnect:
            pass
        finally:
            self._closed.set()

    async def _events(self, sub: Subscription) -> None:
        try:
            sub.listen(self._room_event)
            while (work := await self._room_work.get()) is not None:
                self._flush_asked = False
                await self.perform(work)
            if sub.overflowed:
                # Too slow to keep up, or the bus lost events: the client reconnects
                # and replays from storage.
                self.close(core.CLOSE_TRY_AGAIN_LATER, "missed room events; reconnect")
        finally:
            self._closed.set()

    async def _keep_session(self) -> None:
        """A socket in use keeps its session alive, as HTTP requests do: a connection
        open longer than the idle lifetime is not cut, and its reconnect still works.
        (A signed-out or removed session closes the socket by a bus event instead.)"""
        svc = self.services
        self._session = await renew_if_due(svc, self._session, svc.clock())

    def _room_event(self, event: core.RoomEvent | None) -> None:
        """An event of the room (None: the subscription ended), in the publisher's call:
        decided and written now; what awaits goes to the events task."""
        if event is None:
            self._room_work.put_nowait(None)
            return
        if self._closed.is_set():
            return  # closing: the events task is no longer running
        try:
            outputs = self.session.room_event(event)
            if not outputs:
                return
            if len(outputs) == 1 and type(outputs[0]) is core.Send:  # a message: the usual
                frames, rest = [outputs[0].text], []
            else:
                frames = [out.text for out in outputs if type(out) is core.Send]
                rest = [out for out in outputs if type(out) is not core.Send]
            if frames:
                self._writer.queue(frames)
                if self._writer.backlog > self._backlog_limit:
                    self._writer.discard()
                    self.close(core.CLOSE_TRY_AGAIN_LATER, "missed room events; reconnect")
                    return
                if not self._writer.write_now() and not self._flush_asked:
                    self._flush_asked = True
                    self._room_work.put_nowait([])  # perform() flushes
            if rest:
                self._room_work.put_nowait(rest)
        except Exception:
            # Not the publisher's problem: this connection ends as a failed one would.
            log.exception("ws.failed")
            self.close(core.CLOSE_INTERNAL, "internal error")

    def close(self, code: int, reason: str) -> None:
        self._close_code, self._close_reason = code, reason
        self._closed.set()

    # -- outputs --

    async def perform(self, outputs: list[core.Output]) -> None:
        # The session decides in order, synchronously, but its outputs take time to carry
        # out (a publish, a storage read), and the other task (reader or room events) may
        # decide meanwhile. So this step's frames join the queue at once, before anything
        # here awaits: frames leave in the order they were decided, never a live message
        # ahead of the replay or the held events decided before it. (A step's own frames
        # go before its publish and storage work: they are for this client only.)
        frames = [out.text for out in outputs if type(out) is core.Send]
        writer = self._writer
        if frames:
            writer.queue(frames)
        if writer.backlog and not writer.write_now():
            await writer.flush()
            if writer.gone:
                self._closed.set()
        for out in outputs:
            if type(out) is not core.Send:
                await _PERFORM[type(out)](self, out)

    async def _publish(self, out: core.Publish) -> None:
        message = out.event.message
        if isinstance(message, p.Message):
            self.services.metrics.messages.inc()
        elif isinstance(message, p.SignalRelay):
            self.services.metrics.signals.inc()
        await self.services.bus.publish(out.event)

    async def _join(self, out: core.Join) -> None:
        svc, ident = self.services, self.identity
        room = await svc.store.get_room(ident.room_id)
        if room is None:
            await self.perform([core.Send.of(p.error_message(ErrorCode.ROOM_NOT_FOUND))])
            self.close(core.CLOSE_ROOM_GONE, "room deleted")
            return
        # Ended between authentication and the bus subscription, whose event we missed.
        session = await svc.store.get_session(ident.session_id)
        if session is None or not session.live(svc.clock()):
            removed = await svc.store.get_participant(ident.participant_id) is None
            ended = core.SessionEnded(
                participant_id=ident.participant_id,
                session_id=None if removed else ident.session_id,
            )
            await self.perform(self.session.room_event(core.RoomEvent(ident.room_id, ended)))
            return
        await self._resume(out.resume)
        ident = self.identity
        everyone = await svc.store.list_participants(ident.room_id)
        # Register before reading the peer list, so two peers joining at once see each other
        # either in the snapshot or as a presence event (the bus is subscribed already).
        await svc.bus.add_peer(ident.room_id, ident.peer_info())
        peers = await svc.bus.peers(ident.room_id)
        snapshot = core.RoomSnapshot(
            room_name=room.name,
            latest_seq=room.last_seq,
            peers=peers,
            ice_servers=svc.ice_servers(ident.participant_id),
            mesh_connect_timeout=svc.settings.mesh_connect_timeout,
            read={p.id: p.last_read_seq for p in everyone if p.last_read_seq},
            resume_token=peer_ids.resume_token(
                svc.secret, ident.room_id, ident.participant_id, ident.peer_id
            ),
        )
        await self.perform(self.session.joined(snapshot, out.last_seq))
        if self._pake is not None and not self._pake_member:
            self._pake_member = True
            await self._pake.member_joined(self)

    async def _resume(self, token: str | None) -> None:
        """Take back the peer id of the hello's resume token, when the rule allows it."""
        if token is None:
            return
        svc, ident = self.services, self.identity
        resumed = peer_ids.resume(
            token,
            secret=svc.secret,
            room_id=ident.room_id,
            participant_id=ident.participant_id,
            present=await svc.bus.peers(ident.room_id),
        )
        log.info(
            "ws.resume", resumed=resumed is not None, replaces=bool(resumed and resumed.replaces)
        )
        if resumed is not None:
            await self.perform(self.session.resumed(resumed))

    async def _persist(self, out: core.PersistChat) -> None:
        chat, ident = out.chat, self.identity
        if self._closed.is_set():
            return  # closing: nothing more is stored for this connection
        if not await self._within_budget():
            await self.perform(self.session.chat_refused(chat.id, time.monotonic()))
            return
        try:
            stored, duplicate = await self.services.store.append_message(
                room_id=ident.room_id,
                client_id=chat.id,
                sender_id=ident.participant_id,
                sender_name=ident.name,
                kind=chat.kind,
                ref=chat.ref,
                body=json.dumps(chat.body, separators=(",", ":"), ensure_ascii=False),
                now=self.services.clock(),
            )
        except PeerlaneError as exc:
            await self.perform(self.session.chat_failed(chat.id, exc.code, exc.message))
            if exc.code is ErrorCode.ROOM_NOT_FOUND:
                self.close(core.CLOSE_ROOM_GONE, "room deleted")
            return
        # Built from validated parts (the client's chat, the stored row): not checked again.
        message = p.Message.model_construct(
            seq=stored.seq,
            id=stored.client_id,
            sender=stored.sender_id,
            sender_name=stored.sender_name,
            ts=stored.ts,
            kind=stored.kind,
            ref=stored.ref,
            body=chat.body if not duplicate else json.loads(stored.body),
            edited_at=stored.edited_at,
            deleted_at=stored.deleted_at,
        )
        await self.perform(self.session.chat_stored(core.StoredChat(message, duplicate)))

    async def _within_budget(self) -> bool:
        """One more chat message within the participant's and its address's budgets?

        They live on the bus (shared by every instance, kept across reconnects), unlike
        the session's per-connection bucket, which a new connection gets full. Checked
        before storing, so a refused message costs no write and no fan-out."""
        limits, now = self.services.limiters, self.services.clock()
        if await limits.participant_messages.take(self.identity.participant_id, now) is not None:
            return False
        return await limits.ip_messages.take(self.address, now) is None

    async def _replay(self, out: core.Replay) -> None:
        rows = await self.services.store.messages_after(
            self.identity.room_id, out.after, REPLAY_PAGE + 1
        )
        complete = len(rows) <= REPLAY_PAGE
        page = [row.to_wire() for row in rows[:REPLAY_PAGE]]
        await self.perform(self.session.replayed(page, complete))

    async def _receipt(self, out: core.StoreReceipt) -> None:
        await self.services.store.set_last_read(self.identity.participant_id, out.seq)

    async def _find_stored(self, out: core.FindStored) -> None:
        ident = self.identity
        found = await self.services.store.stored_ids(ident.room_id, ident.participant_id, out.ids)
        acks = [p.Ack(id=row.client_id, seq=row.seq, ts=row.ts) for row in found]
        await self.perform(self.session.stored_found(out.ids, acks))

    async def _close(self, out: core.Close) -> None:
        self.close(out.code, out.reason)

    async def _close_socket(self) -> None:
        ws = self.ws
        if (
            ws.client_state is WebSocketState.CONNECTED
            and ws.application_state is WebSocketState.CONNECTED
        ):
            # the client went away first
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                await self.ws.close(self._close_code, self._close_reason)


_PERFORM: dict[type[Any], Any] = {
    core.Publish: Connection._publish,
    core.Join: Connection._join,
    core.PersistChat: Connection._persist,
    core.Replay: Connection._replay,
    core.StoreReceipt: Connection._receipt,
    core.FindStored: Connection._find_stored,
    core.Close: Connection._close,
}
