// Presence: who is typing, and who has read how far. ChatRoom (chat.js) hands it what
// the server and the peers say, and the person's own typing and reading.
//
// Own typing: setTyping(true) on every keystroke is fine: "typing" goes out when it
// starts and at most every TYPING_RESEND_MS while it goes on; TYPING_IDLE_MS without a
// keystroke ends it. This is the only typing throttle (the composer only reports).
// Others' indicators expire after TYPING_EXPIRY_MS unless renewed.
//
// Read receipts: the own position goes out after a pause (READ_DEBOUNCE_MS), to the
// server, or to the direct peers while the server is unreachable (and to the server once
// it is back). Others' positions make own messages "read".

/** @typedef {import("./hlc.js").Clock} Clock */
/** @typedef {import("./protocol.js").ClientMessage} ClientMessage */
/** @typedef {import("./protocol.js").PeerMessage} PeerMessage */

export const TYPING_RESEND_MS = 3_000; // while typing, say so at most this often
export const TYPING_IDLE_MS = 5_000; // no keystroke for this long: stopped typing
export const TYPING_EXPIRY_MS = 6_000; // others' indicator disappears unless renewed
export const READ_DEBOUNCE_MS = 1_000;

/**
 * What presence needs of its room.
 * @typedef {{
 *   clock: Clock,
 *   me: () => {participant_id: string, name: string} | null,
 *   toServer: (message: ClientMessage) => boolean,
 *   toPeers: (message: PeerMessage) => void,
 *   onTyping: () => void,
 *   onRead: (seq: number) => void,
 *   onReadBy?: () => void,
 * }} PresenceHost
 *   toServer: false when the server is unreachable (then toPeers is used).
 *   onTyping: `typing` changed.
 *   onRead: someone else has read further than anyone before: up to seq.
 *   onReadBy: someone's read position moved (who has read what changed).
 */

export class Presence {
  /** @param {PresenceHost} host */
  constructor(host) {
    this._host = host;
    /** participant id → name, for those typing now. @type {Map<string, string>} */
    this.typing = new Map();
    /** @type {Map<string, unknown>} */
    this._typingTimers = new Map();
    /** Own typing indicator. @type {{active: boolean, sentAt: number, idleTimer: unknown}} */
    this._own = { active: false, sentAt: -Infinity, idleTimer: null };
    /** Read position per other participant. @type {Map<string, number>} */
    this._readBy = new Map();
    /** The highest seq someone else has read. */
    this.readUpTo = 0;
    /** Own read position: wanted (marked), sent (told the server). @type {{wanted: number, sent: number, timer: unknown}} */
    this._read = { wanted: 0, sent: 0, timer: null };
  }

  // ---- own typing ---------------------------------------------------------------------

  /**
   * The person is typing (true on every keystroke is fine: throttled) or stopped.
   * @param {boolean} active
   */
  setTyping(active) {
    const t = this._own;
    const clock = this._host.clock;
    clock.clearTimeout(t.idleTimer);
    t.idleTimer = null;
    if (!active) {
      if (t.active) this._sendTyping(false);
      this.resetTyping();
      return;
    }
    t.idleTimer = clock.setTimeout(() => this.setTyping(false), TYPING_IDLE_MS);
    const now = clock.now();
    if (!t.active || now - t.sentAt >= TYPING_RESEND_MS) {
      this._sendTyping(true);
      t.sentAt = now;
    }
    t.active = true;
  }

  /** Forget own typing state without telling anyone (a sent message ends it anyway). */
  resetTyping() {
    const t = this._own;
    this._host.clock.clearTimeout(t.idleTimer);
    Object.assign(t, { active: false, sentAt: -Infinity, idleTimer: null });
  }

  /** @param {boolean} active */
  _sendTyping(active) {
    const me = this._host.me();
    if (!me) return;
    if (this._host.toServer({ type: "typing", active })) return;
    this._host.toPeers({ t: "typing", participant_id: me.participant_id, name: me.name, active });
  }

  // ---- others typing ------------------------------------------------------------------

  /**
   * @param {string} participantId
   * @param {string} name
   * @param {boolean} active
   */
  typingFrom(participantId, name, active) {
    if (participantId === this._host.me()?.participant_id) return; // my other tab
    if (!active) return this.clearTyping(participantId);
    const clock = this._host.clock;
    clock.clearTimeout(this._typingTimers.get(participantId));
    this._typingTimers.set(
      participantId,
      clock.setTimeout(() => this.clearTyping(participantId), TYPING_EXPIRY_MS),
    );
    if (this.typing.get(participantId) === name) return;
    this.typing.set(participantId, name);
    this._host.onTyping();
  }

  /** Someone stopped typing (said so, sent a message, or left). @param {string} participantId */
  clearTyping(participantId) {
    this._host.clock.clearTimeout(this._typingTimers.get(participantId));
    this._typingTimers.delete(participantId);
    if (this.typing.delete(participantId)) this._host.onTyping();
  }

  // ---- read receipts ------------------------------------------------------------------

  /**
   * The person has seen everything up to `seq`; told to the others after a short pause.
   * @param {number} seq
   */
  markRead(seq) {
    if (!Number.isInteger(seq) || seq <= this._read.wanted) return;
    this._read.wanted = seq;
    if (this._read.timer === null) {
      this._read.timer = this._host.clock.setTimeout(() => {
        this._read.timer = null;
        this.flushRead();
      }, READ_DEBOUNCE_MS);
    }
  }

  /** Tell the own read position (again after a reconnect: the server may not have it). */
  flushRead() {
    const { wanted, sent } = this._read;
    const me = this._host.me();
    if (wanted <= sent || !me) return;
    if (this._host.toServer({ type: "receipt", seq: wanted })) {
      this._read.sent = wanted;
      return;
    }
    // Server unreachable: tell the direct peers now, and the server once it is back.
    this._host.toPeers({ t: "read", participant_id: me.participant_id, seq: wanted });
  }

  /**
   * Someone's read position (a receipt, the welcome's `read`, a peer's "read").
   * @param {string} participantId
   * @param {number} seq
   */
  applyRead(participantId, seq) {
    const me = this._host.me();
    if (!me || participantId === me.participant_id || !Number.isInteger(seq)) return;
    if (seq <= (this._readBy.get(participantId) ?? 0)) return;
    this._readBy.set(participantId, seq);
    this._host.onReadBy?.();
    if (seq <= this.readUpTo) return;
    this.readUpTo = seq;
    this._host.onRead(seq);
  }

  /**
   * Who else has read a message: the participants whose read position reaches seq, in
   * the order their first receipt came.
   * @param {number} seq
   * @returns {string[]}  participant ids
   */
  readersOf(seq) {
    const out = [];
    for (const [participant, upTo] of this._readBy) if (upTo >= seq) out.push(participant);
    return out;
  }

  /** Leave: stop own typing (telling the others), cancel the timers. */
  close() {
    if (this._own.active) this._sendTyping(false);
    const clock = this._host.clock;
    for (const timer of this._typingTimers.values()) clock.clearTimeout(timer);
    clock.clearTimeout(this._read.timer);
    clock.clearTimeout(this._own.idleTimer);
  }
}
