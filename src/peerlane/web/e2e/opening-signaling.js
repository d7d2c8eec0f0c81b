// The room's WebSocket as an encrypted room's chat sees it (room-crypto.js): message
// bodies opened, and every event after the bodies that came before it, so the room
// handles frames in the order the server sent them.

/** @typedef {import("../chat-types.js").SignalingLike} SignalingLike */
/** @typedef {import("./room-crypto.js").RoomCrypto} RoomCrypto */

/** A Signaling whose "server" and "state" events come after the bodies before them are opened. */
export class OpeningSignaling extends EventTarget {
  /**
   * @param {SignalingLike} inner
   * @param {RoomCrypto} crypto
   */
  constructor(inner, crypto) {
    super();
    this._inner = inner;
    inner.addEventListener("server", (ev) => {
      const msg = /** @type {CustomEvent<import("../protocol.js").ServerMessage>} */ (ev).detail;
      if (msg.type === "message") {
        crypto.deliver(msg, (opened) => this.dispatchEvent(new CustomEvent("server", { detail: opened })));
      } else {
        crypto.inOrder(() => this.dispatchEvent(new CustomEvent("server", { detail: msg })));
      }
    });
    // Join-by-code frames carry no chat: they pass as they come.
    inner.addEventListener("pake", (ev) => {
      this.dispatchEvent(new CustomEvent("pake", { detail: /** @type {CustomEvent} */ (ev).detail }));
    });
    inner.addEventListener("state", (ev) => {
      const detail = /** @type {CustomEvent} */ (ev).detail;
      crypto.inOrder(() => this.dispatchEvent(new CustomEvent("state", { detail })));
    });
  }

  get state() {
    return this._inner.state;
  }

  get closeReason() {
    return this._inner.closeReason;
  }

  get lastSeq() {
    return this._inner.lastSeq;
  }

  connect() {
    this._inner.connect();
  }

  /** @param {import("../protocol.js").ClientMessage} message */
  send(message) {
    return this._inner.send(message);
  }

  close() {
    this._inner.close();
  }

  /** @param {number} seq */
  rewind(seq) {
    this._inner.rewind?.(seq);
  }

  /** @param {boolean} busy */
  awaitAcks(busy) {
    this._inner.awaitAcks?.(busy);
  }
}
