// Trying for a better path in the background (issue #11). A link relayed by TURN, or a
// peer reached only through the server because its link gave up, is tried again now and
// then, with growing pauses, so that the pair moves up when the network lets it (a
// firewall rule lifted, a laptop back on its home network):
// - an open link on TURN restarts ICE. The old pair carries the data until ICE has
//   chosen a new one, so the data channel, and a transfer on it, goes on; ICE then takes
//   the best pair that works, a direct one if any.
// - a link that gave up (its restarts spent, or it never connected) starts over with a
//   fresh connection. Chat and files go on through the server meanwhile; when the new
//   link's channel opens they move onto it (chat-peers.js, the transfer engine).
// Only the impolite side of a pair drives this, so the two sides never race to restart.

import { localMs } from "./local-ms.js";

/** The first pause; each try doubles it, up to UPGRADE_MAX_MS. */
export const UPGRADE_FIRST_MS = 15_000;
export const UPGRADE_MAX_MS = 5 * 60_000;

/**
 * The pause before a peer's next try, after `tries` earlier ones.
 * @param {number} tries
 * @param {number} firstMs
 * @param {number} [maxMs]
 */
export function upgradeDelay(tries, firstMs, maxMs = UPGRADE_MAX_MS) {
  return Math.min(Math.max(maxMs, firstMs), firstMs * 2 ** tries);
}

/** One pending try per peer, and the count of tries since its link was last direct. */
export class PathUpgrades {
  /**
   * @param {import("./hlc.js").Clock} clock
   * @param {{firstMs?: number, maxMs?: number}} [pauses]  else localStorage
   *   "peerlaneUpgradeMs" / "peerlaneUpgradeMaxMs" (tests shorten them), else the defaults
   */
  constructor(clock, pauses = {}) {
    this._clock = clock;
    this.firstMs = pauses.firstMs ?? localMs("peerlaneUpgradeMs") ?? UPGRADE_FIRST_MS;
    this.maxMs = pauses.maxMs ?? localMs("peerlaneUpgradeMaxMs") ?? UPGRADE_MAX_MS;
    /** @type {Map<string, number>} */
    this._tries = new Map();
    /** @type {Map<string, unknown>} */
    this._timers = new Map();
  }

  /**
   * Run `attempt` for the peer after the next pause, unless a try is pending already.
   * @param {string} peerId
   * @param {() => void} attempt
   */
  schedule(peerId, attempt) {
    if (this._timers.has(peerId)) return;
    const tries = this._tries.get(peerId) ?? 0;
    this._tries.set(peerId, tries + 1);
    const timer = this._clock.setTimeout(
      () => {
        this._timers.delete(peerId);
        attempt();
      },
      upgradeDelay(tries, this.firstMs, this.maxMs),
    );
    this._timers.set(peerId, timer);
  }

  /** @param {string} peerId */
  pending(peerId) {
    return this._timers.has(peerId);
  }

  /** The peer's link is direct: nothing to try, and the pauses start short again. @param {string} peerId */
  reached(peerId) {
    this.forget(peerId);
  }

  /** @param {string} peerId */
  forget(peerId) {
    this._clock.clearTimeout(this._timers.get(peerId));
    this._timers.delete(peerId);
    this._tries.delete(peerId);
  }

  clear() {
    for (const id of [...this._timers.keys()]) this.forget(id);
    this._tries.clear();
  }
}
