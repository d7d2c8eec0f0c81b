// A member's client answering joins by short code (docs/protocol.md, "Short codes by
// PAKE"): the responder's side of CPace for every pake.share its room socket relays. Right
// words: the joiner's confirmation checks out and the member admits it with the room key
// sealed under the PAKE's key (pake-handover.js). Wrong words: the member rejects (or the
// joiner aborts). The server counts guesses, but it could play a joiner without counting,
// so this device counts the failed attempts it answered per invite too and stops answering
// for that code after MAX_FAILURES, telling the member.

import { listInvites } from "../api.js";
import { debug } from "../debug.js";
import { trustedWords } from "./code-words.js";
import { MemberPake, PakeFailed } from "./pake.js";
import { sealHandover } from "./pake-handover.js";
import { b64uDecode, b64uEncode } from "./scheme.js";

/** The server's default code_max_total_failures: the most failures this device answers per code. */
export const MAX_FAILURES = 100;
const STORAGE_KEY = "peerlane-pake-failures";

/** @typedef {import("../protocol.js").PakeInMsg} PakeInMsg */
/** @typedef {import("../protocol.js").PakeOutMsg} PakeOutMsg */
/**
 * @typedef {{inviteId: string, count: number, max: number, stopped: boolean}} FailureNote
 * @typedef {{getItem(key: string): string | null, setItem(key: string, value: string): void}} StorageLike
 * @typedef {{
 *   roomId: string,
 *   me: () => string | null,
 *   send: (message: PakeOutMsg) => unknown,
 *   wordsFor: (inviteId: string) => Promise<string | null>,
 *   keyText: () => string,
 *   onFailure?: (note: FailureNote) => void,
 *   onAdmitted?: (joinerId: string) => void,
 *   storage?: StorageLike | null,
 *   maxFailures?: number,
 * }} AnswererOptions
 *   wordsFor: the words of an invite's code, or null when this device does not know them
 *   keyText: the room's current key as invite links carry it ("" without one)
 */

/** The browser's localStorage, or null where there is none (or it is refused). */
function defaultStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

export class PakeAnswerer {
  /** @param {AnswererOptions} options */
  constructor(options) {
    this.options = options;
    this.max = Math.min(options.maxFailures ?? MAX_FAILURES, MAX_FAILURES);
    this.storage = options.storage === undefined ? defaultStorage() : options.storage;
    /** attempt id → the run answering it. @type {Map<string, {invite: string, joiner: string, pake: MemberPake}>} */
    this.runs = new Map();
    /** Frames are answered one after another (the words and the seal are asynchronous). @type {Promise<unknown>} */
    this.queue = Promise.resolve();
    /** The counts when storage cannot keep them. @type {Record<string, number> | null} */
    this.memory = null;
  }

  /** @param {PakeInMsg} msg */
  handle(msg) {
    this.queue = this.queue
      .then(() => this.#handle(msg))
      .catch((err) => debug("pake", "a join by code could not be answered", err));
    return this.queue;
  }

  /** Failed attempts this device answered for an invite. @param {string} inviteId */
  failures(inviteId) {
    return this.#counts()[this.#key(inviteId)] ?? 0;
  }

  /** @param {PakeInMsg} msg */
  async #handle(msg) {
    if (msg.type === "pake.share") return this.#share(msg);
    const run = this.runs.get(msg.attempt);
    if (!run) return;
    this.runs.delete(msg.attempt);
    if (msg.type === "pake.abort") {
      // After our reply, the joiner's check of it failed (or it gave up): a failed attempt.
      if (run.pake.pending) this.#failed(run.invite);
      return;
    }
    let keys;
    try {
      keys = run.pake.confirm(b64uDecode(msg.confirm));
    } catch {
      this.options.send({ type: "pake.reject", attempt: msg.attempt });
      this.#failed(run.invite);
      return;
    }
    const handover = await sealHandover(keys.handoverKey, this.options.keyText(), {
      roomId: this.options.roomId,
      joinerId: run.joiner,
    });
    this.options.send({ type: "pake.admit", attempt: msg.attempt, handover });
    this.options.onAdmitted?.(run.joiner);
  }

  /** @param {Extract<PakeInMsg, {type: "pake.share"}>} msg */
  async #share(msg) {
    const me = this.options.me();
    const reject = () => this.options.send({ type: "pake.reject", attempt: msg.attempt });
    if (this.failures(msg.invite) >= this.max) {
      debug("pake", "not answering: too many failures for this code", msg.invite);
      this.#note(msg.invite);
      return reject();
    }
    // Without the words or the key there is nothing to check or hand over.
    const words = await this.options.wordsFor(msg.invite);
    if (!me || !words || !this.options.keyText()) return reject();
    const channel = { inviteId: msg.invite, joinerId: msg.joiner, memberId: me, sid: b64uDecode(msg.attempt) };
    const pake = new MemberPake(words, channel);
    let confirm;
    try {
      confirm = pake.respond(b64uDecode(msg.share));
    } catch (err) {
      if (!(err instanceof PakeFailed)) throw err;
      this.#failed(msg.invite);
      return reject();
    }
    this.runs.set(msg.attempt, { invite: msg.invite, joiner: msg.joiner, pake });
    this.options.send({
      type: "pake.reply",
      attempt: msg.attempt,
      share: b64uEncode(Uint8Array.from(pake.share)),
      confirm: b64uEncode(Uint8Array.from(confirm)),
    });
  }

  /** @param {string} inviteId */
  #failed(inviteId) {
    const counts = this.#counts();
    const key = this.#key(inviteId);
    counts[key] = (counts[key] ?? 0) + 1;
    try {
      this.storage?.setItem(STORAGE_KEY, JSON.stringify(counts));
    } catch (err) {
      debug("pake", "failures not kept", err);
    }
    this.memory = counts;
    this.#note(inviteId);
  }

  /** @param {string} inviteId */
  #note(inviteId) {
    const count = this.failures(inviteId);
    this.options.onFailure?.({ inviteId, count, max: this.max, stopped: count >= this.max });
  }

  /** @param {string} inviteId */
  #key(inviteId) {
    return `${this.options.roomId}/${inviteId}`;
  }

  /** @returns {Record<string, number>} */
  #counts() {
    try {
      const kept = this.storage?.getItem(STORAGE_KEY);
      if (kept) return JSON.parse(kept);
    } catch {
      // unreadable: the copy in memory
    }
    return { ...(this.memory ?? {}) };
  }
}

/**
 * What a failure tells the member.
 * @param {FailureNote} note
 */
export function failureText({ count, max, stopped }) {
  if (stopped) {
    return `Someone tried this room's code with the wrong words ${count} times: this device no longer answers joins by that code. Make a new invite, or share the link.`;
  }
  return `Someone tried to join with a wrong room code (${count} of ${max} failed tries for that code).`;
}

/**
 * The words of a live invite's code, only as a member's browser sealed them under the room
 * key (`sealed_code`): never the server's `code`, or a server could drop the sealed words
 * and answer with words it knows (null when the invite is not there, has no sealed words,
 * or they do not open: retired, revoked, not this room's, or sealed under another key).
 * @param {string} roomId
 * @param {string} inviteId
 * @param {string} keyText  the room's key as invite links carry it
 */
export async function inviteWords(roomId, inviteId, keyText) {
  const { invites } = await listInvites(roomId);
  return trustedWords(
    invites.find((inv) => inv.id === inviteId),
    roomId,
    keyText,
  );
}
