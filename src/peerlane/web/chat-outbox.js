// The outbox: own messages waiting for the server's ack, in memory and in IndexedDB
// (store.js) so they survive a reload. ChatRoom (chat.js) puts messages in and takes the
// acks; this module decides what goes to the server when.
//
// Resending: when a connection is up (synced), the outbox asks the server which of its
// messages it stored (`stored`: a connection lost, or a crash or reload, can swallow
// their acks) and resends exactly the missing ones, oldest first; new messages wait for
// the answer so the order holds. A transient refusal (rate_limited…) retries with
// exponential backoff and jitter. While the outbox is not empty, Signaling pings often
// (awaitAcks), so a server that died without closing the socket is noticed in seconds.

import { bodyBytes, sizeWords } from "./body-size.js";
import { debug } from "./debug.js";
import { compareHlc } from "./hlc.js";
import { MAX_STORED_IDS } from "./protocol.js";

/** @typedef {import("./chat-log.js").ChatMessage} ChatMessage */
/** @typedef {import("./chat-log.js").MessageLog} MessageLog */
/** @typedef {import("./store.js").OutboxStore} OutboxStore */
/** @typedef {import("./store.js").OutboxItem} OutboxItem */
/** @typedef {import("./hlc.js").Clock} Clock */
/** @typedef {import("./hlc.js").Hlc} Hlc */
/** @typedef {import("./protocol.js").ClientMessage} ClientMessage */
/** @typedef {import("./protocol.js").StoredMsg} StoredMsg */

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/**
 * What the outbox needs of its room.
 * @typedef {{
 *   roomId: string, store: OutboxStore, clock: Clock, random: () => number, log: MessageLog,
 *   me: () => string | null,
 *   online: () => boolean,
 *   send: (message: ClientMessage) => boolean,
 *   awaitAcks: (busy: boolean) => void,
 *   onAck: (ack: {id: string, seq: number, ts: number}) => void,
 *   toPeers: (m: ChatMessage) => void,
 *   maxBodyBytes: () => number,
 *   onError: (error: {code: string, message: string}) => void,
 *   sealer?: Sealer | null,
 * }} OutboxHost
 *   me: own participant id (null before start).
 *   online: whether the server connection is open.
 *   send: one message on the server connection; false when it is gone.
 *   awaitAcks: tells Signaling whether messages wait for acks (pings more often).
 *   onAck: a message the server says it has stored (ChatRoom merges it and unqueues it).
 *   toPeers: a message to every open data channel.
 *   maxBodyBytes: the server's body limit (from welcome; Infinity before).
 *   onError: a message refused before it went anywhere, in plain words.
 *   sealer: an end-to-end encrypted room's (e2e/room-crypto.js): bodies go out as it
 *   seals them, never as they are.
 */
/**
 * @typedef {{wire(m: ChatMessage): unknown, prepare(m: ChatMessage): Promise<void>}} Sealer
 *   wire: the body as it goes out, undefined until prepare(m) has sealed it.
 */

/** Said when an encrypted room's message cannot be sealed on this device. */
export const NO_ROOM_KEY =
  "This device doesn't have the room's key, so messages can't be sent from it. Open the room's invite link here.";

/**
 * A message too large to send, in plain words.
 * @param {number | null} bytes  its size, when known
 * @param {number} limit  the server's limit (may be Infinity when unknown)
 * @returns {string}
 */
export function tooLargeText(bytes, limit) {
  const sizes = bytes !== null && Number.isFinite(limit) ? ` (${sizeWords(bytes)}; at most ${sizeWords(limit)})` : "";
  return `That message is too long to send${sizes}. Delete it, or send the text as a file.`;
}

export class Outbox {
  /** @param {OutboxHost} host */
  constructor(host) {
    this._host = host;
    /** Own messages waiting for a server ack: id → retry state, and whether a send of it
     * may have reached the server. @type {Map<string, {attempt: number, timer: unknown, sent?: boolean}>} */
    this._pending = new Map();
    /** Answers still due to this connection's `stored` questions; null when none was asked. @type {number | null} */
    this._storedDue = null;
    /** Outbox writes, one after another, so a remove never overtakes its add. */
    this._storeQueue = Promise.resolve();
  }

  /** Whether a `stored` question is open (its errors end it: see storedFailed). */
  get asking() {
    return this._storedDue !== null;
  }

