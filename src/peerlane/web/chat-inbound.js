// What reaches a ChatRoom (chat.js) from its parts, applied to the room: a message the
// server sends (live, replayed, from history, or opened late), the server connection's
// state, the room's end for this browser, and the links peers hand over in `moved`
// frames. The parts (chat-parts.js) and the history (chat-history.js) call these; the
// room turns them into its state and its events for the page.

import { forgetRoom } from "./device-rooms.js";
import { endedError } from "./status-text.js";

/** @typedef {import("./chat.js").ChatRoom} ChatRoom */
/** @typedef {import("./protocol.js").MessageMsg} MessageMsg */
/** @typedef {import("./chat-types.js").ServerState} ServerState */
/** @typedef {import("./signaling.js").CloseReason} CloseReason */

/** `moved` frames kept for a page that listens late (more are a peer misbehaving). */
const MAX_HANDED_LINKS = 8;

/**
 * Merge a message from the server (live, replayed or from history): into the log and
 * this device's copy; an own one leaves the outbox and takes the changes made to it
 * meanwhile; its sender is no longer typing.
 * @param {ChatRoom} room
 * @param {MessageMsg} msg
 */
export function fromServer(room, msg) {
  const me = room.me?.participant_id;
  room._log.fromServer(msg, me, room._presence.readUpTo);
  room._kept?.keepMessage(msg);
  if (msg.sender === me) {
    room._outbox.unqueue(msg.id); // stored: an ack lost with a dropped connection is no loss
    room._own.settle(room._log.get(msg.sender, msg.id)); // a change made to it meanwhile
  }
  room._presence.clearTyping(msg.sender);
}

/**
 * @param {ChatRoom} room
 * @param {ServerState} state
 */
export function setServerState(room, state) {
  if (room.serverState === state) return;
  room.serverState = state;
  room._emit("status");
}

/**
 * The room ended for this browser: no more reconnecting.
 * @param {ChatRoom} room
 * @param {CloseReason} reason
 */
export function roomEnded(room, reason) {
  room.ended = reason;
  // Out of the room for good: its copies on this device go (device-rooms.js). Not on
  // "unauthorized": an expired session, whose person may come back with an invite and
  // whose unsent messages then still go out.
  if (room._kept && (reason === "removed" || reason === "room_gone")) void forgetRoom(room.id);
  if (reason === "room_gone") room._emit("deleted");
  const error = endedError(reason);
  if (error) room._emit("error", error);
  room._emit("status");
}

/**
 * The links peers hand over in `moved` frames, kept for e2e/room-move.js: a peer sends
 * one as the channel opens, often before the page listens.
 * @param {ChatRoom} room
 * @returns {string[]}  filled as they come
 */
export function keepHandedLinks(room) {
  /** @type {string[]} */
  const links = [];
  room.addEventListener("moved-link", (ev) => {
    const { link } = /** @type {CustomEvent<{link: string}>} */ (ev).detail;
    if (links.length < MAX_HANDED_LINKS) links.push(link);
  });
  return links;
}
