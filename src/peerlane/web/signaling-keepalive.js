// The room WebSocket's keep-alive (signaling.js): a ping every 20 s, the connection
// dropped without a pong within 10 s. A killed server or a network that silently drops
// packets closes nothing (1006, no close frame): only a missing answer shows it. So while
// the caller waits for acks (busy), the ping goes every 2 s and the pong is due within
// 4 s: a dead server is noticed within ~6 s of sending, not 30 s, and the messages are
// resent on the next connection. Any frame counts as an answer, not only the pong.

/** @typedef {import("./hlc.js").Clock} Clock */

/**
 * @typedef {{
 *   clock: Clock,
 *   ping: (nonce: string) => boolean,
 *   dead: () => void,
 *   everyMs: number,
 *   withinMs: number,
 *   busyEveryMs: number,
 *   busyWithinMs: number,
 * }} KeepAliveOptions
 *   ping: send a ping (false: it could not go, nothing is awaited); dead: no answer in time.
 */

export class KeepAlive {
  /** @type {unknown} */
  #pingTimer = null;
  /** @type {unknown} */
  #pongTimer = null;
  #nonce = 0;
  #busy = false;
  /** Between start() (the welcome) and stop() (the connection lost or closed). */
  #running = false;

  /** @param {KeepAliveOptions} options */
  constructor(options) {
    this.options = options;
  }

  /** The connection is welcomed: the pings start. */
  start() {
    this.#running = true;
    this.#schedule();
  }

  /** The connection is gone: no more pings, no deadline. */
  stop() {
    this.#running = false;
    this.#clearPing();
    this.heard();
  }

  /** A frame came: the connection is alive, no answer is due. */
  heard() {
    if (this.#pongTimer !== null) this.options.clock.clearTimeout(this.#pongTimer);
    this.#pongTimer = null;
  }

  /** Check the connection now: ping, unless an answer is already awaited. */
  probe() {
    if (this.#pongTimer === null) this.#ping();
  }

  /**
   * Whether the caller awaits acks: the pace of the pings (a pong already awaited keeps
   * its deadline).
   * @param {boolean} busy
   */
  setBusy(busy) {
    if (busy === this.#busy) return;
    this.#busy = busy;
    if (this.#running) this.#schedule(); // the next ping at the new pace
  }

  #schedule() {
    this.#clearPing();
    const { clock, everyMs, busyEveryMs } = this.options;
    this.#pingTimer = clock.setTimeout(
      () => {
        this.#pingTimer = null;
        this.#ping();
      },
      this.#busy ? busyEveryMs : everyMs,
    );
  }

  #ping() {
    this.#nonce += 1;
    if (!this.options.ping(String(this.#nonce))) return;
    // An earlier ping still unanswered keeps its deadline: pings every 2 s must not push
    // a 4 s deadline ever further away.
    if (this.#pongTimer === null) {
      const { clock, withinMs, busyWithinMs } = this.options;
      this.#pongTimer = clock.setTimeout(
        () => {
          this.#pongTimer = null;
          this.options.dead();
        },
        this.#busy ? busyWithinMs : withinMs,
      );
    }
    this.#schedule();
  }

  #clearPing() {
    if (this.#pingTimer !== null) this.options.clock.clearTimeout(this.#pingTimer);
    this.#pingTimer = null;
  }
}
