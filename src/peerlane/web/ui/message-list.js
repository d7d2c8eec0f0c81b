// <pl-message-list>: the room's messages, virtualized.
//
// The element itself is the scroll container (role="log"). Inside it a spacer as tall
// as every row together; only the rows in view (plus an overscan margin) exist in the
// DOM, absolutely positioned at their offset. Each rendered row is measured; the
// geometry (heights, offsets, the visible range, the anchor) is ui/virtualizer.js. What
// the user sees is pinned by the anchor (the first row in view and how far into it the
// viewport starts), so height corrections, prepended history and new rows never move the
// content under the reader. At the bottom, the list follows new messages; elsewhere it
// offers a "New messages ↓" button. A row's content is ui/message-row.js, the reaction
// picker ui/reaction-picker.js.

import { isFileOffer, keyOf } from "../chat-log.js";
import { h } from "./dom.js";
import { fileRowSignature, fillFileRow, offerShownTo } from "./file-message.js";
import { fillRow, rowContext, signature } from "./message-row.js";
import { ReactionPicker } from "./reaction-picker.js";
import { Virtualizer } from "./virtualizer.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./types.js").ChatMessageView} ChatMessageView */

const OVERSCAN_PX = 800;
const HEAD = 64; // px above the first row: "Loading earlier messages…" or the room's start
const PAD_BOTTOM = 12;
const DEFAULT_ROW = 72;
const BOTTOM_SLACK = 40; // px from the bottom that still counts as "at the bottom"
const LOAD_OLDER_PX = 600; // start fetching history this close to the top

/**
 * @typedef {object} Row
 * @property {HTMLElement} el
 * @property {string} sig
 */