  /** @param {string} id */
  has(id) {
    return this._pending.has(id);
  }

  /**
   * Whether a waiting message went out on a server connection (and so may be stored,
   * its ack not yet in): a change to it then cannot be made in place alone.
   * @param {string} id
   */
  reachedServer(id) {
    return this._pending.get(id)?.sent === true;
  }

  /**
   * Whether a body is within the server's limit.
   * @param {unknown} body
   * @param {number} limit
   */
  fits(body, limit) {
    return bodyBytes(body) <= limit;
  }

  /**
   * Send an own message (new, or retried): to the server and every open data channel,
   * and into the outbox until the server acks it. One the server would refuse for its
   * size fails before it goes anywhere: once a peer has it there is no taking it back.
   * @param {ChatMessage} m  in the log, state "sending"
   */
  send(m) {
    const { sealer, log } = this._host;
    if (sealer && sealer.wire(m) === undefined) {
      // Sealing takes a moment (WebCrypto); the message shows as "sending" meanwhile.
      sealer.prepare(m).then(
        () => log.get(m.sender, m.id) === m && this.send(m), // unless deleted meanwhile
        () => this._unsealable(m),
      );
      return;
    }
    const limit = this._host.maxBodyBytes();
    const bytes = bodyBytes(this.wireBody(m));
    if (bytes > limit) {
      m.final = true; // the same body can never pass: no Retry, only Delete
      this._host.log.setState(m, "failed");
      this._host.onError({ code: "body_too_large", message: tooLargeText(bytes, limit) });
      return;
    }
    this.queue(m);
    this.sendToServer(m);
    this._host.toPeers(m);
  }

  /** Into the outbox (memory and store) until the server acks it. @param {ChatMessage} m */
  queue(m) {
    if (!this._pending.has(m.id)) this._pending.set(m.id, { attempt: 0, timer: null });
    this._pendingChanged();
    const item = this._item(m);
    this._storeOp(() => this._host.store.outboxAdd(item));
  }

  /** Out of the outbox: acked, or failed for good. @param {string} id */
  unqueue(id) {
    const entry = this._pending.get(id);
    if (!entry) return;
    this._host.clock.clearTimeout(entry.timer);
    this._pending.delete(id);
    this._pendingChanged();
    this._storeOp(() => this._host.store.outboxRemove(id));
  }

  /**
   * The outbox as stored (empty when unreadable).
   * @returns {Promise<OutboxItem[]>}
   */
  async read() {
    try {
      return await this._host.store.outboxList(this._host.roomId);
    } catch (err) {
      debug("chat", "outbox unreadable", err);
      return [];
    }
  }

  /**
   * After a reload: unsent messages reappear as "sending" (unless history has them).
   * @param {OutboxItem[]} items
   * @param {Hlc | null} hlc  the room's clock: never hands out a timestamp below one used
   * @returns {ChatMessage[]}  the messages put back
   */
  restore(items, hlc) {
    const { log, store } = this._host;
    /** @type {ChatMessage[]} */
    const restored = [];
    for (const item of items) {
      if (log.get(item.sender, item.id)?.seq != null) {
        this._storeOp(() => store.outboxRemove(item.id)); // stored before the reload
        continue;
      }
      hlc?.receive(item.hlc);
      restored.push(log.fromOutbox(item));
      // Sent before the reload or not, nobody knows: a change to it is said to the server too.
      this._pending.set(item.id, { attempt: 0, timer: null, sent: true });
    }
    this._pendingChanged();
    return restored;
  }

  /** Own messages waiting, not failed, oldest first; for a channel that opens. @returns {ChatMessage[]} */
  waiting() {
    const me = this._host.me();
    if (me === null) return [];
    const out = [];
    for (const id of this._pending.keys()) {
      const m = this._host.log.get(me, id);
      if (m && m.state !== "failed") out.push(m);
    }
    return out;
  }

  /**
   * Send a message to the server, unless it is unreachable or a `stored` question is open
   * (then the flush sends the missing and the new ones, oldest first).
   * @param {ChatMessage} m
   * @returns {boolean}
   */
  sendToServer(m) {
    if (!this._host.online() || this._storedDue !== null) return false;
    const body = this.wireBody(m);
    if (body === undefined) {
      // Changed in place, or back from the store after a reload: sealed first.
      this._host.sealer?.prepare(m).then(
        () => this.sendToServer(m),
        () => this._unsealable(m),
      );
      return false;
    }
    const sent = this._host.send({ type: "chat", id: m.id, body, kind: m.kind, ref: m.ref });
    const entry = this._pending.get(m.id);
    if (sent && entry) entry.sent = true;
    return sent;
  }

