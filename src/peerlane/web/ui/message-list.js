// <pl-message-list>: the room's messages, virtualized.
//
// The element itself is the scroll container (role="log"). Inside it a spacer as tall
// as every row together; only the rows in view (plus an overscan margin) exist in the
// DOM, absolutely positioned at their offset. Each rendered row is measured; the
// geometry (heights, offsets, the visible range, the anchor) is ui/virtualizer.js. What
// the user sees is pinned by the anchor (the first row in view and how far into it the
// viewport starts), so height corrections, prepended history and new rows never move the
// content under the reader. At the bottom, the list follows new messages; elsewhere it
// offers a "New messages ↓" button. The rows themselves (which exist, drawn, measured,
// placed) are ui/message-rows.js; a row's content ui/message-row.js, what its buttons do
// ui/message-actions.js (the reaction picker ui/reaction-picker.js). jumpTo shows a
// reply's original, loading older history until it is there.

import { keyOf } from "../chat-log.js";
import { h } from "./dom.js";
import { offerShownTo } from "./file-message.js";
import { RowActions } from "./message-actions.js";
import { HistoryHead } from "./message-history.js";
import { MessageRows } from "./message-rows.js";
import { ReadPosition } from "./read-position.js";
import { Virtualizer } from "./virtualizer.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./types.js").ChatMessageView} ChatMessageView */

const OVERSCAN_PX = 800;
const HEAD = 64; // px above the first row: "Loading earlier messages…" or the room's start
const PAD_BOTTOM = 12;
const DEFAULT_ROW = 72;
const BOTTOM_SLACK = 40; // px from the bottom that still counts as "at the bottom"
const LOAD_OLDER_PX = 600; // start fetching history this close to the top

/** What the list is to assistive technology and the keyboard. */
const LOG_ATTRIBUTES = [
  ["role", "log"],
  ["aria-label", "Messages"],
  ["aria-live", "polite"],
  ["aria-relevant", "additions"],
  ["tabindex", "0"],
];

export class MessageList extends HTMLElement {
  /** @type {RoomLike | null} */
  #room = null;
  /** The rows' geometry. @type {Virtualizer<ChatMessageView>} */
  #v = new Virtualizer((m) => keyOf(m.sender, m.id), { defaultHeight: DEFAULT_ROW });
  #base = HEAD;
  #stick = true;
  #unseen = 0;
  #lastKey = "";
  #messagesDirty = true;
  #raf = 0;
  /** @type {ResizeObserver | null} */
  #ro = null;
  #actions = new RowActions({
    el: this,
    room: () => this.#room,
    messageOf: (el) => this.#messageOf(el),
    keyOf: (m) => keyOf(m.sender, m.id),
    rows: () => this.#rows.map,
    changed: () => this.#schedule(),
    scrollToBottom: () => this.scrollToBottom(),
    jumpTo: (seq) => this.jumpTo(seq),
  });
  /** The rows drawn. */
  #rows = new MessageRows(() => this.#room, this.#actions);
  /** Content or viewport changed: if stuck to the bottom, go (back) there. A scroll of
   * the person's own near the bottom must not be undone, so a plain scroll doesn't set it. */
  #follow = true;
  #setTop = -1;

  /** What the reader has seen, reported as read. */
  #reads = new ReadPosition({
    room: () => this.#room,
    newestInView: () =>
      this.#v.count && this.clientHeight
        ? this.#v.newestInView(this.scrollTop - this.#base, this.clientHeight, (m) =>
            typeof m.seq === "number" ? m.seq : undefined,
          )
        : undefined,
  });

  // Built once in connectedCallback.
  #spacer = h("div", { class: "ml-spacer" });
  /** The head above the rows and the loading of older history. */
  #history = new HistoryHead({
    room: () => this.#room,
    first: () => this.#v.items[0],
    count: () => this.#v.count,
    loaded: () => {
      // Wait for the new rows before looking at the scroll position again.
      this.#messagesDirty = true;
      this.#schedule();
    },
  });
  #jump = h("button", { type: "button", class: "ml-jump", "data-action": "jump", hidden: true }, [
    h("span", { text: "New messages" }),
    h("span", { "aria-hidden": "true", text: " ↓" }),
  ]);

  connectedCallback() {
    for (const [name, value] of LOG_ATTRIBUTES) this.setAttribute(name, value);
    this.dataset.total = String(this.#v.count);
    if (!this.#spacer.isConnected) {
      this.#spacer.append(this.#history.el, this.#rows.box);
      this.append(this.#spacer, h("div", { class: "ml-jump-dock" }, [this.#jump]));
    }
    this.#actions.attach();
    this.addEventListener("scroll", this.#onScroll, { passive: true });
    this.#reads.attach();
    this.#ro = new ResizeObserver(this.#onResize);
    this.#ro.observe(this);
    this.#rows.observe(this.#ro);
    this.#schedule();
  }

  disconnectedCallback() {
    this.removeEventListener("scroll", this.#onScroll);
    this.#actions.detach();
    this.#reads.detach();
    this.#ro?.disconnect();
    this.#ro = null;
    this.#rows.observe(null);
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
    this.#rows.clear();
    this.#stick = true;
    this.#unseen = 0;
    this.#lastKey = "";
    this.#reads.reset();
    this.#history.reset(room);
    this.#onChange();
  }

  /**
   * Show the message numbered seq (a reply's original): older history is loaded until it
   * is there; it is scrolled into view, highlighted for a moment and focused.
   * @param {number} seq
   * @returns {Promise<boolean>}  whether it was found
   */
  async jumpTo(seq) {
    const room = this.#room;
    if (!room) return false;
    const target = await this.#history.loadUntil(seq);
    if (this.#room !== room) return false;
    this.#refreshMessages();
    if (!target) return false;
    const key = keyOf(target.sender, target.id);
    // A third of the way down the view, with the context before it above.
    this.#v.anchor = { key, delta: -Math.round(this.clientHeight / 3) };
    this.#stick = false;
    this.#follow = false;
    this.#actions.flash(key); // and focus it once drawn
    this.#schedule();
    return true;
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
      if (this.#actions.picker.for) this.#actions.picker.hide();
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
      if (!key || !this.#rows.map.has(key)) continue;
      const size = entry.borderBoxSize?.[0]?.blockSize ?? el.offsetHeight;
      if (this.#v.setHeight(key, size)) changed = true;
    }
    if (changed) {
      this.#follow = true;
      this.#schedule();
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
    this.#rows.keepOnly((key) => this.#v.has(key));
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
      if (!this.#rows.render(v, start, end)) break;
    }
    this.#rows.place(v, this.#base);
    this.#follow = false;
    this.#saveAnchor(top);
    this.#actions.afterRender(this.#rows.map);
    this.#history.update(this.#base - HEAD);
    this.#jump.hidden = this.#stick || this.#unseen === 0;
    this.#reads.mark();
    if (!this.#stick && top - this.#base < LOAD_OLDER_PX) void this.#history.loadOlder();
    else if (this.#stick && n > 0 && v.total() < view) void this.#history.loadOlder();
  }
}

customElements.define("pl-message-list", MessageList);
