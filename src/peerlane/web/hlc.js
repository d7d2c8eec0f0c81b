// Hybrid logical clock (Kulkarni et al.): wall-clock milliseconds plus a counter, so
// timestamps stay close to real time yet never go backwards and always move past every
// timestamp seen from a peer. Used to order messages the server has not numbered yet.
//
// A timestamp is one string: 15 digits of wall ms, 5 digits of counter, then the node id
// (the participant id). Fixed widths make plain string comparison the clock order.

const WALL_DIGITS = 15;
const COUNTER_DIGITS = 5;
const MAX_COUNTER = 10 ** COUNTER_DIGITS - 1;
const PREFIX = WALL_DIGITS + COUNTER_DIGITS;

/**
 * Timers and time, injectable so that tests run without waiting.
 * @typedef {{
 *   now(): number,
 *   setTimeout(fn: () => void, ms: number): unknown,
 *   clearTimeout(handle: unknown): void,
 * }} Clock
 */

/** @type {Clock} */
export const systemClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(/** @type {number} */ (handle)),
};

/**
 * @param {number} wall  ms since the epoch
 * @param {number} counter
 * @param {string} node
 * @returns {string}
 */
export function formatHlc(wall, counter, node) {
  return String(wall).padStart(WALL_DIGITS, "0") + String(counter).padStart(COUNTER_DIGITS, "0") + node;
}

/**
 * @param {unknown} ts
 * @returns {{wall: number, counter: number, node: string} | null}  null when malformed
 */
export function parseHlc(ts) {
  if (typeof ts !== "string" || !/^\d{20}/.test(ts)) return null;
  return {
    wall: Number(ts.slice(0, WALL_DIGITS)),
    counter: Number(ts.slice(WALL_DIGITS, PREFIX)),
    node: ts.slice(PREFIX),
  };
}

/**
 * Clock order of two timestamps (string order, by construction).
 * @param {string} a
 * @param {string} b
 * @returns {-1 | 0 | 1}
 */
export function compareHlc(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class Hlc {
  /**
   * @param {string} node  unique per writer (the participant id)
   * @param {{now?: () => number, maxDriftMs?: number}} [options]
   *   maxDriftMs: a remote timestamp further ahead of our wall clock than this is not
   *   adopted, so one peer with a wrong clock cannot drag everyone's clock into the future.
   */
  constructor(node, { now = Date.now, maxDriftMs = 60_000 } = {}) {
    this.node = node;
    this._now = now;
    this._maxDrift = maxDriftMs;
    this.wall = 0;
    this.counter = 0;
  }

  /** A timestamp for a local event (sending a message); strictly after all earlier ones. */
  now() {
    const physical = Math.floor(this._now());
    if (physical > this.wall) {
      this.wall = physical;
      this.counter = 0;
    } else {
      this._tick();
    }
    return this._format();
  }

  /**
   * Merge a timestamp received from a peer; returns a local timestamp after both.
   * Malformed input or a remote clock too far ahead counts as a plain local event.
   * @param {string} remote
   */
  receive(remote) {
    const r = parseHlc(remote);
    const physical = Math.floor(this._now());
    if (!r || r.wall > physical + this._maxDrift) return this.now();
    const wall = Math.max(this.wall, r.wall, physical);
    if (wall === this.wall && wall === r.wall) this.counter = Math.max(this.counter, r.counter) + 1;
    else if (wall === this.wall) this.counter += 1;
    else if (wall === r.wall) this.counter = r.counter + 1;
    else this.counter = 0;
    this.wall = wall;
    if (this.counter > MAX_COUNTER) this._tick();
    return this._format();
  }

  _tick() {
    this.counter += 1;
    if (this.counter > MAX_COUNTER) {
      // Out of counter space within one millisecond: borrow the next millisecond.
      this.wall += 1;
      this.counter = 0;
    }
  }

  _format() {
    return formatHlc(this.wall, this.counter, this.node);
  }
}
