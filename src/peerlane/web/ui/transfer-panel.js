// <pl-transfer-panel>: the room's file transfers, one row per transfer (DOM contract in
// docs/file-transfer.md): type icon, name, size, who sends it (to whom), a <progress>,
// speed and time left, the path (Direct / TURN relay / Via server), the state in words
// and the actions that make sense now (Accept, Decline, Cancel, Save, Pick file again, Retry).
// Rows are updated in place, so keyboard focus survives the frequent progress updates.

import { h, ICONS, icon } from "./dom.js";
import { filePicker } from "./file-drop.js";
import { fileKind, formatBytes, formatRate, kindIcon } from "./file-info.js";
import {
  actionErrorText,
  amountText,
  errorText,
  newsText,
  noteText,
  receiversText,
  stateText,
  whoText,
  withRecipient,
} from "./transfer-text.js";

/** @typedef {import("./types.js").TransferView} TransferView */
/** @typedef {import("./types.js").TransfersLike} TransfersLike */

const PATH_TEXT = /** @type {Record<string, string>} */ ({
  direct: "Direct",
  turn: "TURN relay",
  server: "Via server",
});
const PATH_HELP = /** @type {Record<string, string>} */ ({
  direct: "The bytes go straight between the two browsers.",
  turn: "The bytes go peer to peer through a relay (TURN).",
  server: "The bytes go through this server (no direct link was possible).",
});

const FINISHED = new Set(["done", "declined", "cancelled", "failed"]);
const MOVING = new Set(["sending", "receiving"]);

/**
 * The buttons a transfer shows now, as a key (rows rebuild them only when it changes).
 * @param {TransferView} t
 * @returns {string[]}
 */
function actionsOf(t) {
  const out = t.direction === "out";
  switch (t.state) {
    case "offered":
      return out ? ["cancel"] : ["accept", "decline"];
    case "waiting":
    case "sending":
    case "receiving":
    case "verifying":
      return ["cancel"];
    case "needs-file":
      return ["pick", "cancel"];
    case "stalled":
      return ["retry", "cancel"];
    case "done":
      return out ? ["dismiss"] : ["save", "dismiss"];
    default:
      return ["dismiss"];
  }
}

class TransferRow {
  /** @type {TransferView} */
  view;
  #actionsKey = "";
  /** @type {TransfersLike} */
  #engine;
  /** @type {string | null} */
  #localError = null;
  /** @type {(id: string) => void} */
  #onSaved;

  /**
   * @param {TransferView} view
   * @param {TransfersLike} engine
   * @param {(id: string) => void} onSaved  the file was handed to the person
   */
  constructor(view, engine, onSaved) {
    this.view = view;
    this.#engine = engine;
    this.#onSaved = onSaved;
    const kind = fileKind(view.name, view.type);
    const nameId = `transfer-name-${view.id}`;
    this.name = h("span", { class: "file-name", id: nameId, "data-testid": "transfer-name" });
    this.size = h("span", { class: "file-size", "data-testid": "transfer-size" });
    this.who = h("span", { class: "transfer-who", "data-testid": "transfer-sender" });
    this.badge = h("span", { class: "path-badge", "data-testid": "transfer-path" });
    this.progress = h("progress", { max: "1", value: "0", "aria-labelledby": nameId });
    this.stateEl = h("span", { class: "transfer-state", "data-testid": "transfer-state" });
    this.rate = h("span", { class: "transfer-rate", "data-testid": "transfer-rate" });
    this.receivers = h("p", { class: "transfer-receivers" });
    this.error = h("p", { class: "file-error", role: "alert", "data-testid": "transfer-error" });
    this.actions = h("div", { class: "transfer-actions", role: "group", "aria-labelledby": nameId });
    this.line = h("div", { class: "transfer-line" }, [this.stateEl, this.rate]);
    this.main = h("div", { class: "file-main" }, [
      h("div", { class: "file-line" }, [this.name, this.size]),
      h("div", { class: "transfer-meta" }, [this.who, this.badge]),
      this.progress,
      this.line,
      this.receivers,
      this.error,
      this.actions,
    ]);
    this.el = h(
      "li",
      {
        class: "transfer",
        tabindex: "-1",
        "data-testid": "transfer",
        "data-transfer-id": view.id,
        "aria-labelledby": nameId,
      },
      [kindIcon(kind), this.main],
    );
    this.update(view);
  }

