// <pl-transfer-panel>: the room's file transfers, one row per transfer (ui/transfer-row.js;
// DOM contract in docs/file-transfer.md), newest first, with a count, "Clear finished" and
// the screen-reader news of offers arriving and files coming in.

import { h } from "./dom.js";
import { FINISHED, SAVED_EVENT, setText, TransferRow } from "./transfer-row.js";
import { newsText, retryStalled, withRecipient } from "./transfer-text.js";

/** @typedef {import("./types.js").TransferView} TransferView */
/** @typedef {import("./types.js").TransfersLike} TransfersLike */

export class TransferPanel extends HTMLElement {
  /** @type {TransfersLike | null} */
  #engine = null;
  /** @type {Map<string, TransferRow>} */
  #rows = new Map();
  /** @type {Map<string, string>} id → state last announced */
  #announced = new Map();
  /** @type {string[]} what to announce after this render */
  #news = [];
  /** Received files handed to the person (Save): "Clear finished" may drop them. */
  #saved = new Set();
  #primed = false;

  #title = h("h2", { id: "transfers-title", class: "panel-title", text: "Files", tabindex: "-1" });
  #count = h("span", { class: "conn-count", "data-testid": "transfer-count" });
  #clear = h("button", {
    type: "button",
    class: "btn subtle small-btn clear-btn",
    text: "Clear finished",
    hidden: true,
  });
  /** Several stalled (a phone back from sleep, a network back): one click for all. */
  #retryAll = h("button", {
    type: "button",
    class: "btn subtle small-btn",
    text: "Retry all",
    "data-testid": "retry-all",
    hidden: true,
  });
  #list = h("ul", { class: "transfers", "aria-label": "File transfers" });
  #empty = h("p", {
    class: "muted small transfers-empty",
    text: "No files yet. Use “Send files” below the chat, or drop files onto it.",
  });
  /** @type {HTMLElement} */
  #live = h("p", { class: "visually-hidden", role: "status", "aria-live": "polite" });
  /** @type {import("./people-panel.js").Roster | null} names the person an offer waits for */
  #roster = null;
  #ownLive = true;

  connectedCallback() {
    if (!this.firstChild) {
      this.append(
        h("section", { class: "panel transfer-panel", "aria-labelledby": "transfers-title" }, [
          h("div", { class: "panel-head" }, [this.#title, this.#count, this.#retryAll, this.#clear]),
          this.#empty,
          this.#list,
          this.#ownLive ? this.#live : null,
        ]),
      );
      this.#retryAll.addEventListener("click", () => {
        if (this.#engine) retryStalled(this.#engine);
        this.#render();
        if (this.#retryAll.hidden) this.#title.focus();
      });
      this.#clear.addEventListener("click", () => {
        const engine = this.#engine;
        if (!engine) return;
        for (const t of engine.list()) if (this.#clearable(t)) engine.dismiss(t.id);
        this.#render();
        if (this.#clear.hidden) (this.#list.querySelector("button") ?? this.#title).focus();
      });
    }
    this.#engine?.addEventListener("change", this.#onChange);
    document.addEventListener(SAVED_EVENT, this.#onSavedElsewhere);
    this.#render();
  }

  disconnectedCallback() {
    this.#engine?.removeEventListener("change", this.#onChange);
    document.removeEventListener(SAVED_EVENT, this.#onSavedElsewhere);
  }

  /** A file saved from the timeline is as saved as one saved here: "Clear finished" may drop it. */
  #onSavedElsewhere = (/** @type {Event} */ event) => {
    const id = /** @type {CustomEvent<string>} */ (event).detail;
    if (typeof id !== "string") return;
    this.#saved.add(id);
    this.#render();
  };

  /** @returns {TransfersLike | null} */
  get transfers() {
    return this.#engine;
  }

  /** @param {TransfersLike | null} engine */
  set transfers(engine) {
    if (engine === this.#engine) return;
    this.#engine?.removeEventListener("change", this.#onChange);
    this.#engine = engine;
    this.#rows.clear();
    this.#list.replaceChildren();
    this.#primed = false;
    if (this.isConnected) engine?.addEventListener("change", this.#onChange);
    this.#render();
  }

  get roster() {
    return this.#roster;
  }

  /** The room's roster: an offer to someone offline names them (the engine can't). */
  set roster(roster) {
    this.#roster?.removeEventListener("change", this.#onRoster);
    this.#roster = roster;
    roster?.addEventListener("change", this.#onRoster);
    this.#render();
  }

  #onRoster = () => this.#render();

  /** @param {string} id */
  #personOf = (id) => this.#roster?.entries().find((p) => p.id === id);

  /** Incoming offers waiting for an answer (the phone's toggle shows the count). */
  get pendingOffers() {
    return (this.#engine?.list() ?? []).filter((t) => t.direction === "in" && t.state === "offered");
  }

  /**
   * Say something to screen readers through the panel's live region.
   * @param {string} text
   */
  announce(text) {
    this.#live.textContent = text;
  }

  /**
   * Use a live region outside the panel (on a phone the panel is hidden, and a hidden
   * live region says nothing).
   * @param {HTMLElement} region  role=status
   */
  set liveRegion(region) {
    if (this.#ownLive) this.#live.remove();
    this.#live = region;
    this.#ownLive = false;
  }

  /** Transfers listed. */
  get count() {
    return this.#engine?.list().length ?? 0;
  }

  /** Transfers still moving or waiting for someone. */
  get activeCount() {
    return (this.#engine?.list() ?? []).filter((t) => !FINISHED.has(t.state)).length;
  }

  #onChange = () => {
    this.#render();
    this.dispatchEvent(new CustomEvent("transfers-change", { bubbles: true }));
  };

  #render() {
    const engine = this.#engine;
    const views = (engine ? engine.list() : []).map((t) => withRecipient(t, this.#personOf));
    const seen = new Set();
    /** @type {HTMLElement[]} */
    const order = [];
    for (const view of views) {
      seen.add(view.id);
      let row = this.#rows.get(view.id);
      if (!row && engine) {
        row = new TransferRow(view, engine, (id) => {
          this.#saved.add(id);
          this.#render();
        });
        this.#rows.set(view.id, row);
      } else row?.update(view);
      if (row) order.push(row.el);
      this.#announce(view);
    }
    for (const [id, row] of this.#rows) {
      if (seen.has(id)) continue;
      const hadFocus = row.el.contains(document.activeElement);
      row.el.remove();
      this.#rows.delete(id);
      this.#announced.delete(id);
      if (hadFocus) (this.#list.querySelector("button") ?? this.#clear).focus();
    }
    // Reorder only when needed: moving a focused node would drop its focus.
    const current = Array.from(this.#list.children);
    if (current.length !== order.length || order.some((el, i) => current[i] !== el)) {
      const focused = document.activeElement;
      this.#list.replaceChildren(...order);
      if (focused instanceof HTMLElement && this.#list.contains(focused)) focused.focus();
    }
    this.#empty.hidden = views.length > 0;
    this.#list.hidden = views.length === 0;
    const active = views.filter((t) => !FINISHED.has(t.state)).length;
    setText(this.#count, views.length ? (active ? `${active} active` : `${views.length}`) : "");
    this.#clear.hidden = !views.some((t) => this.#clearable(t));
    this.#retryAll.hidden = views.filter((t) => t.state === "stalled").length < 2;
    this.#primed = true;
    this.#flushNews();
  }

  /**
   * Finished, and nothing is lost by forgetting it (a received file not saved yet is kept).
   * @param {TransferView} t
   */
  #clearable(t) {
    if (!FINISHED.has(t.state)) return false;
    return !(t.direction === "in" && t.state === "done") || this.#saved.has(t.id);
  }

  /**
   * Say the moments that matter to screen readers: an offer arrives, a file is in.
   * @param {TransferView} t
   */
  #announce(t) {
    const last = this.#announced.get(t.id);
    if (last === t.state) return;
    this.#announced.set(t.id, t.state);
    if (!this.#primed) return; // what was already there when the room opened
    const text = newsText(t);
    if (text) this.#news.push(text);
  }

  /** Say what #announce collected in one render: several offers at once are one line. */
  #flushNews() {
    const news = this.#news.splice(0);
    if (!news.length) return;
    this.#live.textContent =
      news.length <= 2 ? news.join(" ") : `${news.length} file updates: ${news.slice(0, 2).join(" ")} …`;
  }
}

customElements.define("pl-transfer-panel", TransferPanel);
