// Own messages: what the person writes and does to what they wrote. Composing (text,
// replies, reactions, transfer control), editing and deleting (chat kinds "edit" and
// "delete" with ref = the target's seq: docs/protocol.md), retrying and discarding what
// failed, and the server's acks and refusals of them. ChatRoom (chat.js) delegates here;
// the log (chat-log.js) holds the messages, the outbox (chat-outbox.js) sends them.
//
// A message still in the outbox (no seq) is changed in place: the outbox sends the new
// body, or nothing, instead. If it may already have reached the server (sent on a live
// connection, its ack not yet in), the server may hold the old words: the change then
// goes out as an edit or deletion of it as soon as its seq is known (`afterAck`).

import { tooLargeText } from "./chat-outbox.js";
import { debug } from "./debug.js";
import { PERMANENT_CHAT_ERRORS, TRANSIENT_CHAT_ERRORS } from "./protocol.js";

/** @typedef {import("./protocol.js").ChatKind} ChatKind */
/** @typedef {import("./chat-log.js").ChatMessage} ChatMessage */
/** @typedef {import("./chat-log.js").MessageLog} MessageLog */
/** @typedef {import("./chat-outbox.js").Outbox} Outbox */
/** @typedef {import("./hlc.js").Clock} Clock */
/** @typedef {import("./hlc.js").Hlc} Hlc */
/** @typedef {import("./chat-types.js").Me} Me */

/** A change the server refused, in plain words (its own words are for developers). */
export const CHANGE_REFUSED = Object.freeze({
  not_your_message: "You can only edit or delete your own messages.",
  message_not_found: "That message is no longer in the room, so it cannot be changed.",
  message_deleted: "That message was deleted, so it cannot be changed.",
});

