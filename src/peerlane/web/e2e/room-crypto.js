// A room's chat crypto (docs/protocol.md, "End-to-end encryption"): in an encrypted room,
// own message bodies are sealed before they leave (the outbox and the direct links send
// what `wire` gives), and what arrives -- server frames, history pages, data-channel
// chat -- is opened in the order it came before the room sees it. A body that cannot be
// opened becomes a placeholder text; nothing leaves unsealed. A room is encrypted when
// this device holds its key or its name (as the server holds it) is sealed; a room made
// before encryption (a clear name, no key) passes bodies through as they are.

import { debug } from "../debug.js";
import { RoomKeys } from "./key-rotation.js";
import { OpeningSignaling } from "./opening-signaling.js";
import {
  E2EError,
  envelopeKid,
  isEnvelope,
  openChatBody,
  openRoomName,
  RoomKey,
  sealChatBody,
  sealRoomName,
  TAG_SIZE,
} from "./scheme.js";

/** @typedef {import("../chat-types.js").SignalingLike} SignalingLike */
/** @typedef {import("../api.js").RoomApi} RoomApi */
/** @typedef {import("../api.js").RoomView} RoomView */
/**
 * A chat message's fields that sealing and opening read.
 * @typedef {{id: string, sender: string, kind: string, ref?: number | null, body: unknown,
 *   seq?: number | null, edited_at?: number | null}} ChatLike
 */

/** What a message that cannot be opened shows. */
export const UNDECRYPTABLE = "🔒 This message could not be decrypted.";
/** The name shown for an encrypted room whose key this device does not hold. */
export const LOCKED_NAME = "Encrypted room";
/** An envelope's characters besides its ciphertext: "e2e1.", the key id, ".", the nonce, ".". */
const ENVELOPE_HEAD = 34;

/**
 * The largest clear body (UTF-8 bytes of its JSON, as body-size.js counts) whose sealed
 * envelope, a JSON string, stays within the server's `limit`: what the composer allows.
 * @param {number} limit
 */
export function clearBodyLimit(limit) {
  if (!Number.isFinite(limit)) return limit;
  return Math.max(0, Math.floor(((limit - 2 - ENVELOPE_HEAD) * 3) / 4) - TAG_SIZE);
}

/** The server is asked for keys this device lacks at most this often. */
const FETCH_EVERY_MS = 3000;

/** Sealed bodies kept for resending, at most (the oldest go first). */
const WIRE_KEPT = 500;

/** Messages kept sealed until their key comes, at most (the oldest go first). */
const LOCKED_KEPT = 1000;

/**
 * The content id a body is bound to: the message's id; an edit's is "#" and the seq it
 * edits, and so is a message's shown in its edited state (the server put the edit's
 * body there).
 * @param {ChatLike} msg
 */
export function contentIdOf(msg) {
  if (msg.kind === "edit" && typeof msg.ref === "number") return `#${msg.ref}`;
  if (msg.edited_at != null && typeof msg.seq === "number") return `#${msg.seq}`;
  return msg.id;
}

/** Whether a room's name (as the server holds it) says the room is encrypted. @param {unknown} name */
export function sealedRoom(name) {
  return isEnvelope(name);
}

export class RoomCrypto {
  /**
   * @param {string} roomId
   * @param {RoomKey | null} key  null: an encrypted room this device has no key for
   */
  constructor(roomId, key) {
    this.roomId = roomId;
    /** The current key: what own bodies are sealed with. */
    this.key = key;
    /** Every epoch's key this device holds, by key id (a rotation adds one). @type {Map<string, RoomKey>} */
    this.keys = new Map(key ? [[key.kid, key]] : []);
    /**
     * Asks the server for keys wrapped to this device (e2e/key-rotation.js), when an
     * envelope names a key not held; null: nowhere to ask (tests, a room page's start).
     * @type {(() => Promise<unknown>) | null}
     */
    this.fetchMissing = null;
    /** @type {Promise<unknown> | null} */
    this._fetching = null;
    this._fetchedAt = -Infinity;
    /** Whether the server holds the room's name sealed; null until a view was seen. @type {boolean | null} */
    this.sealedName = null;
    /** id → the body sealed, and the JSON of the body it was sealed from. @type {Map<string, {of: string, sealed: string}>} */
    this._wire = new Map();
    this._sealing = Promise.resolve();
    /** @type {Promise<void>} */
    this._opening = Promise.resolve();
    /**
     * Messages shown as the placeholder because their key was not held, as they arrived
     * (sender NUL id → message): opened again when a key with their id comes.
     * @type {Map<string, ChatLike>}
     */
    this.locked = new Map();
    /**
     * Gets each locked message once it opens (the room puts it in place of its
     * placeholder); null: nobody listens, they stay locked.
     * @type {((opened: ChatLike) => void) | null}
     */
    this.onReopen = null;
  }

