// The rooms this device is in, kept in IndexedDB ("peerlane-rooms"): each room's view (what
// GET /api/rooms/{id} answered: the room, this person in it) and its latest messages (the
// last KEPT_MESSAGES, by seq, as the server sent them). A room then opens with no server
// (the installed app, offline: sw.js serves the page): the kept view and history stand in
// for the server's until it answers again, and the outbox (store.js) holds what is written
// meanwhile. The home page lists these rooms (room-list.js).
//
// Only a network failure falls back to the kept copy: a refusal (401, 404) is the
// server's word and goes through. IndexedDB missing: nothing is kept, online as before.

import { openDatabase, runInStore } from "./store.js";

/** @typedef {import("./api.js").RoomApi} RoomApi */
/** @typedef {import("./api.js").RoomView} RoomView */
/** @typedef {import("./protocol.js").MessageMsg} MessageMsg */
/**
 * @typedef {{id: string, view: RoomView | null, messages: MessageMsg[], last_at: number}} KeptRecord
 *   last_at: the newest kept message's time (ms since the epoch; 0: none).
 */

/** Messages kept per room: a screenful and more, what the first history page holds. */
export const KEPT_MESSAGES = 50;
/** Writes wait this long, so a burst of messages is one write. */
const SAVE_DELAY_MS = 300;
const DB_NAME = "peerlane-rooms";
const ROOMS = "rooms";

/** @type {Promise<IDBDatabase | null> | null} */
let opening = null;

/** @returns {Promise<IDBDatabase | null>} */
function database() {
  opening ??= openDatabase(DB_NAME, 1, (db) => db.createObjectStore(ROOMS, { keyPath: "id" }), {
    what: "rooms",
    giveUpWhenBlocked: true,
  });
  return opening;
}

/**
 * The kept copy of a room, or null.
 * @param {string} roomId
 * @returns {Promise<KeptRecord | null>}
 */
export async function readRoom(roomId) {
  const db = await database();
  if (!db) return null;
  const found = await runInStore(db, ROOMS, "readonly", (store) => store.get(roomId));
  return /** @type {KeptRecord | undefined} */ (found) ?? null;
}

/**
 * Every room kept on this device, the most recently active first.
 * @returns {Promise<KeptRecord[]>}
 */
export async function listRooms() {
  const db = await database();
  if (!db) return [];
  const all = /** @type {KeptRecord[]} */ (await runInStore(db, ROOMS, "readonly", (store) => store.getAll()));
  return all.filter((r) => r.view).sort((a, b) => b.last_at - a.last_at);
}

/**
 * Forget a room (left, deleted).
 * @param {string} roomId
 */
export async function forgetRoom(roomId) {
  const db = await database();
  if (db) await runInStore(db, ROOMS, "readwrite", (store) => store.delete(roomId));
}

/**
 * One room's copy on this device, written as the room goes.
 */
export class KeptRoom {
  /** @type {RoomView | null} */
  #view = null;
  /** seq → message: what arrived since the last write. @type {Map<number, MessageMsg>} */
  #pending = new Map();
  /** @type {ReturnType<typeof setTimeout> | null} */
  #timer = null;
  /** The write under way (writes go one after the other). @type {Promise<void>} */
  #writing = Promise.resolve();

  /** @param {string} roomId */
  constructor(roomId) {
    this.id = roomId;
    unsaved.add(this);
  }

  /** The room is closed: write what is pending, and no more. */
  close() {
    unsaved.delete(this);
    void this.flush();
  }

  /** @param {RoomView} view */
  keepView(view) {
    this.#view = view;
    this.#schedule();
  }

  /**
   * A message from the server (live, replayed or from history).
   * @param {MessageMsg} msg
   */
  keepMessage(msg) {
    if (typeof msg.seq !== "number") return;
    this.#pending.set(msg.seq, msg);
    this.#schedule();
  }

  #schedule() {
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      void this.flush();
    }, SAVE_DELAY_MS);
  }

  /** Write what is pending now. @returns {Promise<void>} */
  flush() {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const view = this.#view;
    const pending = [...this.#pending.values()];
    this.#view = null;
    this.#pending.clear();
    if (!view && !pending.length) return this.#writing;
    this.#writing = this.#writing.then(() => this.#write(view, pending)).catch(() => {});
    return this.#writing;
  }

  /**
   * @param {RoomView | null} view
   * @param {MessageMsg[]} pending
   */
  async #write(view, pending) {
    const db = await database();
    if (!db) return;
    const old = await readRoom(this.id);
    /** @type {Map<number, MessageMsg>} */
    const bySeq = new Map((old?.messages ?? []).map((m) => [m.seq, m]));
    for (const m of pending) bySeq.set(m.seq, m); // the later copy: an edit, a deletion
    const messages = [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-KEPT_MESSAGES);
    /** @type {KeptRecord} */
    const record = {
      id: this.id,
      view: view ?? old?.view ?? null,
      messages,
      last_at: Math.max(old?.last_at ?? 0, ...messages.map((m) => m.ts)),
    };
    await runInStore(db, ROOMS, "readwrite", (store) => store.put(record));
  }

  /**
   * `api` with this copy behind it: what it answers is kept, and when the server cannot
   * be reached (status 0) the kept view and latest messages stand in.
   * @param {RoomApi} api
   * @returns {RoomApi}
   */
  wrap(api) {
    return {
      getRoom: async (roomId) => {
        try {
          return await api.getRoom(roomId); // kept by startRoom (as is a view given)
        } catch (err) {
          const kept = unreachable(err) ? await readRoom(roomId).catch(() => null) : null;
          if (kept?.view) return kept.view;
          throw err;
        }
      },
      getMessages: async (roomId, query = {}) => {
        try {
          return await api.getMessages(roomId, query);
        } catch (err) {
          const latest = query.before === undefined && query.after === undefined;
          const kept = latest && unreachable(err) ? await readRoom(roomId).catch(() => null) : null;
          // Older pages come from the server once it is back.
          if (kept) return { messages: kept.messages, has_more: true };
          throw err;
        }
      },
    };
  }
}

/** The copies with writes to do when the page goes (a reload, a closed tab). @type {Set<KeptRoom>} */
const unsaved = new Set();
globalThis.addEventListener?.("pagehide", () => {
  for (const kept of unsaved) void kept.flush();
});

/**
 * The server could not be reached (ApiError status 0), as opposed to answering no.
 * @param {unknown} err
 */
function unreachable(err) {
  return /** @type {{status?: number}} */ (err)?.status === 0;
}