  /**
   * The connection is (back) up: ask which of the waiting messages the server has
   * stored (their acks may have been lost), then send the rest (onStored).
   */
  resume() {
    const ids = this._unacked().map((m) => m.id);
    if (ids.length === 0) return;
    const parts = [];
    for (let i = 0; i < ids.length; i += MAX_STORED_IDS) parts.push(ids.slice(i, i + MAX_STORED_IDS));
    this._storedDue = parts.length; // before sending: an answer may come at once
    for (const part of parts) {
      if (!this._host.send({ type: "stored", ids: part })) {
        this._storedDue = null; // the connection is gone; the next one asks again
        return;
      }
    }
  }

  /**
   * The answer to a `stored` question: the stored ones are acked, and once every part
   * is answered the rest is sent.
   * @param {StoredMsg} answer
   */
  onStored(answer) {
    for (const ack of answer.acks) this._host.onAck(ack);
    if (this._storedDue === null) return;
    this._storedDue -= 1;
    if (this._storedDue > 0) return;
    this._storedDue = null;
    this._flush();
  }

  /** The `stored` question went unanswered (an older server, or refused): resend all. */
  storedFailed() {
    this._storedDue = null;
    this._flush();
  }

  /** The connection is gone: an open question goes unanswered; the next one asks again. */
  connectionLost() {
    this._storedDue = null;
  }

  /**
   * A transient refusal: try again later, waiting longer each time.
   * @param {ChatMessage} m
   */
  scheduleRetry(m) {
    const entry = this._pending.get(m.id);
    if (!entry || entry.timer !== null) return;
    const base = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** entry.attempt);
    entry.attempt += 1;
    entry.timer = this._host.clock.setTimeout(
      () => {
        entry.timer = null;
        if (this._pending.get(m.id) === entry && m.seq === null) this.sendToServer(m);
      },
      base / 2 + this._host.random() * (base / 2),
    );
  }

  /**
   * The body of a message as it goes out (sealed in an encrypted room), or undefined
   * when it is not sealed yet.
   * @param {ChatMessage} m
   * @returns {unknown}
   */
  wireBody(m) {
    return this._host.sealer ? this._host.sealer.wire(m) : m.body;
  }

  /** An encrypted room's message this device cannot seal: it fails, for good. @param {ChatMessage} m */
  _unsealable(m) {
    this.unqueue(m.id);
    m.final = true;
    this._host.log.setState(m, "failed");
    this._host.onError({ code: "e2e_no_key", message: NO_ROOM_KEY });
  }

  /** Cancel the retry timers (the room closes). */
  close() {
    for (const entry of this._pending.values()) this._host.clock.clearTimeout(entry.timer);
  }

  /** Send what waits, oldest first, once each (the server drops an id it has already). */
  _flush() {
    for (const m of this._unacked()) {
      const entry = this._pending.get(m.id);
      if (entry) {
        this._host.clock.clearTimeout(entry.timer);
        entry.timer = null;
      }
      this.sendToServer(m);
    }
  }

  /** Own messages waiting for an ack, oldest first. @returns {ChatMessage[]} */
  _unacked() {
    return this.waiting()
      .filter((m) => m.seq === null)
      .sort((a, b) => compareHlc(a.hlc, b.hlc));
  }

  /** Signaling pings more often while anything waits for an ack. */
  _pendingChanged() {
    this._host.awaitAcks(this._pending.size > 0);
  }

  /** @param {() => Promise<void>} op */
  _storeOp(op) {
    this._storeQueue = this._storeQueue.then(op).catch((err) => debug("chat", "outbox write failed", err));
  }

  /**
   * @param {ChatMessage} m
   * @returns {OutboxItem}
   */
  _item(m) {
    const { id, hlc, sender, sender_name, kind, ref, body } = m;
    return { id, room_id: this._host.roomId, hlc, sender, sender_name, kind, ref, body, created_at: m.ts ?? 0 };
  }
}