  /**
   * @param {string} roomId
   * @param {{current: string | null, kept: {secret: string, epoch: number}[]}} keyring
   *   the current key as an invite link carries it, and every key this device kept
   *   (e2e/room-keys.js roomKeyring)
   */
  static async forRoom(roomId, { current, kept }) {
    /** @param {string} text @param {number} [epoch] */
    const decode = (text, epoch) =>
      RoomKey.decode(text, epoch).catch((err) => {
        debug("e2e", "a room key is damaged", err);
        return null;
      });
    // Each key once, all at once: the current one with the epoch it was kept under.
    const keptEpoch = kept.find((k) => k.secret === current)?.epoch;
    const [key, ...older] = await Promise.all([
      current ? decode(current, keptEpoch) : null,
      ...kept.filter((k) => k.secret !== current).map((k) => decode(k.secret, k.epoch)),
    ]);
    const made = new RoomCrypto(roomId, key);
    // Keys wrapped to this device since (a rotation while away; older history).
    made.fetchMissing = () => new RoomKeys(roomId, made).fetch();
    // The older epochs' keys this device kept (history sealed before a rotation).
    for (const old of older) if (old) made.addKey(old, false);
    return made;
  }

  /**
   * Hold another epoch's key; `current`: seal own bodies with it from now on.
   * @param {RoomKey} key
   * @param {boolean} current
   */
  addKey(key, current) {
    const held = this.keys.get(key.kid);
    if (held && held.epoch < key.epoch)
      held.epoch = key.epoch; // a link's key learns its epoch
    else if (!held) this.keys.set(key.kid, key);
    if (current || !this.key) this.key = this.keys.get(key.kid) ?? key;
    if (!held) this.#reopen(key.kid);
  }

