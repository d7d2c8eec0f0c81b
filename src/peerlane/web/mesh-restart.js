// When a link starts over (mesh.js): ICE restarts after a failure, with growing pauses;
// "restart" requests from the polite side; a fresh connection after a closed channel.
//
// `bye` signals carry {reason}: "leave" (I am going), "not_chosen" (I do not want a link
// with you under the mesh rule, my peer list says so), "restart" (polite → impolite: I
// waited for your offer in vain, please start over), "reset" (impolite → polite: I threw
// my connection away, a fresh offer follows).

/** @typedef {import("./mesh-link.js").Link} Link */

export const MAX_RESTARTS = 5; // ICE restarts per link, and "restart" requests per peer
const FRESH_LINK_MS = 3_000; // a link this young is already starting over: no need to again
export const REOPEN_AFTER_MS = 1_000; // a closed channel: start over after this pause

/**
 * The pause before the next ICE restart of a failed link, or null when it had its share
 * (then only the background tries for a better path start it over: mesh-upgrade.js).
 * @param {Link} link
 * @param {number} [maxRestarts]
 * @returns {number | null}
 */
export function iceRestartDelay(link, maxRestarts = MAX_RESTARTS) {
  if (link.restarts >= maxRestarts) return null;
  return Math.min(30_000, 1_000 * 2 ** link.restarts);
}

/**
 * A "restart" request reached the impolite side: a link still making its first attempt
 * is starting over already; any other is replaced.
 * @param {Link | undefined} link
 * @param {number} now  clock ms
 */
export function shouldReplaceOnRequest(link, now) {
  const fresh = link && !link.negotiated && now - link.createdAt < FRESH_LINK_MS;
  return !fresh;
}

/** "restart" requests sent per peer since its channel was last open (polite side). */
export class RestartRequests {
  constructor() {
    /** @type {Map<string, number>} */
    this._sent = new Map();
  }

  /** Whether another request to the peer is allowed (and count it). @param {string} peerId */
  take(peerId) {
    const sent = this._sent.get(peerId) ?? 0;
    if (sent >= MAX_RESTARTS) return false;
    this._sent.set(peerId, sent + 1);
    return true;
  }

  /** The peer's channel opened: its count starts over. @param {string} peerId */
  reset(peerId) {
    this._sent.delete(peerId);
  }
}
