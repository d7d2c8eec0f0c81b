// The room's history over HTTP (GET /api/rooms/{id}/messages): the latest page at the
// start, and the page before the oldest message held when the reader scrolls back (or a
// reply's original is wanted). Each message is merged into the log like any other the
// server sends (chat-inbound.js fromServer).

/** @typedef {import("./protocol.js").MessageMsg} MessageMsg */
/** @typedef {{messages: MessageMsg[], has_more: boolean}} HistoryPage */

/** Messages per history page. */
export const PAGE_SIZE = 50;

/**
 * What the history needs of its room.
 * @typedef {{
 *   roomId: string,
 *   api: {getMessages: (roomId: string, q: {before?: number, after?: number, limit?: number}) => Promise<HistoryPage>},
 *   minSeq: () => number | null,
 *   merge: (msg: MessageMsg) => void,
 * }} HistoryHost
 *   minSeq: the lowest seq held; merge: one message from the server into the log.
 */

export class History {
  /** Older history may exist on the server (what the last page said). */
  hasMore = false;
  /** An older page is being merged: its messages are not news (no "incoming"). */
  loadingOlder = false;
  /** @type {Promise<boolean> | null} */
  #older = null;
  /** @type {HistoryHost} */
  #host;

  /** @param {HistoryHost} host */
  constructor(host) {
    this.#host = host;
  }

  /**
   * Ask for the latest page (at once; start() merges it once the room is ready).
   * @returns {Promise<HistoryPage>}
   */
  latest() {
    const page = this.#host.api.getMessages(this.#host.roomId, { limit: PAGE_SIZE });
    page.catch(() => {}); // not a member, say: start() reports it, by whichever comes first
    return page;
  }

  /**
   * Merge the latest page.
   * @param {HistoryPage} page
   * @returns {number}  the highest seq it held (0: none)
   */
  take(page) {
    for (const msg of page.messages) this.#host.merge(msg);
    this.hasMore = page.has_more;
    return page.messages.reduce((top, m) => Math.max(top, m.seq), 0);
  }

  /**
   * Load the page before the oldest message held (one request at a time).
   * @returns {Promise<boolean>}  whether still older messages remain
   */
  loadOlder() {
    this.#older ??= this.#fetchOlder().finally(() => {
      this.#older = null;
    });
    return this.#older;
  }

  async #fetchOlder() {
    const before = this.#host.minSeq();
    if (!this.hasMore || before === null) {
      this.hasMore = false;
      return false;
    }
    const page = await this.#host.api.getMessages(this.#host.roomId, { before, limit: PAGE_SIZE });
    this.loadingOlder = true;
    try {
      for (const msg of page.messages) this.#host.merge(msg);
    } finally {
      this.loadingOlder = false;
    }
    this.hasMore = page.has_more;
    return this.hasMore;
  }
}