  /** @param {TransferView} t */
  update(t) {
    const prev = this.view;
    this.view = t;
    const el = this.el;
    el.dataset.direction = t.direction;
    el.dataset.state = t.state;
    el.dataset.path = t.path ?? "";
    el.dataset.root = t.root ?? "";
    setText(this.name, t.name);
    this.name.title = t.name;
    setText(this.size, formatBytes(t.size));
    setText(this.who, whoText(t));

    const path = t.path && PATH_TEXT[t.path] ? t.path : "";
    this.badge.hidden = !path;
    setText(this.badge, path ? (PATH_TEXT[path] ?? "") : "");
    this.badge.title = path ? (PATH_HELP[path] ?? "") : "";
    this.badge.dataset.path = path;

    const max = Math.max(1, t.size);
    const done = t.state === "done" ? max : Math.min(max, Math.max(0, t.bytesDone));
    if (this.progress.max !== max) this.progress.max = max;
    if (this.progress.value !== done) this.progress.value = done;
    this.progress.hidden = t.state === "offered" || t.state === "declined" || (t.state === "cancelled" && !t.bytesDone);

    // The note is the engine's precise word on the state (a code: "Preparing… 40 %",
    // "Reconnecting…"); finished states speak for themselves.
    const note = (!FINISHED.has(t.state) && noteText(t.note)) || stateText(t);
    setText(this.stateEl, note);
    const rate = MOVING.has(t.state) ? formatRate(t.speedBps, t.etaSeconds) : "";
    const amount =
      MOVING.has(t.state) || (["needs-file", "failed", "stalled"].includes(t.state) && t.bytesDone > 0)
        ? amountText(t)
        : "";
    setText(this.rate, [amount, rate].filter(Boolean).join(" · "));
    const recv = receiversText(t);
    setText(this.receivers, recv);
    this.receivers.hidden = !recv;

    if (prev.state !== t.state || errorText(prev.error) !== errorText(t.error)) this.#localError = null;
    const error = this.#localError ?? (t.state === "failed" || t.state === "needs-file" ? errorText(t.error) : "");
    setText(this.error, error);

    const actions = actionsOf(t);
    const key = actions.join(",");
    if (key !== this.#actionsKey) {
      const hadFocus = this.el.contains(document.activeElement);
      this.#actionsKey = key;
      this.actions.replaceChildren(...actions.map((a) => this.#button(a)));
      // A lone "remove from the list" sits at the end of the state line, not on a row of its own.
      if (key === "dismiss") this.line.append(this.actions);
      else if (this.actions.parentElement !== this.main) this.main.append(this.actions);
      // The pressed button is gone: keep focus on this transfer (not on the next button,
      // where a second Enter would, say, cancel what was just accepted).
      if (hadFocus && !this.el.contains(document.activeElement)) this.el.focus();
    }
  }

  /**
   * @param {string} action
   * @returns {HTMLElement}
   */
  #button(action) {
    const t = () => this.view;
    const engine = this.#engine;
    const name = this.view.name;
    switch (action) {
      case "accept":
        return h("button", {
          type: "button",
          class: "btn primary small-btn",
          text: "Accept",
          onclick: () => this.#run(() => engine.accept(t().id)),
        });
      case "decline":
        return h("button", {
          type: "button",
          class: "btn small-btn",
          text: "Decline",
          onclick: () => this.#run(() => engine.decline(t().id)),
        });
      case "cancel":
        return h("button", {
          type: "button",
          class: "btn small-btn",
          text: "Cancel",
          onclick: () => this.#run(() => engine.cancel(t().id)),
        });
      case "retry":
        return h("button", {
          type: "button",
          class: "btn primary small-btn",
          text: "Retry",
          onclick: () => this.#run(() => engine.retry(t().id)),
        });
      case "save":
        return h(
          "button",
          {
            type: "button",
            class: "btn primary small-btn",
            onclick: () =>
              this.#run(async () => {
                await engine.save(t().id);
                this.#onSaved(t().id);
              }),
          },
          [icon(ICONS.down), "Save"],
        );
      case "pick": {
        const picker = filePicker({
          multiple: false,
          label: `Pick ${name} again`,
          onFiles: (files) => {
            const file = files[0];
            if (file) this.#run(() => engine.pickAgain(t().id, file));
          },
        });
        return h("span", { class: "pick-again" }, [
          picker.input,
          h("button", {
            type: "button",
            class: "btn primary small-btn",
            text: "Pick file again",
            onclick: picker.open,
          }),
        ]);
      }
      default: {
        // A received file not saved yet lives only in this browser: say it goes.
        const received = this.view.direction === "in" && this.view.state === "done";
        return h(
          "button",
          {
            type: "button",
            class: "icon-btn dismiss-btn",
            "aria-label": received ? `Delete the received copy of ${name}` : `Remove ${name} from the list`,
            title: received ? "Delete the received copy (save it first to keep it)" : "Remove from the list",
            onclick: () => this.#run(() => engine.dismiss(t().id)),
          },
          [icon(ICONS.close)],
        );
      }
    }
  }

  /** @param {() => unknown} call */
  #run(call) {
    this.#localError = null;
    try {
      const result = call();
      if (result && typeof (/** @type {Promise<unknown>} */ (result).then) === "function") {
        /** @type {Promise<unknown>} */ (result).catch((/** @type {unknown} */ err) => {
          const msg = actionErrorText(err);
          this.#localError = msg;
          setText(this.error, msg);
        });
      }
    } catch (err) {
      const msg = actionErrorText(err);
      this.#localError = msg;
      setText(this.error, msg);
    }
  }
}

/**
 * @param {HTMLElement} el
 * @param {string} text
 */
function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

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
          h("div", { class: "panel-head" }, [this.#title, this.#count, this.#clear]),
          this.#empty,
          this.#list,
          this.#ownLive ? this.#live : null,
        ]),
      );
      this.#clear.addEventListener("click", () => {
        const engine = this.#engine;
        if (!engine) return;
        for (const t of engine.list()) if (this.#clearable(t)) engine.dismiss(t.id);
        this.#render();
        if (this.#clear.hidden) (this.#list.querySelector("button") ?? this.#title).focus();
      });
    }
    this.#engine?.addEventListener("change", this.#onChange);
    this.#render();
  }

  disconnectedCallback() {
    this.#engine?.removeEventListener("change", this.#onChange);
  }

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
