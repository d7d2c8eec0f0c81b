// One transfer's row (<li>), as the files panel and the chat timeline show it (DOM
// contract in docs/file-transfer.md): type icon, name, size, who sends it (to whom), a
// <progress>, speed and time left, the path (Direct / TURN relay / Via server), the state
// in words and the actions that make sense now (Accept, Decline, Cancel, Save, Pick file
// again, Retry). Updated in place, so keyboard focus survives the frequent progress updates.

import { h, ICONS, icon } from "./dom.js";
import { filePicker } from "./file-drop.js";
import { fileKind, formatBytes, formatRate, kindIcon } from "./file-info.js";
import { fileNameEl, setFileName } from "./file-name.js";
import {
  actionErrorText,
  amountText,
  errorText,
  noteText,
  receiversText,
  stateText,
  whoText,
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

export const FINISHED = new Set(["done", "declined", "cancelled", "failed"]);
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

/** Said (bubbling, detail: the transfer id) when a row elsewhere than the files panel
 * (the timeline's) hands a received file to the person: the panel may then clear it. */
export const SAVED_EVENT = "transfer-saved";

/**
 * The actions that are one button and one call of the engine: label, style, call.
 * @type {Record<string, [string, string, (engine: TransfersLike, id: string) => unknown]>}
 */
const PLAIN_ACTIONS = {
  accept: ["Accept", " primary", (engine, id) => engine.accept(id)],
  decline: ["Decline", "", (engine, id) => engine.decline(id)],
  cancel: ["Cancel", "", (engine, id) => engine.cancel(id)],
  retry: ["Retry", " primary", (engine, id) => engine.retry(id)],
};

/**
 * Where a row stands: its element, its test id, and the prefix of its element ids (a
 * transfer shown in the panel and in the timeline at once has two rows, with ids apart).
 * @typedef {{tag: "li" | "div", testid: string, idPrefix: string}} RowPlace
 */

/** @type {RowPlace} the files panel's list */
const PANEL = { tag: "li", testid: "transfer", idPrefix: "transfer" };

export class TransferRow {
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
   * @param {RowPlace} [place]  where the row stands (default: the files panel's list)
   */
  constructor(view, engine, onSaved, place = PANEL) {
    this.view = view;
    this.#engine = engine;
    this.#onSaved = onSaved;
    const kind = fileKind(view.name, view.type);
    const nameId = `${place.idPrefix}-name-${view.id}`;
    this.name = fileNameEl(view.name, { id: nameId, "data-testid": "transfer-name" });
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
      place.tag,
      {
        class: "transfer",
        tabindex: "-1",
        role: place.tag === "li" ? null : "group",
        "data-testid": place.testid,
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
    setFileName(this.name, t.name);
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
    const plain = PLAIN_ACTIONS[action];
    if (plain) {
      const [text, kind, call] = plain;
      return h("button", {
        type: "button",
        class: `btn${kind} small-btn`,
        text,
        onclick: () => this.#run(() => call(engine, t().id)),
      });
    }
    switch (action) {
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
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}
