// The rooms this device is in, kept in IndexedDB ("peerlane-rooms"): each room's view (what
// GET /api/rooms/{id} answered: the room, this person in it) and its latest messages (the
// last KEPT_MESSAGES, by seq, as the server sent them). A room then opens with no server
// (the installed app, offline: sw.js serves the page): the kept view and history stand in
// for the server's until it answers again, and the outbox (store.js) holds what is written
// meanwhile. The home page lists these rooms (room-list.js).
//
// When the person is out of a room for good -- left it (signed out), removed by its owner,
// the room deleted -- forgetRoom drops all of it: the kept view and messages, the unsent
// messages in the outbox; no copy of the room's words stays on the device.
//
// Only a network failure falls back to the kept copy: a refusal (401, 404) is the
// server's word and goes through. IndexedDB missing: nothing is kept, online as before.

import { openDatabase, outboxForget, runInStore } from "./store.js";

/** @typedef {import("./api.js").RoomApi} RoomApi */
/** @typedef {import("./api.js").RoomView} RoomView */
/** @typedef {import("./protocol.js").MessageMsg} MessageMsg */
/**
 * @typedef {{id: string, view: RoomView | null, messages: MessageMsg[], last_at: number, read_seq: number}} KeptRecord
 *   last_at: the newest kept message's time (seconds since the epoch, as the server's `ts`;
 *   0: none). read_seq: what this person has seen, up to (ChatRoom.markRead).
 */

/** Messages kept per room: a screenful and more, what the first history page holds. */
export const KEPT_MESSAGES = 50;
/** Writes wait this long, so a burst of messages is one write. */
const SAVE_DELAY_MS = 300;
const DB_NAME = "peerlane-rooms";
const ROOMS = "rooms";

/** @type {Promise<IDBDatabase | null> | null} */
let opening = null;
/** Rooms forgotten by this page: a write still to come (a room closing) must not bring them back. */
const forgotten = new Set();

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
 * Merge into a room's kept copy: a newer view, messages (the later copy of a seq wins: an
 * edit, a deletion; the newest KEPT_MESSAGES stay), a read position (never backwards).
 * @param {string} roomId
 * @param {RoomView | null} view
 * @param {MessageMsg[]} messages
 * @param {number} read
 * @returns {Promise<KeptRecord | null>}  the record written (null: IndexedDB missing, or
 *   the room forgotten by this page)
 */
export async function updateRoom(roomId, view, messages, read = 0) {
  const db = await database();
  if (!db || forgotten.has(roomId)) return null;
  const old = await readRoom(roomId);
  /** @type {Map<number, MessageMsg>} */
  const bySeq = new Map((old?.messages ?? []).map((m) => [m.seq, m]));
  for (const m of messages) bySeq.set(m.seq, m);
  const kept = [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-KEPT_MESSAGES);
  /** @type {KeptRecord} */
  const record = {
    id: roomId,
    view: view ?? old?.view ?? null,
    messages: kept,
    last_at: Math.max(old?.last_at ?? 0, ...kept.map((m) => m.ts)),
    read_seq: Math.max(old?.read_seq ?? 0, read),
  };
  if (forgotten.has(roomId)) return null; // forgotten while this was being read
  await runInStore(db, ROOMS, "readwrite", (store) => store.put(record));
  return record;
}

/**
 * The messages of a kept room this person has not seen: others' texts and files past
 * the read position (edits, reactions and deletions are not new messages).
 * @param {KeptRecord} record
 * @returns {number}
 */
export function unreadCount(record) {
  const me = record.view?.participant.id;
  return record.messages.filter(
    (m) => m.seq > record.read_seq && m.sender !== me && (m.kind === "text" || m.kind === "file") && !m.deleted_at,
  ).length;
}

/**
 * Forget everything this device keeps of a room: its kept view and messages and its
 * unsent messages. The person is out of it for good (left, removed, the room deleted).
 * @param {string} roomId
 */
export async function forgetRoom(roomId) {
  forgotten.add(roomId);
  const db = await database();
  await Promise.all([
    db ? runInStore(db, ROOMS, "readwrite", (store) => store.delete(roomId)) : null,
    outboxForget(roomId),
  ]);
}

/**
 * One room's copy on this device, written as the room goes.
 */
export class KeptRoom {
  /** @type {RoomView | null} */
  #view = null;
  /** The read position to write (0: unchanged). */
  #read = 0;
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
    forgotten.delete(this.id); // the server's word: in the room (again, a new invite)
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

  /**
   * The person has seen everything up to `seq`.
   * @param {number} seq
   */
  keepRead(seq) {
    if (seq <= this.#read) return;
    this.#read = seq;
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
    const read = this.#read;
    this.#view = null;
    this.#pending.clear();
    if (!view && !pending.length && !read) return this.#writing;
    this.#writing = this.#writing
      .then(() => updateRoom(this.id, view, pending, read))
      .then(
        () => {},
        () => {},
      );
    return this.#writing;
  }

  /**
   * `api` with this copy behind it: what it answers is kept, and when the server cannot
   * be reached (status 0) the kept view and latest messages stand in.
   * @param {RoomApi} api
   * @param {(m: MessageMsg) => Promise<MessageMsg> | MessageMsg} [openKept]  an encrypted
   *   room's: a kept message still sealed (kept by the home page's list) opened
   * @returns {RoomApi}
   */
  wrap(api, openKept = (m) => m) {
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
          if (kept) return { messages: await Promise.all(kept.messages.map(openKept)), has_more: true };
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
