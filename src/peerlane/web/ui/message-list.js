// <pl-message-list>: the room's messages, virtualized.
//
// The element itself is the scroll container (role="log"). Inside it a spacer as tall
// as every row together; only the rows in view (plus an overscan margin) exist in the
// DOM, absolutely positioned at their offset. Row heights vary: each rendered row is
// measured and the height cached by message key; rows never rendered use an estimate
// (the mean measured height). What the user sees is pinned by an anchor (the first row
// in view and how far into it the viewport starts), so height corrections, prepended
// history and new rows never move the content under the reader. At the bottom, the list
// follows new messages; elsewhere it offers a "New messages ↓" button.

import { ICONS, formatDay, formatFull, formatTime, h, icon } from "./dom.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./types.js").ChatMessageView} ChatMessageView */

const OVERSCAN_PX = 800;
const HEAD = 64; // px above the first row: "Loading earlier messages…" or the room's start
const PAD_BOTTOM = 12;
const DEFAULT_ROW = 72;
const BOTTOM_SLACK = 40; // px from the bottom that still counts as "at the bottom"
const LOAD_OLDER_PX = 600; // start fetching history this close to the top
const GROUP_GAP_S = 5 * 60;
const ESTIMATE_SAMPLES = 60;

/** The reaction picker's choices, with words for tooltips and assistive technology. */
export const REACTIONS = /** @type {const} */ ([
  ["👍", "Thumbs up"],
  ["❤️", "Heart"],
  ["😂", "Laughing"],
  ["🎉", "Party"],
  ["😮", "Surprised"],
  ["😢", "Sad"],
]);

const STATE_TEXT = /** @type {Record<string, string>} */ ({
  sending: "Sending…",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Not sent",
});
const STATE_ICON = /** @type {Record<string, string[]>} */ ({
  sending: ICONS.clock,
  sent: ICONS.check,
  delivered: ICONS.checks,
  read: ICONS.checks,
  failed: ICONS.alert,
});

/** @param {ChatMessageView} m */
const keyOf = (m) => `${m.sender}\u0000${m.id}`;

/**
 * A message body as text: strings as they are, anything else as JSON.
 * @param {unknown} body
 * @returns {string}
 */
export function bodyText(body) {
  if (typeof body === "string") return body;
  try {
    return JSON.stringify(body) ?? String(body);
  } catch {
    return String(body);
  }
}

/** @param {ChatMessageView} m */
const millis = (m) => (typeof m.ts === "number" && m.ts > 0 ? m.ts * 1000 : Date.now());

/** @param {string} s */
function hue(s) {
  let x = 0;
  for (let i = 0; i < s.length; i++) x = (x * 31 + s.charCodeAt(i)) | 0;
  return Math.abs(x) % 6;
}

/**
 * @typedef {object} Row
 * @property {HTMLElement} el
 * @property {string} sig
 */

export class MessageList extends HTMLElement {
  /** @type {RoomLike | null} */
  #room = null;
  /** @type {ChatMessageView[]} */
  #messages = [];
  /** @type {string[]} */
  #keys = [];
  /** @type {Map<string, number>} */
  #index = new Map();
  /** @type {Map<string, number>} */
  #heights = new Map();
  #measuredSum = 0;
  #measuredCount = 0;
  #offsets = new Float64Array(1);
  #base = HEAD;
  /** @type {Map<string, Row>} */
  #rows = new Map();
  /** @type {{key: string, delta: number} | null} */
  #anchor = null;
  #stick = true;
  #unseen = 0;
  #lastKey = "";
  #loading = false;
  #hasMore = true;
  #loadFailed = false;
  #messagesDirty = true;
  /** Offsets are valid below this index; recomputed from here on. */
  #dirtyFrom = 0;
  #raf = 0;
  #lastRead = 0;
  /** @type {ResizeObserver | null} */
  #ro = null;
  /** @type {HTMLElement | null} */
  #pickerFor = null;
  #selected = "";
  /** Content or viewport changed: if stuck to the bottom, go (back) there. A scroll of
   * the person's own near the bottom must not be undone, so a plain scroll doesn't set it. */
  #follow = true;
  /** @type {HTMLElement | null} */
  #closedFor = null;
  #closedAt = 0;
  #setTop = -1;

