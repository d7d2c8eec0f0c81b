// The rows of <pl-message-list> (message-list.js): exactly the ones in view (and the one
// holding focus) exist, each drawn for its message and what goes with it (who read it,
// the quote of its original, the "Delete?" question), drawn again only when that changes
// (its signature), measured once drawn, kept in display order in their box, and placed
// at their offset. Which rows are in view, and the scrolling, are the list's.

import { isFileOffer } from "../chat-log.js";
import { h } from "./dom.js";
import { fileRowSignature, fillFileRow } from "./file-message.js";
import { fillRow, quoteOf, rowContext, signature } from "./message-row.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./types.js").ChatMessageView} ChatMessageView */
/** @typedef {import("./message-actions.js").RowActions} RowActions */
/** @typedef {import("./virtualizer.js").Virtualizer<ChatMessageView>} Geometry */
/** @typedef {{el: HTMLElement, sig: string}} Row  a rendered row and the signature it was drawn for */

export class MessageRows {
  /** key → the row drawn for it. @type {Map<string, Row>} */
  map = new Map();
  /** The rows' box, in display order. */
  box = h("div", { class: "ml-rows" });
  /** Measures each row (the list's, while it is on the page). @type {ResizeObserver | null} */
  #ro = null;
  #room;
  #actions;

  /**
   * @param {() => RoomLike | null} room
   * @param {RowActions} actions  what the rows' buttons do, and the row selected, flashing or asking
   */
  constructor(room, actions) {
    this.#room = room;
    this.#actions = actions;
  }

  /** @param {ResizeObserver | null} ro  measures every row from now on (null: none) */
  observe(ro) {
    this.#ro = ro;
    if (ro) for (const row of this.map.values()) ro.observe(row.el);
  }

  /** Every row leaves (another room). */
  clear() {
    for (const r of this.map.values()) r.el.remove();
    this.map.clear();
  }

  /**
   * The rows whose key fails `keep` leave.
   * @param {(key: string) => boolean} keep
   */
  keepOnly(keep) {
    for (const [key, row] of this.map) {
      if (!keep(key)) {
        this.#ro?.unobserve(row.el);
        row.el.remove();
        this.map.delete(key);
      }
    }
  }

  /**
   * Make exactly the rows start..end (and the one holding focus) exist and be current.
   * @param {Geometry} v
   * @param {number} start
   * @param {number} end
   * @returns {boolean} whether any height changed (the range must be recomputed)
   */
  render(v, start, end) {
    /** @type {Set<string>} */
    const wanted = new Set();
    for (let i = start; i <= end; i++) wanted.add(/** @type {string} */ (v.keyAt(i)));
    const focused = document.activeElement?.closest?.("[data-key]");
    const focusKey = focused instanceof HTMLElement && this.box.contains(focused) ? focused.dataset.key : undefined;
    if (focusKey && v.has(focusKey)) wanted.add(focusKey);
    this.keepOnly((key) => wanted.has(key));

    const room = this.#room();
    const me = room?.me?.participant_id ?? "";
    /** @type {HTMLElement[]} */
    const touched = [];
    const ordered = Array.from(wanted).sort(
      (a, b) => /** @type {number} */ (v.indexOf(a)) - /** @type {number} */ (v.indexOf(b)),
    );
    /** @type {ChildNode | null} */
    let cursor = this.box.firstChild;
    for (const key of ordered) {
      const i = /** @type {number} */ (v.indexOf(key));
      const m = /** @type {ChatMessageView} */ (v.items[i]);
      const prev = i > 0 ? v.items[i - 1] : undefined;
      const ctx = rowContext(m, prev, me, ...this.#extras(m, key, me));
      const file = isFileOffer(m); // a file offer's row: ui/file-message.js
      const sig = file ? fileRowSignature(m, ctx) : signature(m, ctx);
      let row = this.map.get(key);
      if (!row) {
        row = { el: h("div", { class: "ml-row", "data-key": key }), sig: "" };
        this.map.set(key, row);
        this.#ro?.observe(row.el);
      }
      if (row.sig !== sig) {
        if (file) fillFileRow(row.el, m, ctx, room);
        else fillRow(row.el, m, ctx);
        row.el.classList.toggle("selected", key === this.#actions.selected);
        row.sig = sig;
        touched.push(row.el);
      }
      row.el.classList.toggle("flash", key === this.#actions.flashing);
      if (row.el !== cursor) this.box.insertBefore(row.el, cursor);
      else cursor = cursor.nextSibling;
    }
    let changed = false;
    for (const el of touched) {
      if (v.setHeight(/** @type {string} */ (el.dataset.key), el.getBoundingClientRect().height)) changed = true;
    }
    return changed;
  }

  /**
   * Each row at its offset, below the head.
   * @param {Geometry} v
   * @param {number} base  px above the first row
   */
  place(v, base) {
    for (const [key, row] of this.map) {
      const i = v.indexOf(key);
      if (i === undefined) continue;
      row.el.style.setProperty("--y", `${base + v.offset(i)}px`);
    }
  }

  /**
   * What a row shows besides its message: who read it (own "read" ones), the quote of
   * the message it replies to, the "Delete?" question.
   * @param {ChatMessageView} m
   * @param {string} key
   * @param {string} me
   * @returns {[string[] | undefined, {quote: import("./message-controls.js").Quote | null, confirming: boolean}]}
   */
  #extras(m, key, me) {
    const room = this.#room();
    const readers = m.state === "read" && m.seq != null && m.sender === me ? room?.readers?.(m.seq) : undefined;
    const replied = m.ref != null && (m.kind ?? "text") === "text" ? m.ref : null;
    const quote = replied === null ? null : quoteOf(replied, room?.message?.(replied));
    return [readers, { quote, confirming: key === this.#actions.confirming }];
  }
}