  /**
   * Open again, after what arrived before, the locked messages a new key opens.
   * @param {string} kid
   */
  #reopen(kid) {
    if (!this.onReopen) return;
    for (const [at, msg] of this.locked) {
      if (envelopeKid(msg.body) !== kid) continue;
      this.locked.delete(at);
      this.inOrder(async () => {
        const opened = await this.openMessage(msg);
        if (!("e2e_error" in opened)) this.onReopen?.(opened);
      });
    }
  }

  /**
   * Ask the server for the keys wrapped to this device now (a `keys` frame says one may
   * be there), unless a fetch is under way: it is joined.
   */
  fetchKeys() {
    if (!this.fetchMissing) return Promise.resolve();
    this._fetching ??= this.fetchMissing()
      .catch((err) => debug("e2e", "room keys not fetched", err))
      .finally(() => {
        this._fetchedAt = Date.now();
        this._fetching = null;
      });
    return this._fetching;
  }

  /** @param {number} epoch */
  keyOfEpoch(epoch) {
    for (const key of this.keys.values()) if (key.epoch === epoch) return key;
    return null;
  }

  /** @param {number} epoch */
  hasEpoch(epoch) {
    return this.keyOfEpoch(epoch) !== null;
  }

  /**
   * The key an envelope names: held, or fetched once from the server (throttled).
   * @param {unknown} envelope
   */
  async keyFor(envelope) {
    const kid = envelopeKid(envelope);
    const held = this.keys.get(kid);
    if (held) return held;
    if (this._fetching || Date.now() - this._fetchedAt > FETCH_EVERY_MS) await this.fetchKeys();
    const fetched = this.keys.get(kid);
    if (!fetched) throw new E2EError("wrong_key", "sealed with a key this device does not hold");
    return fetched;
  }

  /** The room's name sealed with the current key. @param {string} name */
  sealName(name) {
    if (!this.key) throw new E2EError("wrong_key", "This device does not have the room's key.");
    return sealRoomName(this.key, name);
  }

  /** Whether the room is end-to-end encrypted (false: a room made before it). */
  get encrypted() {
    return this.key !== null || this.sealedName === true;
  }

  /** The key as invite links carry it ("" without one). */
  get keyText() {
    return this.key?.encoded() ?? "";
  }

  /**
   * The body of an own message as it goes out (a deletion's null as it is), or undefined
   * until prepare() has sealed this very body.
   * @param {ChatLike} m
   * @returns {unknown}
   */
  wire(m) {
    if (m.body === null || !this.encrypted) return m.body;
    const entry = this._wire.get(m.id);
    return entry && entry.of === JSON.stringify(m.body) ? entry.sealed : undefined;
  }

  /**
   * Seal an own message's body, one after another (so they go out in the order written).
   * Rejects with E2EError when this device has no key for the room.
   * @param {ChatLike} m
   * @returns {Promise<void>}
   */
  prepare(m) {
    const run = this._sealing.then(async () => {
      if (this.wire(m) !== undefined) return;
      if (!this.key) throw new E2EError("wrong_key", "This device does not have the room's key.");
      const of = JSON.stringify(m.body);
      const context = { roomId: this.roomId, sender: m.sender, contentId: contentIdOf(m) };
      const sealed = await sealChatBody(this.key, m.body, context);
      this._wire.delete(m.id);
      this._wire.set(m.id, { of, sealed });
      if (this._wire.size > WIRE_KEPT) this._wire.delete(/** @type {string} */ (this._wire.keys().next().value));
    });
    this._sealing = run.catch(() => {});
    return run;
  }

  /**
   * A message as it arrived, with its body opened (or the placeholder, and `e2e_error`).
   * @template {ChatLike} T
   * @param {T} msg
   * @returns {Promise<T>}
   */
  async openMessage(msg) {
    if (msg.body === null || msg.body === undefined) return msg; // deleted, or a deletion
    if (!this.encrypted && !isEnvelope(msg.body)) return msg; // a room made before encryption
    try {
      const key = await this.keyFor(msg.body);
      const context = { roomId: this.roomId, sender: msg.sender, contentId: contentIdOf(msg) };
      return { ...msg, body: await openChatBody(key, msg.body, context) };
    } catch (err) {
      const code = err instanceof E2EError ? err.code : "malformed";
      debug("e2e", "a message could not be opened", msg.id, code);
      if (code === "wrong_key") this.#lock(msg);
      const kind = msg.kind === "edit" ? "edit" : "text";
      return { ...msg, kind, body: UNDECRYPTABLE, e2e_error: code };
    }
  }

  /**
   * Keep a message whose key is not held, to open it when the key comes.
   * @param {ChatLike} msg
   */
  #lock(msg) {
    const at = `${msg.sender}\u0000${msg.id}`;
    this.locked.delete(at); // a later copy (the server's after a peer's) takes its place
    this.locked.set(at, msg);
    if (this.locked.size > LOCKED_KEPT) this.locked.delete(/** @type {string} */ (this.locked.keys().next().value));
  }

  /**
   * A message from this device's copy of the room (device-rooms.js): kept opened by the
   * room, or sealed by the home page's list, which has no key.
   * @template {ChatLike} T
   * @param {T} msg
   * @returns {Promise<T>}
   */
  openKept = async (msg) => (isEnvelope(msg.body) ? this.openMessage(msg) : msg);

  /**
   * Hand `msg`, opened, to `handle`, after everything that arrived before it.
   * @template {ChatLike} T
   * @param {T} msg
   * @param {(opened: T) => void} handle
   */
  deliver(msg, handle) {
    this.inOrder(() => this.openMessage(msg).then(handle));
  }

  /**
   * Run `step` after the arrivals before it (an arrival with nothing to open keeps its place).
   * @param {() => unknown} step
   */
  inOrder(step) {
    this._opening = this._opening.then(async () => {
      try {
        await step();
      } catch (err) {
        queueMicrotask(() => {
          throw err; // the room's bug, not the crypto's: report it as the direct call would
        });
      }
    });
  }

  /** A room's name as shown. @param {string} name */
  async openName(name) {
    this.sealedName = sealedRoom(name);
    if (!this.sealedName) return name;
    try {
      return await openRoomName(await this.keyFor(name), name);
    } catch (err) {
      debug("e2e", "the room's name could not be opened", err);
      return LOCKED_NAME;
    }
  }

  /**
   * @template {{room: {name: string}}} V
   * @param {V} view
   * @returns {Promise<V>}
   */
  async openView(view) {
    return { ...view, room: { ...view.room, name: await this.openName(view.room.name) } };
  }

  /**
   * The room API with names and bodies opened.
   * @param {RoomApi} api
   * @returns {RoomApi}
   */
  api(api) {
    return {
      getRoom: async (roomId) => this.openView(await api.getRoom(roomId)),
      getMessages: async (roomId, query) => {
        const page = await api.getMessages(roomId, query);
        return { ...page, messages: await Promise.all(page.messages.map((m) => this.openMessage(m))) };
      },
    };
  }

  /**
   * The room's WebSocket with message bodies opened, every event in its order.
   * @param {SignalingLike} inner
   * @returns {SignalingLike}
   */
  signaling(inner) {
    return new OpeningSignaling(inner, this);
  }
}

/**
 * A new encrypted room's key and its sealed name, for the create request.
 * @param {string} name  the clear name ("" for none: sealed all the same)
 */
export async function newRoomSecrets(name) {
  const key = await RoomKey.generate();
  return { keyText: key.encoded(), sealedName: await sealRoomName(key, name) };
}
