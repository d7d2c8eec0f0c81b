// How a room starts (ChatRoom.start, chat.js): everything at once, in the order that
// lets the direct links connect first. The room, the latest history page, the outbox and
// the WebSocket are all asked for together; the mesh starts on the welcome; what the
// server and the peers say waits until the history and the outbox are in place; the
// file-transfer engine and the first render wait for the first links (linksSettled).

import { Hlc } from "./hlc.js";
import { openManifests } from "./opfs.js";
import { openOutbox } from "./store.js";

/** @typedef {import("./chat.js").ChatRoom} ChatRoom */

/**
 * Get ready for a room page to come: open the local databases, whose first opening in a
 * browser can take long (see openOutbox). For the page before it (join, home).
 */
export function prepareRoom() {
  openOutbox();
  openManifests();
}

/**
 * Load the room (unless given as options.view), its latest history and the outbox, and
 * connect. Throws ApiError.
 *
 * Everything starts at once. The WebSocket says hello as soon as it is open, without a
 * resume point: the server starts at the present, and the latest history page comes
 * over HTTP meanwhile (a message stored between the two is replayed: chat-server.js). Once
 * the room is known (its mesh_limit), the welcome starts the mesh, so the first offers
 * go out while the history and the local stores load. Everything else the server and
 * the peers send waits until the history and the outbox are in place, then is handled
 * in order.
 * @param {ChatRoom} room
 */
export async function startRoom(room) {
  const roomView = room._view ? Promise.resolve(room._view) : room._api.getRoom(room.id);
  const history = room._history.latest();
  const outbox = room._outbox.read();
  room._server.connect(room._socket);
  room._socket = null;
  // The transfer engine is 100 KB of modules to compile: it waits for the first links
  // (at most firstLinksWait), so it does not hold up their offer, answer and ICE.
  const engine = room._defaultTransfers
    ? linksSettled(room, room._firstLinksWait).then(() => import("./transfer.js"))
    : null;
  engine?.catch(() => {}); // reported below
  const view = await roomView;
  room._kept?.keepView(view);
  room.roomInfo = view.room;
  room.meshLimit = view.mesh_limit;
  const p = view.participant;
  room.me = { participant_id: p.id, peer_id: null, name: p.name, role: p.role };
  room._hlc = new Hlc(p.id, { now: () => room._clock.now() });
  if (room._closed) return;
  room._server.known();
  // The transfers are loaded before the history is: its "file" messages need them.
  const [page] = await Promise.all([history, startTransfers(room, engine)]);
  room._server.historyTop = room._history.take(page);
  const restored = room._outbox.restore(await outbox, room._hlc);
  if (room._closed) return;
  room._ready = true;
  // Channels that opened meanwhile get what waits in the outbox, as on a channel's open.
  for (const m of restored) room._links.sendChat(m);
  room._server.ready();
  room._links.release();
  room._changed();
  room._server.stateChanged();
  room._emit("status");
}

/**
 * Resolves once the server has said welcome (or is unreachable) and the first direct
 * links have connected or given up, or after `ms`. Work that can wait (loading modules,
 * the first render: 100 ms and more on a busy or slow machine) waits for this, as done
 * while the links negotiate it held up each step of it (offer, answer, ICE) by as much
 * (docs/benchmarks.md, "Connect time").
 * @param {ChatRoom} room
 * @param {number} ms
 * @returns {Promise<void>}
 */
export function linksSettled(room, ms) {
  const busy = () =>
    (!room.me?.peer_id && room.serverState === "connecting" && !room.ended) ||
    Array.from(room.peers.values()).some((p) => p.direct && p.path === "connecting");
  if (ms <= 0 || !busy()) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      room._clock.clearTimeout(timer);
      room.removeEventListener("peers", check);
      room.removeEventListener("status", check);
      resolve();
    };
    const check = () => {
      if (!busy()) done();
    };
    const timer = room._clock.setTimeout(done, ms);
    room.addEventListener("peers", check);
    room.addEventListener("status", check);
  });
}

/**
 * Make the default transfer engine, once its modules are loaded, and load its records.
 * @param {ChatRoom} room
 * @param {Promise<typeof import("./transfer.js")> | null} engine
 */
async function startTransfers(room, engine) {
  if (engine) {
    const { Transfers } = await engine;
    if (room._closed) return;
    room.transfers = new Transfers(room);
  }
  await room.transfers?.start();
}
