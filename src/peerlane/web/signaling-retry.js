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

/**
 * While a backoff is waited out, the server's readiness (GET /readyz) is asked every
 * everyMs: a server that is down refuses at once (no cost to anyone), one shutting down
 * answers 503, and one that is back answers 200 — then the reconnect goes at once rather
 * than after the rest of a backoff of up to maxDelay. Each client asks at most once
 * successfully per reconnect, so a restarted server gets one cheap request per client.
 * At most `tries` reconnects per lost connection come from here: a server that is ready
 * but refuses the WebSocket (a proxy) falls back to the plain backoff.
 */
export class ReadyProbe {
  /**
   * @param {{url: string, fetch: typeof globalThis.fetch, clock: Clock, everyMs: number, ready: () => void}} options
   */
  constructor({ url, fetch, clock, everyMs, ready }) {
    this._url = url;
    this._fetch = fetch;
    this._clock = clock;
    this._every = everyMs;
    this._ready = ready;
    this.tries = 3;
    this._used = 0;
    /** @type {unknown} */
    this._timer = null;
    this._round = 0;
  }

  /** Probe until stop() (unless this lost connection had its share of probed reconnects). */
  start() {
    this.stop();
    if (this._used >= this.tries) return;
    this._schedule(this._round);
  }

  stop() {
    this._round += 1; // an answer still on its way is ignored
    if (this._timer !== null) this._clock.clearTimeout(this._timer);
    this._timer = null;
  }

  /** A connection synced: the next loss gets its share again. */
  reset() {
    this._used = 0;
  }

  /** @param {number} round */
  _schedule(round) {
    this._timer = this._clock.setTimeout(async () => {
      this._timer = null;
      if (await this._isReady()) {
        if (round !== this._round) return;
        this._used += 1;
        this._ready();
      } else if (round === this._round) this._schedule(round);
    }, this._every);
  }

  async _isReady() {
    try {
      const fetch = this._fetch; // called unbound: window.fetch refuses another `this`
      const response = await fetch(this._url, { cache: "no-store", signal: AbortSignal.timeout(this._every) });
      return response.ok;
    } catch {
      return false; // down, unreachable, or too slow to answer
    }
  }
}
