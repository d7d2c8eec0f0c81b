// The message log: one room's messages, merged from the server (live, replayed, history),
// the data channels and the outbox, in display order, each once. Pure: no DOM, no timers,
// no network; ChatRoom (chat.js) feeds it and turns its changes into events.
//
// Ordering: messages the server has numbered sort by seq; the others (in flight, or sent
// while the server is unreachable) sort after them by hybrid logical clock. The same
// message arriving by data channel and by server is one entry, keyed by (sender, id).
// Reactions are messages too (kind "reaction", ref = the target's seq); they aggregate
// into their target's `reactions` (chat-reactions.js) and are not shown themselves. Of the "file" messages
// (transfer control, room.transfers runs them) only the offers are shown: the timeline's
// row of a file (ui/file-message.js); the rest are not. Nor are edits and deletions, which
// change their target (chat-changes.js).

import { applyChange, clearPending, markPending } from "./chat-changes.js";
import { ReactionIndex, tally } from "./chat-reactions.js";
import { compareHlc, formatHlc } from "./hlc.js";

export { shownBody } from "./chat-changes.js";

/** @typedef {import("./protocol.js").ChatKind} ChatKind */
/** @typedef {import("./protocol.js").MessageMsg} MessageMsg */
/** @typedef {import("./protocol.js").PeerChatMsg} PeerChatMsg */
/** @typedef {import("./store.js").OutboxItem} OutboxItem */

/** @typedef {"sending" | "sent" | "delivered" | "read" | "failed"} MessageState */

/**
 * @typedef {{
 *   id: string, seq: number | null, hlc: string, sender: string, sender_name: string,
 *   ts: number | null, kind: ChatKind, ref: number | null, body: unknown,
 *   state: MessageState, reactions: Map<string, Set<string>>,
 *   edited_at?: number | null, deleted_at?: number | null, final?: boolean,
 *   pending?: ChatMessage | null, afterAck?: {kind: "edit", body: unknown} | {kind: "delete"} | null,
 * }} ChatMessage
 *   ts: seconds since the epoch (server time once the server has it).
 *   reactions: emoji → participant ids, aggregated from "reaction" messages.
 *   edited_at / deleted_at: when its sender last edited or deleted it (server time).
 *   final: an own "failed" message that sending again cannot help (too large, refused
 *   for good): it offers no Retry, only Delete.
 *   state: meaningful for own messages; others' are "sent" (numbered) or "delivered"
 *   (so far only received over a data channel).
 *   pending: an own edit or deletion of this message not yet stored by the server (in the
 *   outbox): shown at once, undone if the server refuses it (see shownBody).
 *   afterAck: an own message changed while it may already have reached the server: the
 *   change goes out as an edit or deletion once its seq is known (chat-own.js).
 */

/** Kinds that are part of the log but not shown as messages of their own. */
const HIDDEN_KINDS = new Set(["reaction", "file", "edit", "delete"]);

/**
 * A file offer: the one "file" message that is shown (the transfer's row in the timeline).
 * @param {{kind?: string, body: unknown}} m
 */
export function isFileOffer(m) {
  const body = /** @type {{op?: unknown} | null} */ (m.body);
  return m.kind === "file" && !!body && typeof body === "object" && body.op === "offer";
}

/**
 * Whether a message is a row of its own.
 * @param {ChatMessage} m
 */
const isShown = (m) => !HIDDEN_KINDS.has(m.kind) || isFileOffer(m);

/** @type {Record<MessageState, number>} how far along a message is; it only moves forward */
const RANK = { failed: -1, sending: 0, sent: 1, delivered: 2, read: 3 };

/**
 * The one key of a message: the same (sender, id) is the same message, whichever way it
 * came. Ids are UUIDs and participant ids have no NUL, so the pair cannot be ambiguous.
 * @param {string} sender
 * @param {string} id
 */
export const keyOf = (sender, id) => `${sender}\u0000${id}`;

/**
 * Display order: numbered messages by seq, then the rest by HLC, ties by (sender, id).
 * @param {ChatMessage} a
 * @param {ChatMessage} b
 * @returns {number}
 */
export function compareMessages(a, b) {
  if (a.seq !== null && b.seq !== null) return a.seq - b.seq;
  if (a.seq !== null) return -1;
  if (b.seq !== null) return 1;
  return compareHlc(a.hlc, b.hlc) || compareHlc(a.sender, b.sender) || compareHlc(a.id, b.id);
}

/**
 * The state of an own message that now has a seq: at least "sent", "read" if a read
 * receipt covers it.
 * @param {number} seq
 * @param {MessageState} current
 * @param {number} readUpTo  the highest seq someone else has read
 * @returns {MessageState}
 */
export function ownState(seq, current, readUpTo) {
  if (seq <= readUpTo) return "read";
  return RANK[current] >= RANK.sent ? current : "sent";
}

