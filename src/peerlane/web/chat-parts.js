// ChatRoom's parts (chat.js), made and wired to each other and to the room: the message
// log (chat-log.js), the outbox (chat-outbox.js), own messages (chat-own.js), presence
// (chat-presence.js), the direct links (chat-peers.js) and the server connection
// (chat-server.js). Each part takes what it needs of the others as functions, so the
// room's state (who I am, online or not, ready or not) is read when it is needed.

import { fromServer, roomEnded, setServerState } from "./chat-inbound.js";
import { MessageLog } from "./chat-log.js";
import { Outbox } from "./chat-outbox.js";
import { OwnMessages } from "./chat-own.js";
import { PeerLinks } from "./chat-peers.js";
import { Presence } from "./chat-presence.js";
import { openLateMessages } from "./chat-reopen.js";
import { ServerLink } from "./chat-server.js";
import { joinAnswers } from "./join-answers.js";
import { Mesh } from "./mesh.js";
import { Signaling } from "./signaling.js";
import { indexedDbStore } from "./store.js";

/** @typedef {import("./chat.js").ChatRoom} ChatRoom */
/** @typedef {import("./chat-types.js").ChatRoomOptions} ChatRoomOptions */

/**
 * @param {ChatRoom} room
 * @param {ChatRoomOptions} options
 */
export function makeParts(room, options) {
  /** The message log: ordering, merge, dedupe, reactions. */
  const log = new MessageLog({
    onChange: () => room._changed(),
    onAdd: (m) => {
      if (m.kind === "file") room._emit("file", m); // once per message: the transfer engine
      // Someone else's new message, as it comes (not the history loaded at the start or
      // scrolled back to): for the background badge and notifications.
      // A file offer is news too (a system notification says so: notify.js).
      const news = m.kind === "text" || (m.kind === "file" && /** @type {{op?: string}} */ (m.body)?.op === "offer");
      if (news && room._ready && !room._history.loadingOlder && m.sender !== room.me?.participant_id) {
        room._emit("incoming", m);
      }
    },
  });
  /** Own messages waiting for the server's ack. */
  const outbox = new Outbox({
    roomId: room.id,
    store: options.store ?? indexedDbStore,
    clock: room._clock,
    random: options.random ?? Math.random,
    log,
    me: () => room.me?.participant_id ?? null,
    online: () => room.serverState === "online",
    send: (message) => server.send(message),
    awaitAcks: (busy) => server.signaling?.awaitAcks?.(busy),
    onAck: (ack) => own.onAck(ack),
    toPeers: (m) => links.sendChat(m),
    maxBodyBytes: () => room._maxBodyBytes,
    onError: (error) => room._emit("error", error),
    sealer: room.e2e,
  });
  /** What the person writes, edits and deletes, and the server's word on it. */
  const own = new OwnMessages({
    log,
    outbox,
    clock: room._clock,
    newId: room._newId,
    me: () => room.me,
    hlc: () => room._hlc,
    readUpTo: () => presence.readUpTo,
    maxBodyBytes: () => room._maxBodyBytes,
    onError: (error) => room._emit("error", error),
  });
  /** Typing and read receipts. */
  const presence = new Presence({
    clock: room._clock,
    me: () => room.me,
    toServer: (message) => room.serverState === "online" && server.send(message),
    toPeers: (message) => links.send(message),
    onTyping: () => room._emit("typing"),
    onRead: (seq) => {
      if (room.me) log.readUpTo(room.me.participant_id, seq);
    },
    onReadBy: () => room._changed(), // "Read by …" names who
  });

  /** The direct links (the mesh) and what the peers say over them. */
  const links = new PeerLinks({
    meshFactory: options.meshFactory ?? ((opts) => new Mesh(opts)),
    sendSignal: (to, kind, data) => server.send({ type: "signal", to, kind, data }),
    log,
    outbox,
    presence,
    me: () => room.me,
    hlc: () => room._hlc,
    ready: () => room._ready,
    closed: () => room._closed,
    emit: (type, detail) => room._emit(type, detail),
    e2e: room.e2e,
  });
  /** The server connection and what the server says. */
  const makeSignaling = options.signalingFactory ?? ((id, opts) => new Signaling(id, opts));
  const server = new ServerLink({
    roomId: room.id,
    signalingFactory: (id, opts) => {
      const signaling = makeSignaling(id, opts);
      return room.e2e ? room.e2e.signaling(signaling) : signaling;
    },
    log,
    outbox,
    presence,
    links,
    meshLimit: () => room.meshLimit,
    closed: () => room._closed,
    welcome: (w) => {
      room.me = { participant_id: w.participant_id, peer_id: w.peer_id, name: w.name, role: w.role };
      room._maxBodyBytes = w.limits?.max_body_bytes ?? Infinity;
    },
    fromServer: (msg) => fromServer(room, msg),
    onAck: (ack) => own.onAck(ack),
    chatError: (error, ref) => own.onError(error, ref),
    online: (online) => setServerState(room, online ? "online" : "offline"),
    ended: (reason) => roomEnded(room, reason),
    emit: (type, detail) => room._emit(type, detail),
    pake: joinAnswers({
      roomId: room.id,
      me: () => server.participantId,
      send: (message) => server.send(message),
      keyText: () => room.e2e?.keyText ?? "",
      emit: (type, detail) => room._emit(type, detail),
    }),
  });
  openLateMessages(room, log);
  return { log, outbox, own, presence, links, server };
}