  // Built once in connectedCallback.
  #spacer = h("div", { class: "ml-spacer" });
  #rowsBox = h("div", { class: "ml-rows" });
  #head = h("div", { class: "ml-head" });
  #jump = h(
    "button",
    { type: "button", class: "ml-jump", "data-action": "jump", hidden: true },
    [h("span", { text: "New messages" }), h("span", { "aria-hidden": "true", text: " ↓" })],
  );
  #picker = h("div", {
    class: "react-picker",
    popover: "auto",
    role: "menu",
    "aria-label": "Choose a reaction",
  });

  constructor() {
    super();
    for (const [emoji, word] of REACTIONS) {
      this.#picker.append(
        h("button", {
          type: "button",
          role: "menuitem",
          class: "react-choice",
          "data-emoji": emoji,
          title: word,
          "aria-label": `${emoji} ${word}`,
          tabindex: "-1",
          text: emoji,
        }),
      );
    }
    this.#picker.addEventListener("click", this.#onPick);
    this.#picker.addEventListener("keydown", this.#onPickerKey);
    // beforetoggle runs synchronously inside hidePopover() and light dismiss, so the
    // trigger it restores is always the one the picker was opened from.
    this.#picker.addEventListener("beforetoggle", this.#onPickerToggle);
  }

  connectedCallback() {
    this.setAttribute("role", "log");
    this.setAttribute("aria-label", "Messages");
    this.setAttribute("aria-live", "polite");
    this.setAttribute("aria-relevant", "additions");
    this.setAttribute("tabindex", "0");
    this.dataset.total = String(this.#messages.length);
    if (!this.#spacer.isConnected) {
      this.#spacer.append(this.#head, this.#rowsBox);
      this.append(this.#spacer, h("div", { class: "ml-jump-dock" }, [this.#jump]));
    }
    document.body.append(this.#picker);
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
    this.#picker.remove();
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
    this.#heights.clear();
    this.#measuredCount = 0;
    this.#measuredSum = 0;
    this.#messages = [];
    this.#keys = [];
    this.#index.clear();
    this.#dirtyFrom = 0;
    this.#rows.forEach((r) => r.el.remove());
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
      if (this.#pickerFor && this.#picker.matches(":popover-open")) this.#picker.hidePopover();
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
      if (this.#setHeight(key, size)) changed = true;
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
      const key = row instanceof HTMLElement ? row.dataset.key ?? "" : "";
      this.#selected = key && key !== this.#selected && !!target.closest(".msg") ? key : "";
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
    } else if (action === "toggle" && message.seq != null && button.dataset.emoji) {
      this.#room.react(message.seq, button.dataset.emoji);
    } else if (action === "react") {
      this.#openPicker(button, event.detail > 0);
    }
  };

  /** @param {Element} el */
  #messageOf(el) {
    const key = /** @type {HTMLElement | null} */ (el.closest("[data-key]"))?.dataset.key;
    const i = key === undefined ? undefined : this.#index.get(key);
    return i === undefined ? undefined : this.#messages[i];
  }

  // -- the reaction picker ----------------------------------------------------------------

  /**
   * @param {HTMLElement} button
   * @param {boolean} [pointer]  opened by a pointer click (not Enter or Space)
   */
  #openPicker(button, pointer = false) {
    if (this.#picker.matches(":popover-open")) {
      const same = this.#pickerFor === button;
      this.#picker.hidePopover();
      if (same) return;
    }
    if (!this.#picker.isConnected) return;
    // A click on the trigger of an open picker: light dismiss closed it on pointerdown.
    if (pointer && this.#closedFor === button && performance.now() - this.#closedAt < 400) {
      this.#closedFor = null;
      return;
    }
    this.#pickerFor = button;
    button.setAttribute("aria-expanded", "true");
    this.#picker.showPopover();
    const b = button.getBoundingClientRect();
    const p = this.#picker.getBoundingClientRect();
    const margin = 8;
    let x = b.left + b.width / 2 - p.width / 2;
    x = Math.max(margin, Math.min(x, window.innerWidth - p.width - margin));
    let y = b.top - p.height - 6;
    if (y < margin) y = b.bottom + 6;
    this.#picker.style.setProperty("--x", `${Math.round(x)}px`);
    this.#picker.style.setProperty("--y", `${Math.round(y)}px`);
    const first = /** @type {HTMLElement | null} */ (this.#picker.querySelector("button"));
    first?.focus();
  }

  /** @param {Event} event */
  #onPickerToggle = (event) => {
    if (/** @type {ToggleEvent} */ (event).newState !== "closed") return;
    const trigger = this.#pickerFor;
    this.#pickerFor = null;
    if (!trigger) return;
    this.#closedFor = trigger;
    this.#closedAt = performance.now();
    trigger.setAttribute("aria-expanded", "false");
    const active = document.activeElement;
    if (!active || active === document.body || this.#picker.contains(active)) {
      if (trigger.isConnected) trigger.focus();
    }
  };

  /** @param {MouseEvent} event */
  #onPick = (event) => {
    const choice = /** @type {Element} */ (event.target).closest("button[data-emoji]");
    if (!(choice instanceof HTMLButtonElement) || !this.#pickerFor || !this.#room) return;
    const message = this.#messageOf(this.#pickerFor);
    const emoji = choice.dataset.emoji;
    this.#picker.hidePopover(); // focus goes back to the React button
    if (message && message.seq != null && emoji) this.#room.react(message.seq, emoji);
  };

  /** @param {KeyboardEvent} event */
  #onPickerKey = (event) => {
    const buttons = /** @type {HTMLButtonElement[]} */ (Array.from(this.#picker.querySelectorAll("button")));
    const at = buttons.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    let next = -1;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") next = (at + 1) % buttons.length;
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = (at - 1 + buttons.length) % buttons.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = buttons.length - 1;
    else if (event.key === "Tab") {
      event.preventDefault();
      this.#picker.hidePopover();
      return;
    }
    if (next >= 0) {
      event.preventDefault();
      buttons[next]?.focus();
    }
  };

  // -- layout ---------------------------------------------------------------------------

  #schedule() {
    if (!this.#raf && this.isConnected) this.#raf = requestAnimationFrame(() => this.#layout());
  }

  /** Height of a row never rendered: the mean of the first rows measured, then fixed
   * (a moving estimate would shift every offset, and every offset would need recomputing). */
  #estimate() {
    return this.#measuredCount ? this.#measuredSum / this.#measuredCount : DEFAULT_ROW;
  }

  /**
   * @param {string} key
   * @param {number} height
   * @returns {boolean} whether it changed
   */
  #setHeight(key, height) {
    if (height <= 0) return false;
    const old = this.#heights.get(key);
    if (old !== undefined && Math.abs(old - height) < 0.5) return false;
    this.#heights.set(key, height);
    if (old === undefined && this.#measuredCount < ESTIMATE_SAMPLES) {
      this.#measuredCount++;
      this.#measuredSum += height;
      this.#dirtyFrom = 0; // the estimate moved
    } else {
      this.#dirtyFrom = Math.min(this.#dirtyFrom, this.#index.get(key) ?? 0);
    }
    return true;
  }

  #refreshMessages() {
    const room = this.#room;
    const all = room ? room.messages : [];
    const old = this.#messages;
    // ChatRoom folds reactions into their message's counts; they are never rows.
    const next = all.some((m) => m.kind === "reaction") ? all.filter((m) => m.kind !== "reaction") : all.slice();
    // Most changes append or touch the end (a new message, an ack): keys and index are
    // rebuilt only from the first position that differs, which keeps 10,000+ cheap.
    let same = 0;
    const n = Math.min(old.length, next.length);
    while (same < n && old[same] === next[same]) same++;
    for (let i = same; i < this.#keys.length; i++) {
      const key = /** @type {string} */ (this.#keys[i]);
      if (this.#index.get(key) === i) this.#index.delete(key);
    }
    this.#keys.length = same;
    for (let i = same; i < next.length; i++) {
      const key = keyOf(/** @type {ChatMessageView} */ (next[i]));
      this.#keys.push(key);
      this.#index.set(key, i);
    }
    this.#messages = next;
    this.#dirtyFrom = Math.min(this.#dirtyFrom, same);
    this.#messagesDirty = false;
    this.dataset.total = String(this.#messages.length);

    const last = this.#keys[this.#keys.length - 1] ?? "";
    if (last !== this.#lastKey) {
      const before = this.#lastKey ? this.#index.get(this.#lastKey) : undefined;
      const added = this.#lastKey === "" ? 0 : this.#keys.length - 1 - (before ?? -1);
      const fresh = this.#messages.slice(this.#keys.length - Math.max(0, added));
      const me = room?.me?.participant_id;
      // Sending a message of one's own brings the conversation back to the bottom.
      if (fresh.some((m) => m.sender === me && m.state === "sending")) this.#stick = true;
      else if (!this.#stick && this.#lastKey && before !== undefined) this.#unseen += added;
      this.#lastKey = last;
    }
    // Rows of messages gone from the list (a room switch, a rollback) leave.
    for (const [key, row] of this.#rows) {
      if (!this.#index.has(key)) {
        this.#ro?.unobserve(row.el);
        row.el.remove();
        this.#rows.delete(key);
      }
    }
  }

  #computeOffsets() {
    const n = this.#keys.length;
    let from = Math.min(this.#dirtyFrom, n);
    if (this.#offsets.length !== n + 1) {
      const grown = new Float64Array(n + 1);
      grown.set(this.#offsets.subarray(0, Math.min(from + 1, this.#offsets.length, n + 1)));
      this.#offsets = grown;
    }
    if (from >= this.#offsets.length) from = 0;
    const est = this.#estimate();
    let y = /** @type {number} */ (this.#offsets[from]);
    if (from === 0) y = 0;
    for (let i = from; i < n; i++) {
      this.#offsets[i] = y;
      y += this.#heights.get(/** @type {string} */ (this.#keys[i])) ?? est;
    }
    this.#offsets[n] = y;
    this.#dirtyFrom = Infinity;
  }

  /**
   * The first index whose row ends below `y` (content coordinates).
   * @param {number} y
   */
  #indexAt(y) {
    const n = this.#keys.length;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (/** @type {number} */ (this.#offsets[mid + 1]) <= y) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** @param {number} scrollTop */
  #saveAnchor(scrollTop) {
    const n = this.#keys.length;
    if (!n) {
      this.#anchor = null;
      return;
    }
    const y = scrollTop - this.#base;
    const i = Math.min(this.#indexAt(Math.max(0, y)), n - 1);
    this.#anchor = { key: /** @type {string} */ (this.#keys[i]), delta: y - /** @type {number} */ (this.#offsets[i]) };
  }

  #layout() {
    this.#raf = 0;
    if (!this.isConnected) return;
    if (this.#messagesDirty) this.#refreshMessages();
    const n = this.#keys.length;
    const view = this.clientHeight;
    /** @type {HTMLElement} */
    const scroller = this;
    let top = scroller.scrollTop;
    let start = 0;
    let end = -1;
    for (let pass = 0; pass < 4; pass++) {
      if (this.#dirtyFrom !== Infinity) this.#computeOffsets();
      const total = /** @type {number} */ (this.#offsets[n]);
      // Few messages sit at the bottom, next to the composer, like any chat.
      this.#base = Math.max(HEAD, view - total - PAD_BOTTOM);
      const height = this.#base + total + PAD_BOTTOM;
      this.#spacer.style.setProperty("--height", `${height}px`);
      const max = Math.max(0, height - view);
      let want = top;
      if (this.#stick && this.#follow) {
        want = max;
      } else if (this.#anchor) {
        const i = this.#index.get(this.#anchor.key);
        if (i !== undefined) want = this.#base + /** @type {number} */ (this.#offsets[i]) + this.#anchor.delta;
      }
      want = Math.max(0, Math.min(max, want));
      if (Math.abs(scroller.scrollTop - want) >= 1) {
        scroller.scrollTop = want;
        this.#setTop = scroller.scrollTop;
      }
      top = want;
      start = this.#indexAt(Math.max(0, top - this.#base - OVERSCAN_PX));
      end = Math.min(n - 1, this.#indexAt(top - this.#base + view + OVERSCAN_PX));
      if (!this.#render(start, end)) break;
    }
    for (const [key, row] of this.#rows) {
      const i = this.#index.get(key);
      if (i === undefined) continue;
      row.el.style.setProperty("--y", `${this.#base + /** @type {number} */ (this.#offsets[i])}px`);
    }
    this.#follow = false;
    this.#saveAnchor(top);
    this.#updateHead();
    this.#jump.hidden = this.#stick || this.#unseen === 0;
    this.#markRead();
    if (!this.#stick && top - this.#base < LOAD_OLDER_PX) void this.#loadOlder();
    else if (this.#stick && n > 0 && /** @type {number} */ (this.#offsets[n]) < view) void this.#loadOlder();
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
    for (let i = start; i <= end; i++) wanted.add(/** @type {string} */ (this.#keys[i]));
    const focused = document.activeElement?.closest?.("[data-key]");
    const focusKey = focused instanceof HTMLElement && this.#rowsBox.contains(focused) ? focused.dataset.key : undefined;
    if (focusKey && this.#index.has(focusKey)) wanted.add(focusKey);

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
      (a, b) => /** @type {number} */ (this.#index.get(a)) - /** @type {number} */ (this.#index.get(b)),
    );
    /** @type {ChildNode | null} */
    let cursor = this.#rowsBox.firstChild;
    for (const key of ordered) {
      const i = /** @type {number} */ (this.#index.get(key));
      const m = /** @type {ChatMessageView} */ (this.#messages[i]);
      const prev = i > 0 ? this.#messages[i - 1] : undefined;
      const ctx = this.#context(m, prev, me);
      const sig = signature(m, ctx);
      let row = this.#rows.get(key);
      if (!row) {
        row = { el: h("div", { class: "ml-row", "data-key": key }), sig: "" };
        this.#rows.set(key, row);
        this.#ro?.observe(row.el);
      }
      if (row.sig !== sig) {
        fillRow(row.el, m, ctx);
        row.el.classList.toggle("selected", key === this.#selected);
        row.sig = sig;
        touched.push(row.el);
      }
      if (row.el !== cursor) this.#rowsBox.insertBefore(row.el, cursor);
      else cursor = cursor.nextSibling;
    }
    let changed = false;
    for (const el of touched) {
      if (this.#setHeight(/** @type {string} */ (el.dataset.key), el.getBoundingClientRect().height)) changed = true;
    }
    return changed;
  }

  /**
   * @param {ChatMessageView} m
   * @param {ChatMessageView | undefined} prev
   * @param {string} me
   * @returns {RowContext}
   */
  #context(m, prev, me) {
    const t = millis(m);
    const day = formatDay(new Date(t));
    const newDay = !prev || formatDay(new Date(millis(prev))) !== day;
    const grouped =
      !!prev && !newDay && prev.sender === m.sender && Math.abs(t - millis(prev)) < GROUP_GAP_S * 1000;
    return { mine: m.sender === me, me, day: newDay ? day : "", grouped };
  }

  #updateHead() {
    const n = this.#keys.length;
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
    const first = this.#messages[0];
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
    if (!room || document.visibilityState !== "visible" || !this.#keys.length) return;
    if (!this.clientHeight) return;
    const bottom = this.scrollTop - this.#base + this.clientHeight;
    let i = Math.min(this.#indexAt(bottom - 1), this.#keys.length - 1);
    // The newest *visible* row with a seq: unsent rows sort last and have none.
    const topY = this.scrollTop - this.#base;
    for (; i >= 0 && /** @type {number} */ (this.#offsets[i + 1]) > topY; i--) {
      const seq = this.#messages[i]?.seq;
      if (typeof seq === "number") {
        if (seq > this.#lastRead) {
          this.#lastRead = seq;
          room.markRead(seq);
        }
        return;
      }
    }
  }
}

/**
 * @typedef {object} RowContext
 * @property {boolean} mine
 * @property {string} me       my participant id
 * @property {string} day      the day separator to show above the row, or ""
 * @property {boolean} grouped a follow-up of the previous row's sender
 */

/**
 * Everything a row's look depends on: rebuilt only when this changes.
 * @param {ChatMessageView} m
 * @param {RowContext} ctx
 */
function signature(m, ctx) {
  let reactions = "";
  if (m.reactions) {
    for (const [emoji, who] of m.reactions) {
      if (who.size) reactions += `${emoji}${who.size}${who.has(ctx.me) ? "*" : ""},`;
    }
  }
  return `${m.seq}|${m.state}|${m.sender_name}|${ctx.mine}|${ctx.day}|${ctx.grouped}|${m.ts}|${reactions}`;
}

/**
 * (Re)build one row's content in place, keeping keyboard focus where it was.
 * @param {HTMLElement} el
 * @param {ChatMessageView} m
 * @param {RowContext} ctx
 */
function fillRow(el, m, ctx) {
  const active = document.activeElement;
  const focusKey = active instanceof HTMLElement && el.contains(active) ? active.dataset.focus : undefined;

  el.className = `ml-row${ctx.mine ? " mine" : ""}${ctx.grouped ? " grouped" : ""}`;
  el.dataset.testid = "message";
  el.dataset.id = m.id;
  el.dataset.seq = m.seq == null ? "" : String(m.seq);
  el.dataset.sender = m.sender;
  el.dataset.state = m.state;

  const when = new Date(millis(m));
  const time = h("time", {
    class: "msg-time",
    datetime: when.toISOString(),
    title: formatFull(when),
    text: formatTime(when),
  });
  const sender = h("span", {
    class: `msg-sender c${hue(m.sender)}${ctx.mine || ctx.grouped ? " visually-hidden" : ""}`,
    text: m.sender_name || "Someone",
  });
  const body = h("div", { class: `msg-body${typeof m.body === "string" ? "" : " msg-json"}`, text: bodyText(m.body) });

  const foot = h("div", { class: "msg-foot" });
  const reactions = m.reactions ? Array.from(m.reactions).filter(([, who]) => who.size > 0) : [];
  if (reactions.length) {
    const group = h("div", { class: "reactions", role: "group", "aria-label": "Reactions" });
    for (const [emoji, who] of reactions) {
      const mineToo = who.has(ctx.me);
      const n = who.size;
      group.append(
        h(
          "button",
          {
            type: "button",
            class: "reaction",
            "data-action": "toggle",
            "data-emoji": emoji,
            "data-focus": `r:${emoji}`,
            "aria-pressed": mineToo ? "true" : "false",
            "aria-label": `${emoji} ${n}`,
            title: mineToo
              ? `${n === 1 ? "You" : `You and ${n - 1} more`} reacted with ${emoji}; click to remove yours`
              : `${n} reacted with ${emoji}; click to add yours`,
          },
          [h("span", { class: "reaction-emoji", "aria-hidden": "true", text: emoji }), h("span", { class: "reaction-count", "aria-hidden": "true", text: String(n) })],
        ),
      );
    }
    foot.append(group);
  }
  if (m.seq != null) {
    foot.append(
      h(
        "button",
        {
          type: "button",
          class: "react-btn icon-btn",
          "data-action": "react",
          "data-focus": "react",
          "aria-label": "React",
          "aria-haspopup": "menu",
          "aria-expanded": "false",
          title: "React",
        },
        [icon(ICONS.smile)],
      ),
    );
  }
  const meta = h("span", { class: "msg-meta" }, [time]);
  if (ctx.mine) {
    const state = m.state in STATE_TEXT ? m.state : "sending";
    meta.append(
      h("span", { class: `msg-state state-${state}` }, [
        icon(/** @type {string[]} */ (STATE_ICON[state]), "icon state-icon"),
        h("span", { class: "state-text", text: STATE_TEXT[state] ?? state }),
      ]),
    );
  }
  foot.append(meta);
  if (m.state === "failed") {
    foot.append(
      h("button", { type: "button", class: "retry-btn", "data-action": "retry", "data-focus": "retry" }, [
        icon(ICONS.retry),
        "Retry",
      ]),
    );
  }

  const bubble = h("div", { class: "msg" }, [sender, body, foot]);
  el.replaceChildren();
  if (ctx.day) {
    el.append(h("div", { class: "day-sep", role: "separator", "aria-label": ctx.day }, [h("span", { text: ctx.day })]));
  }
  el.append(bubble);

  if (focusKey) {
    const again = /** @type {HTMLElement | null} */ (el.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`));
    again?.focus();
  }
}

customElements.define("pl-message-list", MessageList);