/**
 * A data-channel chat with the fields and types the room needs.
 * @param {PeerChatMsg} m
 * @param {readonly string[]} kinds  the chat kinds this client knows
 * @returns {boolean}
 */
export function isPeerChat(m, kinds) {
  return (
    typeof m.id === "string" &&
    m.id.length > 0 &&
    m.id.length <= 64 &&
    typeof m.sender === "string" &&
    typeof m.sender_name === "string" &&
    typeof m.hlc === "string" &&
    kinds.includes(m.kind) &&
    (m.ref === null || m.ref === undefined || Number.isInteger(m.ref))
  );
}

export class MessageLog {
  /**
   * @param {{onChange?: () => void, onAdd?: (m: ChatMessage) => void}} [hooks]
   *   onChange: something shown changed (after each change; the caller batches).
   *   onAdd: a message is new to the log (once per (sender, id)).
   */
  constructor(hooks = {}) {
    this._onChange = hooks.onChange ?? (() => {});
    this._onAdd = hooks.onAdd ?? (() => {});
    /** Every message, reactions included. @type {Map<string, ChatMessage>} */
    this._byKey = new Map();
    /** Shown messages (not reactions) by seq. @type {Map<number, ChatMessage>} */
    this._bySeq = new Map();
    /** The reactions to each target seq. */
    this._reactions = new ReactionIndex();
    /** @type {ChatMessage[]} */
    this._sorted = [];
    this._dirty = false;
    /** The lowest seq held: older history is fetched before it. @type {number | null} */
    this.minSeq = null;
    /** @type {number | null} */
    this.maxSeq = null;
  }

  /** Shown messages in display order (a new array after each change). */
  get messages() {
    if (this._dirty) {
      this._sorted = [...this._byKey.values()].filter(isShown).sort(compareMessages);
      this._dirty = false;
    }
    return this._sorted;
  }

  /**
   * @param {string} sender
   * @param {string} id
   * @returns {ChatMessage | undefined}
   */
  get(sender, id) {
    return this._byKey.get(keyOf(sender, id));
  }

  /**
   * Find a message by its id (own or others').
   * @param {string} id
   * @param {string} [sender]  participant id; default: any
   * @returns {ChatMessage | undefined}
   */
  find(id, sender) {
    if (sender !== undefined) return this.get(sender, id);
    for (const m of this._byKey.values()) if (m.id === id) return m;
    return undefined;
  }

  /** Every message held, hidden kinds too, in no particular order. */
  all() {
    return this._byKey.values();
  }

  /** Shown numbered messages, in no particular order. */
  numbered() {
    return this._bySeq.values();
  }

  /** A new message (own, composed here). @param {ChatMessage} m */
  add(m) {
    this._byKey.set(keyOf(m.sender, m.id), m);
    if (m.seq !== null) this._numbered(m);
    if (m.kind === "reaction" && m.ref !== null) this._reactions.add(m.ref, keyOf(m.sender, m.id));
    markPending(this, m);
    this.touched(m);
    this._onAdd(m);
  }

  /**
   * The message a seq numbers (shown kinds only), for a reply's quote or a change.
   * @param {number} seq
   * @returns {ChatMessage | undefined}
   */
  bySeq(seq) {
    return this._bySeq.get(seq);
  }

  /**
   * Take an own message out of the log: one that failed and that its sender deleted.
   * Numbered messages stay (the server has them).
   * @param {ChatMessage} m
   * @returns {boolean}  whether it was removed
   */
  remove(m) {
    if (m.seq !== null || !this._byKey.delete(keyOf(m.sender, m.id))) return false;
    clearPending(this, m);
    this.touched(m);
    return true;
  }

  /**
   * Something about m changed (state, seq): re-sort, re-aggregate, say so.
   * @param {ChatMessage} m
   */
  touched(m) {
    this._dirty = true;
    if (m.kind === "reaction" && m.ref !== null) this._aggregate(m.ref);
    this._onChange();
  }

  /**
   * Move a message forward (never backwards).
   * @param {ChatMessage} m
   * @param {MessageState} state
   * @returns {boolean}  whether it moved
   */
  advance(m, state) {
    if (RANK[state] <= RANK[m.state]) return false;
    m.state = state;
    this.touched(m);
    return true;
  }

  /**
   * Set a state whatever the current one is (failed, or back to sending by retry).
   * @param {ChatMessage} m
   * @param {MessageState} state
   */
  setState(m, state) {
    m.state = state;
    if (state === "failed") clearPending(this, m);
    else markPending(this, m);
    this.touched(m);
  }