/** A message id: a UUID. crypto.randomUUID needs a secure context, a LAN http:// page is not. */
export function newMessageId() {
  if (typeof globalThis.crypto?.randomUUID === "function" && globalThis.isSecureContext !== false) {
    return globalThis.crypto.randomUUID();
  }
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * What OwnMessages needs of its room.
 * @typedef {{
 *   log: MessageLog, outbox: Outbox, clock: Clock, newId: () => string,
 *   me: () => Me | null, hlc: () => Hlc | null, readUpTo: () => number,
 *   maxBodyBytes: () => number,
 *   onError: (error: {code: string, message: string}) => void,
 * }} OwnHost
 */

export class OwnMessages {
  /** @param {OwnHost} host */
  constructor(host) {
    this._host = host;
  }

  /**
   * A new own message: shown at once ("sending"), then sent.
   * @param {ChatKind} kind
   * @param {unknown} body
   * @param {number | null} ref
   * @returns {ChatMessage}
   */
  compose(kind, body, ref) {
    const me = this._host.me();
    const hlc = this._host.hlc();
    if (!me || !hlc) throw new Error("ChatRoom.start() has not completed");
    const m = this._host.log.addUnnumbered({
      id: this._host.newId(),
      hlc: hlc.now(),
      sender: me.participant_id,
      sender_name: me.name,
      ts: this._host.clock.now() / 1000,
      kind,
      ref,
      body,
      state: "sending",
    });
    this._host.outbox.send(m);
    return m;
  }

  /**
   * An own message by id, or undefined (with the reason said) when it is not one's own.
   * @param {string} id
   * @returns {ChatMessage | undefined}
   */
  _own(id) {
    const me = this._host.me()?.participant_id;
    const m = me ? this._host.log.get(me, id) : undefined;
    if (!m && this._host.log.find(id))
      this._host.onError({ code: "not_your_message", message: CHANGE_REFUSED.not_your_message });
    return m;
  }

  /**
   * Change the words of an own text message.
   * @param {string} id
   * @param {string} text
   * @returns {ChatMessage | null}  the edit message (or the message itself, changed in the
   *   outbox); null when there is nothing to change
   */
  edit(id, text) {
    const m = this._own(id);
    if (m?.deleted_at) this._host.onError({ code: "message_deleted", message: CHANGE_REFUSED.message_deleted });
    if (m?.kind !== "text" || m.deleted_at || m.state === "failed") return null;
    if (m.seq !== null) return this.compose("edit", text, m.seq);
    const limit = this._host.maxBodyBytes();
    if (!this._host.outbox.fits(text, limit)) {
      this._host.onError({ code: "body_too_large", message: tooLargeText(null, limit) });
      return null;
    }
    m.body = text;
    if (this._host.outbox.reachedServer(id)) m.afterAck = { kind: "edit", body: text };
    this._host.outbox.queue(m); // the stored copy takes the new words
    this._host.log.touched(m);
    return m;
  }

  /**
   * Delete an own message (text, reaction or file). One the server never had leaves the
   * outbox and the list; one it has (or may have) is deleted there too, for everyone.
   * Edits of it still waiting in the outbox go with it: their words never leave.
   * @param {string} id
   * @returns {ChatMessage | null}  the deletion (or the message itself); null: nothing to do
   */
  remove(id) {
    const m = this._own(id);
    if (!m || m.deleted_at) return null;
    const { log, outbox } = this._host;
    if (m.seq === null) {
      if (outbox.reachedServer(id)) {
        m.afterAck = { kind: "delete" };
        log.touched(m);
        return m;
      }
      outbox.unqueue(id);
      log.remove(m);
      return m;
    }
    for (const waiting of outbox.waiting()) {
      if (waiting.kind === "edit" && waiting.ref === m.seq && !outbox.reachedServer(waiting.id)) {
        outbox.unqueue(waiting.id);
        log.remove(waiting);
      }
    }
    return this.compose("delete", null, m.seq);
  }

  /**
   * Put a failed message back to "sending" and send it again (same id).
   * @param {string} id
   * @returns {boolean}
   */
  retry(id) {
    const me = this._host.me();
    const m = me && this._host.log.get(me.participant_id, id);
    if (m?.state !== "failed" || m.final) return false;
    this._host.log.setState(m, "sending");
    this._host.outbox.send(m);
    return true;
  }

  /**
   * Delete an own message that failed: out of the list and the outbox, for good.
   * @param {string} id
   * @returns {boolean}
   */
  discard(id) {
    const me = this._host.me();
    const m = me && this._host.log.get(me.participant_id, id);
    if (m?.state !== "failed") return false;
    this._host.outbox.unqueue(id);
    return this._host.log.remove(m);
  }

  /**
   * The server stored an own message. A change made to it meanwhile goes out now.
   * @param {{id: string, seq: number, ts: number}} ack
   */
  onAck(ack) {
    this._host.outbox.unqueue(ack.id);
    const me = this._host.me();
    if (!me) return;
    const m = this._host.log.ack(me.participant_id, ack, this._host.readUpTo());
    this.settle(m);
  }

  /**
   * An own message now numbered: send the change that waited for its seq.
   * @param {ChatMessage | undefined} m
   */
  settle(m) {
    const change = m?.afterAck;
    if (!m || !change || m.seq === null) return;
    m.afterAck = null;
    // The server may hold the words it was first sent with: say the change to be sure.
    if (change.kind === "edit") {
      this.compose("edit", change.body, m.seq);
    } else {
      this.compose("delete", null, m.seq);
    }
  }

  /**
   * The server refused an own message.
   * @param {{code: string, message: string}} error
   * @param {string} ref  the chat id
   */
  onError(error, ref) {
    const { log, outbox } = this._host;
    const me = this._host.me();
    const m = me && log.get(me.participant_id, ref);
    if (!m || !outbox.has(ref)) return;
    if (/** @type {readonly string[]} */ (TRANSIENT_CHAT_ERRORS).includes(error.code)) {
      outbox.scheduleRetry(m);
      return;
    }
    // Permanent, or a code this client does not know: retrying blindly could loop forever.
    const permanent = /** @type {readonly string[]} */ (PERMANENT_CHAT_ERRORS).includes(error.code);
    debug("chat", "message refused", ref, error.code, permanent ? "" : "(unknown code)");
    outbox.unqueue(ref);
    if (permanent) m.final = true; // the same message would be refused again: no Retry
    log.setState(m, "failed");
    if (m.kind === "edit" || m.kind === "delete") log.remove(m); // nothing to retry: the target shows as it is
    // The server's words are for developers ("Chat bodies are limited to …"): a size
    // refusal, and a refused change, are said in plain words here.
    const sized = error.code === "body_too_large" || error.code === "message_too_large";
    const refused = /** @type {Record<string, string>} */ (CHANGE_REFUSED)[error.code];
    const message = sized ? tooLargeText(null, this._host.maxBodyBytes()) : (refused ?? error.message);
    this._host.onError({ code: error.code, message });
  }
}
