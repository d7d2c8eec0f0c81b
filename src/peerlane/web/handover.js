// What a page hands to the room page it navigates to in place (no reload): the session
// a create or join answered with -- the room, the participant and mesh_limit, what the
// room page would otherwise ask GET /api/rooms/{id} for first --, the room's WebSocket,
// opened at once, and the invite a room was created with, so the room page shows it (and
// its QR code) at once. A small module of its own, so the home and join pages need not
// load the room's modules.
//
// The socket: the room page would open it only once its modules have run and it has
// rendered (tens of ms on a busy phone or laptop); opened here, its handshake and the
// server's welcome (the hello is in the URL) overlap that, and the others in the room
// already start their offers to us. Its events wait in a HeldSocket until the room
// page's signaling takes it over; one nobody takes is closed after HOLD_MS, so it does
// not stay in the room as a ghost.

import { roomSocketUrl } from "./api.js";
import { linkKeyText, readKeysAhead, saveRoomKey } from "./e2e/room-keys.js";
import { helloQuery } from "./protocol.js";

/** @typedef {import("./ui/invite-panel.js").InviteView} InviteView */
/** @typedef {import("./api.js").SessionOut} SessionOut */
/** @typedef {import("./api.js").RoomView} RoomView */
/** @typedef {import("./signaling.js").SocketLike} SocketLike */
/** @typedef {import("./signaling.js").SocketConstructor} SocketConstructor */

/** How long a socket opened for the room page waits to be taken. */
export const HOLD_MS = 10_000;

/** Sessions handed over by the page that created or joined the room, by room id. */
const sessions = new Map(/** @type {[string, RoomView][]} */ ([]));
/** Invites handed over by the page that created the room, by room id. */
const invites = new Map(/** @type {[string, InviteView][]} */ ([]));
/** Sockets opened for the room page, by room id. */
const sockets = new Map(/** @type {[string, HeldSocket][]} */ ([]));

/**
 * A socket whose events wait until it is taken over: the taker sets its handlers, then
 * calls release(), and gets every event so far, in order, then the rest as they come.
 * @implements {SocketLike}
 */
export class HeldSocket {
  /** @param {SocketLike} ws */
  constructor(ws) {
    this._ws = ws;
    /** @type {[("onopen" | "onmessage" | "onclose" | "onerror"), any][] | null} null once released */
    this._held = [];
    /** @type {((ev: any) => void) | null} */
    this.onopen = null;
    /** @type {((ev: {data: any}) => void) | null} */
    this.onmessage = null;
    /** @type {((ev: {code: number, reason: string}) => void) | null} */
    this.onclose = null;
    /** @type {((ev: any) => void) | null} */
    this.onerror = null;
    for (const name of /** @type {const} */ (["onopen", "onmessage", "onclose", "onerror"])) {
      ws[name] = (/** @type {any} */ ev) => {
        if (this._held) this._held.push([name, ev]);
        else this[name]?.(ev);
      };
    }
  }

  get readyState() {
    return this._ws.readyState;
  }

  /** @param {string} data */
  send(data) {
    this._ws.send(data);
  }

  /** @param {number} [code] @param {string} [reason] */
  close(code, reason) {
    this._ws.close(code, reason);
  }

  /** Deliver what was held to the handlers set now, and from now on pass events through. */
  release() {
    const held = this._held ?? [];
    this._held = null;
    for (const [name, ev] of held) this[name]?.(ev);
  }
}

/**
 * Remember what creating or joining a room answered, for its room page (and the invite,
 * when it came with one), and open the room's socket for it. (What GET /api/rooms/{id}
 * answers does too: returning to a room with an invite link, join-now.js.)
 * @param {RoomView & {invite?: SessionOut["invite"]}} out
 * @param {{WebSocket?: SocketConstructor, timers?: {setTimeout: (fn: () => void, ms: number) => unknown}}} [env]
 *   what tests replace (the browser's WebSocket and timers by default)
 */
export function handOverSession(out, env = {}) {
  const { room, participant, mesh_limit } = out;
  if (out.invite) invites.set(room.id, out.invite);
  // Checked here, so the room page can trust it (or ask the server, without it).
  const valid =
    typeof room?.id === "string" &&
    typeof participant?.id === "string" &&
    typeof participant.name === "string" &&
    Number.isInteger(mesh_limit) &&
    mesh_limit >= 0;
  if (!valid) return;
  sessions.set(room.id, { room, participant, mesh_limit });
  // The room page waits for the keys this device keeps before it starts the room: read
  // them now, beside the socket's handshake (and before the write below).
  readKeysAhead(room.id);
  // Joined with an encrypted room's link: its key (in the fragment) is kept for the room.
  const keyText = globalThis.location?.pathname === "/join" ? linkKeyText(globalThis.location.hash) : null;
  if (keyText) void saveRoomKey(room.id, keyText);
  const Socket = env.WebSocket ?? /** @type {SocketConstructor} */ (/** @type {unknown} */ (globalThis.WebSocket));
  if (!Socket) return;
  let held;
  try {
    held = new HeldSocket(new Socket(`${roomSocketUrl(room.id)}?${helloQuery(null)}`));
  } catch {
    return; // the room page opens its own
  }
  sockets.get(room.id)?.close(1000, "replaced");
  sockets.set(room.id, held);
  (env.timers ?? globalThis).setTimeout(() => {
    if (sockets.get(room.id) !== held) return;
    sockets.delete(room.id);
    held.close(1000, "not taken");
  }, HOLD_MS);
}

/**
 * The session handed over for a room, once (null when there is none).
 * @param {string} roomId
 * @returns {RoomView | null}
 */
export function takeSession(roomId) {
  const view = sessions.get(roomId) ?? null;
  sessions.delete(roomId);
  return view;
}

/**
 * The socket opened for a room's page, once (null when there is none): its events wait
 * until the taker calls release().
 * @param {string} roomId
 * @returns {HeldSocket | null}
 */
export function takeSocket(roomId) {
  const held = sockets.get(roomId) ?? null;
  sockets.delete(roomId);
  return held;
}

/**
 * The invite handed over for a room, once (null when there is none).
 * @param {string} roomId
 * @returns {InviteView | null}
 */
export function takeInvite(roomId) {
  const invite = invites.get(roomId) ?? null;
  invites.delete(roomId);
  return invite;
}
