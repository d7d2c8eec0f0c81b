// The head of <pl-message-list> and the loading of older history: "Loading earlier
// messages…", "Couldn't load earlier messages…", "No messages yet", or the room's start,
// above the first row; a page of older messages when the reader nears the top, and as
// many pages as it takes to reach a reply's original (loadUntil).

import { h } from "./dom.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./types.js").ChatMessageView} ChatMessageView */

/**
 * What the head needs of its list.
 * @typedef {{
 *   room: () => RoomLike | null,
 *   first: () => ChatMessageView | undefined,
 *   count: () => number,
 *   loaded: () => void,
 * }} HeadHost
 *   first: the oldest row; count: how many rows; loaded: a page came in (or failed).
 */

export class HistoryHead {
  el = h("div", { class: "ml-head" });
  #loading = false;
  #hasMore = true;
  #failed = false;
  /** @type {HeadHost} */
  #host;

  /** @param {HeadHost} host */
  constructor(host) {
    this.#host = host;
  }

  /**
   * Another room (or none): older history may exist again.
   * @param {RoomLike | null} room
   */
  reset(room) {
    this.#hasMore = room?.hasMore ?? true;
    this.#failed = false;
  }

  /**
   * Say what is above the first row.
   * @param {number} y  where the head goes (content coordinates)
   */
  update(y = Number.NaN) {
    if (!Number.isNaN(y)) this.el.style.setProperty("--y", `${y}px`);
    let text = "";
    let cls = "ml-head";
    if (this.#loading) {
      text = "Loading earlier messages…";
      cls += " loading";
    } else if (this.#failed) {
      text = "Couldn't load earlier messages; scroll up to try again.";
    } else if (!this.#host.count()) {
      text = "No messages yet. Say hello!";
      cls += " empty";
    } else if (!this.#hasMore) {
      const name = this.#host.room()?.roomInfo?.name;
      text = name ? `This is the start of ${name}.` : "This is the start of the room.";
    }
    if (this.el.textContent !== text) this.el.textContent = text;
    if (this.el.className !== cls) this.el.className = cls;
  }

  /** Load the page before the oldest row, unless loading or at the start already. */
  async loadOlder() {
    const room = this.#host.room();
    if (!room || this.#loading || !this.#hasMore) return;
    const first = this.#host.first();
    if (first && first.seq != null && first.seq <= 1) {
      this.#hasMore = false;
      this.update();
      return;
    }
    this.#loading = true;
    this.#failed = false;
    this.update();
    try {
      const count = room.messages.length;
      const more = await room.loadOlder();
      // A page that brought nothing new means the start was reached.
      if (more === false || room.hasMore === false || room.messages.length === count) this.#hasMore = false;
    } catch {
      this.#failed = true;
    } finally {
      this.#loading = false;
      if (this.#host.room() === room) {
        if (!this.#failed) this.#host.loaded();
        else this.update();
      }
    }
  }

  /**
   * Load older pages until the message numbered seq is there (a reply's original).
   * @param {number} seq
   * @returns {Promise<ChatMessageView | undefined>}  undefined: not in the room (any more)
   */
  async loadUntil(seq) {
    const room = this.#host.room();
    if (!room) return undefined;
    let target = room.message?.(seq);
    while (!target && room.hasMore !== false && this.#hasMore && this.#host.room() === room) {
      const oldest = room.messages.find((m) => m.seq != null)?.seq;
      if (oldest != null && oldest <= seq) break; // loaded, and not a message that shows
      this.#loading = true;
      this.update();
      try {
        if ((await room.loadOlder()) === false) this.#hasMore = false;
      } catch {
        this.#failed = true;
        break;
      } finally {
        this.#loading = false;
      }
      target = room.message?.(seq);
    }
    this.update();
    return target;
  }
}