  /**
   * Merge a message from the server (live, replayed or from history).
   * @param {MessageMsg} msg
   * @param {string | undefined} me  own participant id
   * @param {number} readUpTo  the highest seq someone else has read
   * @returns {ChatMessage}
   */
  fromServer(msg, me, readUpTo) {
    const mine = msg.sender === me;
    const m = this.get(msg.sender, msg.id);
    const changed = { edited_at: msg.edited_at ?? null, deleted_at: msg.deleted_at ?? null };
    if (!m) {
      const hlc = formatHlc(Math.round(msg.ts * 1000), 0, msg.sender);
      const { id, seq, sender, sender_name, ts, kind, ref, body } = msg;
      const state = mine ? ownState(seq, "sent", readUpTo) : "sent";
      const added = { id, seq, hlc, sender, sender_name, ts, kind, ref, body, state, reactions: new Map(), ...changed };
      this.add(added);
      applyChange(this, added);
      return added;
    }
    const fresh = m.seq === null;
    Object.assign(m, { seq: msg.seq, ts: msg.ts, sender_name: msg.sender_name, body: msg.body, ...changed });
    m.state = mine ? ownState(msg.seq, m.state, readUpTo) : "sent";
    if (fresh) this._numbered(m);
    this.touched(m);
    applyChange(this, m);
    return m;
  }

  /**
   * The server stored an own message: it has its seq.
   * @param {string} me  own participant id
   * @param {{id: string, seq: number, ts: number}} ack
   * @param {number} readUpTo
   * @returns {ChatMessage | undefined}
   */
  ack(me, { id, seq, ts }, readUpTo) {
    const m = this.get(me, id);
    if (!m) return undefined;
    const fresh = m.seq === null;
    m.seq = seq;
    m.ts = ts;
    m.state = ownState(seq, m.state, readUpTo);
    if (fresh) this._numbered(m);
    this.touched(m);
    applyChange(this, m); // an own edit or deletion is stored: no need to wait for its echo
    return m;
  }

  /**
   * A message a peer sent over a data channel (checked with isPeerChat). Its seq, if the
   * peer sent one, is not trusted: the server's word decides the order.
   * @param {PeerChatMsg} msg
   * @param {string | undefined} me
   * @returns {ChatMessage | null}  the new message; null when already known
   */
  fromPeer(msg, me) {
    if (msg.kind === "edit" || msg.kind === "delete") return null; // only the server's word changes a message
    if (this.get(msg.sender, msg.id)) return null;
    const { id, sender, sender_name, hlc, kind, body } = msg;
    const state = sender === me ? "sending" : "delivered";
    return this.addUnnumbered({ id, hlc, sender, sender_name, ts: null, kind, ref: msg.ref ?? null, body, state });
  }

  /**
   * An unsent own message from the outbox, after a reload: back as "sending".
   * @param {OutboxItem} item
   * @returns {ChatMessage}
   */
  fromOutbox(item) {
    const { id, hlc, sender, sender_name, kind, ref, body, created_at } = item;
    return this.addUnnumbered({ id, hlc, sender, sender_name, ts: created_at, kind, ref, body, state: "sending" });
  }

  /**
   * Add a message the server has not numbered yet (no seq, no reactions so far).
   * @param {Pick<ChatMessage, "id" | "hlc" | "sender" | "sender_name" | "ts" | "kind" | "ref" | "body" | "state">} fields
   * @returns {ChatMessage}
   */
  addUnnumbered(fields) {
    /** @type {ChatMessage} */
    const m = { ...fields, seq: null, reactions: new Map() };
    this.add(m);
    return m;
  }

  /**
   * Someone else has read up to `seq`: own numbered messages up to it are "read".
   * @param {string} me
   * @param {number} seq
   */
  readUpTo(me, seq) {
    for (const m of this._bySeq.values()) {
      if (m.sender === me && /** @type {number} */ (m.seq) <= seq) this.advance(m, "read");
    }
  }

  /** Bookkeeping once a message has its seq. @param {ChatMessage} m */
  _numbered(m) {
    const seq = /** @type {number} */ (m.seq);
    this.minSeq = this.minSeq === null ? seq : Math.min(this.minSeq, seq);
    this.maxSeq = this.maxSeq === null ? seq : Math.max(this.maxSeq, seq);
    if (HIDDEN_KINDS.has(m.kind) && m.kind !== "file") return;
    this._bySeq.set(seq, m);
    if (this._reactions.keysOf(seq)) this._aggregate(seq); // its reactions came first
  }

  /**
   * Rebuild a message's reactions from its reaction messages, in display order (tally).
   * @param {number} seq  the target
   */
  _aggregate(seq) {
    const target = this._bySeq.get(seq);
    const keys = this._reactions.keysOf(seq);
    if (!target || !keys) return;
    const reactions = /** @type {ChatMessage[]} */ ([...keys].map((k) => this._byKey.get(k)).filter(Boolean));
    target.reactions = tally(reactions.sort(compareMessages));
    this._dirty = true;
  }
}