export class MessageList extends HTMLElement {
  /** @type {RoomLike | null} */
  #room = null;
  /** The rows' geometry. @type {Virtualizer<ChatMessageView>} */
  #v = new Virtualizer((m) => keyOf(m.sender, m.id), { defaultHeight: DEFAULT_ROW });
  #base = HEAD;
  /** @type {Map<string, Row>} */
  #rows = new Map();
  #stick = true;
  #unseen = 0;
  #lastKey = "";
  #loading = false;
  #hasMore = true;
  #loadFailed = false;
  #messagesDirty = true;
  #raf = 0;
  #lastRead = 0;
  /** @type {ResizeObserver | null} */
  #ro = null;
  #picker = new ReactionPicker((trigger, emoji) => {
    const message = this.#messageOf(trigger);
    if (this.#room && message && message.seq != null) this.#room.react(message.seq, emoji);
  });
  #selected = "";
  /** Content or viewport changed: if stuck to the bottom, go (back) there. A scroll of
   * the person's own near the bottom must not be undone, so a plain scroll doesn't set it. */
  #follow = true;
  #setTop = -1;

  // Built once in connectedCallback.
  #spacer = h("div", { class: "ml-spacer" });
  #rowsBox = h("div", { class: "ml-rows" });
  #head = h("div", { class: "ml-head" });
  #jump = h("button", { type: "button", class: "ml-jump", "data-action": "jump", hidden: true }, [
    h("span", { text: "New messages" }),
    h("span", { "aria-hidden": "true", text: " ↓" }),
  ]);

  connectedCallback() {
    this.setAttribute("role", "log");
    this.setAttribute("aria-label", "Messages");
    this.setAttribute("aria-live", "polite");
    this.setAttribute("aria-relevant", "additions");
    this.setAttribute("tabindex", "0");
    this.dataset.total = String(this.#v.count);
    if (!this.#spacer.isConnected) {
      this.#spacer.append(this.#head, this.#rowsBox);
      this.append(this.#spacer, h("div", { class: "ml-jump-dock" }, [this.#jump]));
    }
    document.body.append(this.#picker.el);
    this.addEventListener("scroll", this.#onScroll, { passive: true });
    this.addEventListener("click", this.#onClick);
    document.addEventListener("visibilitychange", this.#onVisibility);
    window.addEventListener("focus", this.#onVisibility);
    this.#ro = new ResizeObserver(this.#onResize);
    this.#ro.observe(this);
    for (const row of this.#rows.values()) this.#ro.observe(row.el);
    this.#schedule();
  }

  disconnectedCallback() {
    this.removeEventListener("scroll", this.#onScroll);
    this.removeEventListener("click", this.#onClick);
    document.removeEventListener("visibilitychange", this.#onVisibility);
    window.removeEventListener("focus", this.#onVisibility);
    this.#ro?.disconnect();
    this.#ro = null;
    this.#picker.el.remove();
    if (this.#raf) cancelAnimationFrame(this.#raf);
    this.#raf = 0;
  }

  /** @returns {RoomLike | null} */
  get room() {
    return this.#room;
  }

  /** @param {RoomLike | null} room */
  set room(room) {
    if (this.#room === room) return;
    this.#room?.removeEventListener("change", this.#onChange);
    this.#room = room;
    room?.addEventListener("change", this.#onChange);
    this.#v.clear();
    for (const r of this.#rows.values()) r.el.remove();
    this.#rows.clear();
    this.#stick = true;
    this.#unseen = 0;
    this.#lastKey = "";
    this.#lastRead = 0;
    this.#hasMore = room?.hasMore ?? true;
    this.#onChange();
  }

  /** Scroll to the newest message and follow new ones again. */
  scrollToBottom() {
    this.#stick = true;
    this.#follow = true;
    this.#unseen = 0;
    this.#schedule();
  }

  // -- events ---------------------------------------------------------------------------

  #onChange = () => {
    this.#messagesDirty = true;
    this.#follow = true;
    this.#schedule();
  };

  #onScroll = () => {
    const max = this.scrollHeight - this.clientHeight;
    this.#stick = max - this.scrollTop <= BOTTOM_SLACK;
    if (this.#stick) this.#unseen = 0;
    // The echo of our own (rounded) scrollTop write keeps the exact anchor: re-reading it
    // would let sub-pixel rounding creep with every history page.
    const mine = Math.abs(this.scrollTop - this.#setTop) < 1;
    this.#setTop = -1;
    if (!mine) {
      this.#saveAnchor(this.scrollTop);
      // The person scrolled away from the message the picker belongs to.
      if (this.#picker.for) this.#picker.hide();
    }
    this.#schedule();
  };

  /** @param {ResizeObserverEntry[]} entries */
  #onResize = (entries) => {
    let changed = false;
    for (const entry of entries) {
      const el = /** @type {HTMLElement} */ (entry.target);
      if (el === this) {
        changed = true; // a new viewport size: another range of rows, maybe re-stick
        continue;
      }
      const key = el.dataset.key;
      if (!key || !this.#rows.has(key)) continue;
      const size = entry.borderBoxSize?.[0]?.blockSize ?? el.offsetHeight;
      if (this.#v.setHeight(key, size)) changed = true;
    }
    if (changed) {
      this.#follow = true;
      this.#schedule();
    }
  };

  #onVisibility = () => this.#markRead();

  /** @param {MouseEvent} event */
  #onClick = (event) => {
    const target = /** @type {Element} */ (event.target);
    const button = target.closest("button[data-action]");
    if (!(button instanceof HTMLButtonElement)) {
      // A tap on a bubble shows its actions on touch screens (no hover there).
      const row = target.closest(".ml-row");
      const key = row instanceof HTMLElement ? (row.dataset.key ?? "") : "";
      this.#selected = key && key !== this.#selected && target.closest(".msg") ? key : "";
      for (const [k, r] of this.#rows) r.el.classList.toggle("selected", k === this.#selected);
      return;
    }
    if (!this.#room) return;
    const action = button.dataset.action;
    if (action === "jump") {
      this.scrollToBottom();
      return;
    }
    const message = this.#messageOf(button);
    if (!message) return;
    if (action === "retry") {
      this.#room.retry(message.id);
    } else if (action === "discard") {
      this.#room.discard?.(message.id);
      this.focus(); // the row and its button are gone: keep the keyboard in the list
    } else if (action === "toggle" && message.seq != null && button.dataset.emoji) {
      this.#room.react(message.seq, button.dataset.emoji);
    } else if (action === "react") {
      this.#picker.toggle(button, event.detail > 0);
    }
  };

  /** @param {Element} el */
  #messageOf(el) {
    const key = /** @type {HTMLElement | null} */ (el.closest("[data-key]"))?.dataset.key;
    return key === undefined ? undefined : this.#v.itemOf(key);
  }

  // -- layout ---------------------------------------------------------------------------

  #schedule() {
    if (!this.#raf && this.isConnected) this.#raf = requestAnimationFrame(() => this.#layout());
  }

  #refreshMessages() {
    const room = this.#room;
    const all = room ? room.messages : [];
    // ChatRoom folds reactions into their message's counts; they are never rows.
    // A file offer to one person is a row for the two of them only (ui/file-message.js).
    const myId = room?.me?.participant_id ?? "";
    const next = all.filter((m) => m.kind !== "reaction" && (m.kind !== "file" || offerShownTo(m, myId)));
    this.#v.setItems(next);
    this.#messagesDirty = false;
    this.dataset.total = String(this.#v.count);

    const n = this.#v.count;
    const last = this.#v.keyAt(n - 1) ?? "";
    if (last !== this.#lastKey) {
      const before = this.#lastKey ? this.#v.indexOf(this.#lastKey) : undefined;
      const added = this.#lastKey === "" ? 0 : n - 1 - (before ?? -1);
      const fresh = next.slice(n - Math.max(0, added));
      const me = room?.me?.participant_id;
      // Sending a message of one's own brings the conversation back to the bottom.
      if (fresh.some((m) => m.sender === me && m.state === "sending")) this.#stick = true;
      else if (!this.#stick && this.#lastKey && before !== undefined) this.#unseen += added;
      this.#lastKey = last;
    }
    // Rows of messages gone from the list (a room switch, a rollback) leave.
    for (const [key, row] of this.#rows) {
      if (!this.#v.has(key)) {
        this.#ro?.unobserve(row.el);
        row.el.remove();
        this.#rows.delete(key);
      }
    }
  }

  /** @param {number} scrollTop */
  #saveAnchor(scrollTop) {
    this.#v.saveAnchor(scrollTop - this.#base);
  }

  #layout() {
    this.#raf = 0;
    if (!this.isConnected) return;
    if (this.#messagesDirty) this.#refreshMessages();
    const v = this.#v;
    const n = v.count;
    const view = this.clientHeight;
    // biome-ignore lint/complexity/noUselessThisAlias: as a plain HTMLElement, or tsc takes scrollTop for an unassigned field
    const scroller = /** @type {HTMLElement} */ (this);
    let top = scroller.scrollTop;
    let start = 0;
    let end = -1;
    for (let pass = 0; pass < 4; pass++) {
      const total = v.total();
      // Few messages sit at the bottom, next to the composer, like any chat.
      this.#base = Math.max(HEAD, view - total - PAD_BOTTOM);
      const height = this.#base + total + PAD_BOTTOM;
      this.#spacer.style.setProperty("--height", `${height}px`);
      const max = Math.max(0, height - view);
      let want = top;
      if (this.#stick && this.#follow) {
        want = max;
      } else {
        const anchored = v.anchorTop();
        if (anchored !== null) want = this.#base + anchored;
      }
      want = Math.max(0, Math.min(max, want));
      if (Math.abs(scroller.scrollTop - want) >= 1) {
        scroller.scrollTop = want;
        this.#setTop = scroller.scrollTop;
      }
      top = want;
      [start, end] = v.range(top - this.#base, view, OVERSCAN_PX);
      if (!this.#render(start, end)) break;
    }
    for (const [key, row] of this.#rows) {
      const i = v.indexOf(key);
      if (i === undefined) continue;
      row.el.style.setProperty("--y", `${this.#base + v.offset(i)}px`);
    }
    this.#follow = false;
    this.#saveAnchor(top);
    this.#updateHead();
    this.#jump.hidden = this.#stick || this.#unseen === 0;
    this.#markRead();
    if (!this.#stick && top - this.#base < LOAD_OLDER_PX) void this.#loadOlder();
    else if (this.#stick && n > 0 && v.total() < view) void this.#loadOlder();
  }

  /**
   * Make exactly the rows start..end (and the one holding focus) exist and be current.
   * @param {number} start
   * @param {number} end
   * @returns {boolean} whether any height changed (the range must be recomputed)
   */
  #render(start, end) {
    /** @type {Set<string>} */
    const wanted = new Set();
    const v = this.#v;
    for (let i = start; i <= end; i++) wanted.add(/** @type {string} */ (v.keyAt(i)));
    const focused = document.activeElement?.closest?.("[data-key]");
    const focusKey =
      focused instanceof HTMLElement && this.#rowsBox.contains(focused) ? focused.dataset.key : undefined;
    if (focusKey && v.has(focusKey)) wanted.add(focusKey);

    for (const [key, row] of this.#rows) {
      if (!wanted.has(key)) {
        this.#ro?.unobserve(row.el);
        row.el.remove();
        this.#rows.delete(key);
      }
    }
    const me = this.#room?.me?.participant_id ?? "";
    /** @type {HTMLElement[]} */
    const touched = [];
    const ordered = Array.from(wanted).sort(
      (a, b) => /** @type {number} */ (v.indexOf(a)) - /** @type {number} */ (v.indexOf(b)),
    );
    /** @type {ChildNode | null} */
    let cursor = this.#rowsBox.firstChild;
    for (const key of ordered) {
      const i = /** @type {number} */ (v.indexOf(key));
      const m = /** @type {ChatMessageView} */ (v.items[i]);
      const prev = i > 0 ? v.items[i - 1] : undefined;
      const readers = m.state === "read" && m.seq != null && m.sender === me ? this.#room?.readers?.(m.seq) : undefined;
      const ctx = rowContext(m, prev, me, readers);
      const file = isFileOffer(m); // a file offer's row: ui/file-message.js
      const sig = file ? fileRowSignature(m, ctx) : signature(m, ctx);
      let row = this.#rows.get(key);
      if (!row) {
        row = { el: h("div", { class: "ml-row", "data-key": key }), sig: "" };
        this.#rows.set(key, row);
        this.#ro?.observe(row.el);
      }
      if (row.sig !== sig) {
        if (file) fillFileRow(row.el, m, ctx, this.#room);
        else fillRow(row.el, m, ctx);
        row.el.classList.toggle("selected", key === this.#selected);
        row.sig = sig;
        touched.push(row.el);
      }
      if (row.el !== cursor) this.#rowsBox.insertBefore(row.el, cursor);
      else cursor = cursor.nextSibling;
    }
    let changed = false;
    for (const el of touched) {
      if (v.setHeight(/** @type {string} */ (el.dataset.key), el.getBoundingClientRect().height)) changed = true;
    }
    return changed;
  }

  #updateHead() {
    const n = this.#v.count;
    this.#head.style.setProperty("--y", `${this.#base - HEAD}px`);
    let text = "";
    let cls = "ml-head";
    if (this.#loading) {
      text = "Loading earlier messages…";
      cls += " loading";
    } else if (this.#loadFailed) {
      text = "Couldn't load earlier messages; scroll up to try again.";
    } else if (!n) {
      text = "No messages yet. Say hello!";
      cls += " empty";
    } else if (!this.#hasMore) {
      const name = this.#room?.roomInfo?.name;
      text = name ? `This is the start of ${name}.` : "This is the start of the room.";
    }
    if (this.#head.textContent !== text) this.#head.textContent = text;
    if (this.#head.className !== cls) this.#head.className = cls;
  }

  async #loadOlder() {
    const room = this.#room;
    if (!room || this.#loading || !this.#hasMore) return;
    const first = this.#v.items[0];
    if (first && first.seq != null && first.seq <= 1) {
      this.#hasMore = false;
      this.#updateHead();
      return;
    }
    this.#loading = true;
    this.#loadFailed = false;
    this.#updateHead();
    try {
      const count = room.messages.length;
      const more = await room.loadOlder();
      // A page that brought nothing new means the start was reached.
      if (more === false || room.hasMore === false || room.messages.length === count) this.#hasMore = false;
    } catch {
      this.#loadFailed = true;
    } finally {
      this.#loading = false;
      if (this.#room === room) {
        // Wait for the new rows before looking at the scroll position again.
        this.#messagesDirty = true;
        if (!this.#loadFailed) this.#schedule();
        else this.#updateHead();
      }
    }
  }

  /** Report the newest message in view as read, while the page is in view. */
  #markRead() {
    const room = this.#room;
    if (!room || document.visibilityState !== "visible" || !this.#v.count || !this.clientHeight) return;
    // The newest *visible* row with a seq: unsent rows sort last and have none.
    const seq = this.#v.newestInView(this.scrollTop - this.#base, this.clientHeight, (m) =>
      typeof m.seq === "number" ? m.seq : undefined,
    );
    if (seq !== undefined && seq > this.#lastRead) {
      this.#lastRead = seq;
      room.markRead(seq);
    }
  }
}

customElements.define("pl-message-list", MessageList);
