// When the room WebSocket reconnects (signaling.js).
//
// A connection that had been welcomed is retried at once (a restarted server is usually
// back within a second, and the room should not wait out a backoff for it); should that
// attempt fail too, the backoff with jitter takes over. At most one such retry per
// maxDelay: a server that welcomes and drops again is not hammered. Some close codes end
// the connection for good (TERMINAL).

import { CLOSE_CODES } from "./protocol.js";

/** @typedef {import("./hlc.js").Clock} Clock */
/** @typedef {"unauthorized" | "removed" | "room_gone" | "unsupported_version" | "closed"} CloseReason */

/** Close codes after which reconnecting cannot help. @type {Map<number, CloseReason>} */
export const TERMINAL = new Map([
  [CLOSE_CODES.UNAUTHORIZED, "unauthorized"],
  [CLOSE_CODES.REMOVED, "removed"],
  [CLOSE_CODES.ROOM_GONE, "room_gone"],
  [CLOSE_CODES.VERSION, "unsupported_version"],
]);

export class ReconnectPolicy {
  /**
   * @param {{clock: Clock, random: () => number, minDelayMs: number, maxDelayMs: number}} options
   */
  constructor({ clock, random, minDelayMs, maxDelayMs }) {
    this._clock = clock;
    this._random = random;
    this._minDelay = minDelayMs;
    this._maxDelay = maxDelayMs;
    /** Failed attempts since the last successful sync; drives the backoff. */
    this.attempt = 0;
    /** The current connection got its welcome: losing it is retried at once. */
    this.welcomed = false;
    /** When the last at-once retry was made (clock ms). @type {number | null} */
    this._quickRetryAt = null;
  }

  /**
   * The wait before reconnecting after a connection ended with `code` (not terminal).
   * @param {number} code
   * @returns {number}  ms
   */
  delayAfter(code) {
    const delay = this._retryAtOnce(code) ? 0 : this._backoff(code);
    this.welcomed = false;
    return delay;
  }

  /**
   * A lost connection that had been welcomed is retried at once (once per maxDelay).
   * @param {number} code
   */
  _retryAtOnce(code) {
    if (!this.welcomed || code === CLOSE_CODES.POLICY) return false;
    const now = this._clock.now();
    const last = this._quickRetryAt;
    if (last !== null && now - last < this._maxDelay) return false;
    this._quickRetryAt = now;
    return true;
  }

  /**
   * Exponential backoff from minDelay to maxDelay with "equal jitter" (half fixed, half
   * random), so that every client of a restarted server does not return at the same instant.
   * @param {number} code
   */
  _backoff(code) {
    const exp =
      code === CLOSE_CODES.POLICY
        ? this._maxDelay // closed for misbehaving: do not hammer the server
        : Math.min(this._maxDelay, this._minDelay * 2 ** this.attempt);
    this.attempt += 1;
    return exp / 2 + this._random() * (exp / 2);
  }
}
