// Links kept across a new server connection (mesh.js resume): my peer id is the same
// (the welcome's resume token, docs/protocol.md "Resuming a peer id"), so are theirs once
// they reconnect, and a link whose channel is still open goes on carrying the chat. The
// welcome lists only who is back already: a peer missing from it whose channel is open
// waits up to rejoinWithinMs for its "joined" before the link is dropped; its channel
// closing, or a "left", drops it at once.

/** @typedef {import("./hlc.js").Clock} Clock */

export const REJOIN_WITHIN_MS = 30_000;

export class RejoinWait {
  /**
   * @param {Clock} clock
   * @param {number} withinMs
   * @param {(peerId: string) => void} expired  the peer did not come back in time
   */
  constructor(clock, withinMs, expired) {
    this._clock = clock;
    this._within = withinMs;
    this._expired = expired;
    /** peer id → timer. @type {Map<string, unknown>} */
    this._waiting = new Map();
  }

  /** @param {string} peerId */
  has(peerId) {
    return this._waiting.has(peerId);
  }

  /** Wait for the peer (a wait already running keeps its deadline). @param {string} peerId */
  wait(peerId) {
    if (this._waiting.has(peerId)) return;
    const timer = this._clock.setTimeout(() => {
      this._waiting.delete(peerId);
      this._expired(peerId);
    }, this._within);
    this._waiting.set(peerId, timer);
  }

  /** The peer is back, or gone for good: stop waiting. @param {string} peerId */
  end(peerId) {
    const timer = this._waiting.get(peerId);
    if (timer === undefined) return;
    this._clock.clearTimeout(timer);
    this._waiting.delete(peerId);
  }

  clear() {
    for (const peerId of [...this._waiting.keys()]) this.end(peerId);
  }
}
