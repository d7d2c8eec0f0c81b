// The reader's position in <pl-message-list>, reported as read: the newest numbered
// message in view (unsent rows sort last and have none), while the page is visible, each
// time it moves forward; again when the tab comes back into view.

/** @typedef {import("./types.js").RoomLike} RoomLike */

export class ReadPosition {
  #last = 0;
  /** @type {{room: () => RoomLike | null, newestInView: () => number | undefined}} */
  #host;

  /**
   * @param {{room: () => RoomLike | null, newestInView: () => number | undefined}} host
   *   newestInView: the seq of the newest numbered row in view, if any
   */
  constructor(host) {
    this.#host = host;
  }

  attach() {
    document.addEventListener("visibilitychange", this.mark);
    window.addEventListener("focus", this.mark);
  }

  detach() {
    document.removeEventListener("visibilitychange", this.mark);
    window.removeEventListener("focus", this.mark);
  }

  /** Another room: nothing reported yet. */
  reset() {
    this.#last = 0;
  }

  /** Report the newest message in view as read, while the page is in view. */
  mark = () => {
    const room = this.#host.room();
    if (!room || document.visibilityState !== "visible") return;
    const seq = this.#host.newestInView();
    if (seq !== undefined && seq > this.#last) {
      this.#last = seq;
      room.markRead(seq);
    }
  };
}
