// What a click (or Enter, Space) on a row of <pl-message-list> does: Retry and Delete of
// an unsent message, reactions and the reaction picker, Reply and Edit (handed to the
// composer with a "compose" event), Delete with its inline question ("Delete this
// message for everyone?" Delete / Keep it; "Keep it" takes focus, Escape answers it), a
// reply's quote (jump to the original), and the tap that shows a bubble's actions on
// touch screens. Focus goes where the person can carry on.

import { ReactionPicker } from "./reaction-picker.js";

/** How long the original a quote jumped to stays highlighted. */
const FLASH_MS = 2000;

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./types.js").ChatMessageView} ChatMessageView */

/**
 * What the actions need of their list.
 * @typedef {{
 *   el: HTMLElement,
 *   room: () => RoomLike | null,
 *   messageOf: (el: Element) => ChatMessageView | undefined,
 *   keyOf: (m: ChatMessageView) => string,
 *   rows: () => Map<string, {el: HTMLElement}>,
 *   changed: () => void,
 *   scrollToBottom: () => void,
 *   jumpTo: (seq: number) => unknown,
 * }} ListHost
 */

/**
 * The "compose" event's detail: the composer takes the message to edit or reply to.
 * @typedef {{mode: "edit" | "reply", message: ChatMessageView}} ComposeRequest
 */

export class RowActions {
  /** The row whose actions a tap showed (touch screens). */
  selected = "";
  /** The row whose "Delete this message?" question is open. */
  confirming = "";
  /** The row a quote jumped to, highlighted for a moment. */
  flashing = "";
  #flashTimer = 0;
  /** After the next render: focus this control of this row. @type {{key: string, focus: string} | null} */
  #focusNext = null;
  /** @type {ListHost} */
  #list;

  /** @param {ListHost} list */
  constructor(list) {
    this.#list = list;
    this.picker = new ReactionPicker((trigger, emoji) => {
      const message = list.messageOf(trigger);
      if (message && message.seq != null) list.room()?.react(message.seq, emoji);
    });
  }

  /** Listen to the list's clicks and keys; the picker goes into the page. */
  attach() {
    document.body.append(this.picker.el);
    this.#list.el.addEventListener("click", this.onClick);
    this.#list.el.addEventListener("keydown", this.onKey);
  }

  detach() {
    this.#list.el.removeEventListener("click", this.onClick);
    this.#list.el.removeEventListener("keydown", this.onKey);
    this.picker.el.remove();
  }

  /** @param {MouseEvent} event */
  onClick = (event) => {
    const target = /** @type {Element} */ (event.target);
    const button = target.closest("button[data-action]");
    if (!(button instanceof HTMLButtonElement)) {
      // A tap on a bubble shows its actions on touch screens (no hover there).
      const row = target.closest(".ml-row");
      const key = row instanceof HTMLElement ? (row.dataset.key ?? "") : "";
      this.selected = key && key !== this.selected && target.closest(".msg") ? key : "";
      for (const [k, r] of this.#list.rows()) r.el.classList.toggle("selected", k === this.selected);
      return;
    }
    const room = this.#list.room();
    if (!room) return;
    const action = button.dataset.action;
    if (action === "jump") {
      this.#list.scrollToBottom();
      return;
    }
    const message = this.#list.messageOf(button);
    if (!message) return;
    const key = this.#list.keyOf(message);
    if (action === "retry") {
      room.retry(message.id);
    } else if (action === "discard") {
      room.discard?.(message.id);
      this.#list.el.focus(); // the row and its button are gone: keep the keyboard in the list
    } else if (action === "toggle" && message.seq != null && button.dataset.emoji) {
      room.react(message.seq, button.dataset.emoji);
    } else if (action === "react") {
      this.picker.toggle(button, event.detail > 0);
    } else if (action === "reply" || action === "edit") {
      /** @type {ComposeRequest} */
      const detail = { mode: action, message };
      this.#list.el.dispatchEvent(new CustomEvent("compose", { bubbles: true, detail }));
    } else if (action === "delete") {
      this.#ask(this.confirming === key ? "" : key, key, this.confirming === key ? "delete" : "cancel-delete");
    } else if (action === "cancel-delete") {
      this.#ask("", key, "delete");
    } else if (action === "confirm-delete") {
      this.confirming = "";
      room.deleteMessage?.(message.id);
      this.#focusNext = { key, focus: "" }; // the row stays ("Message deleted") or leaves
      this.#list.changed();
    } else if (action === "quote" && button.dataset.ref) {
      void this.#list.jumpTo(Number(button.dataset.ref));
    }
  };

  /**
   * Escape answers an open "Delete this message?" with "Keep it".
   * @param {KeyboardEvent} event
   */
  onKey = (event) => {
    if (event.key !== "Escape" || !this.confirming) return;
    event.preventDefault();
    this.#ask("", this.confirming, "delete");
  };

  /**
   * Open or close the question, and say where focus goes once the row is drawn again.
   * @param {string} confirming
   * @param {string} key
   * @param {string} focus
   */
  #ask(confirming, key, focus) {
    this.confirming = confirming;
    this.#focusNext = { key, focus };
    this.#list.changed();
  }

  /**
   * Highlight a row for a moment and focus it once drawn (the original a quote jumped to).
   * @param {string} key
   */
  flash(key) {
    this.flashing = key;
    this.focusAfterRender(key);
    clearTimeout(this.#flashTimer);
    this.#flashTimer = window.setTimeout(() => {
      this.flashing = "";
      this.#list.rows().get(key)?.el.classList.remove("flash");
    }, FLASH_MS);
  }

  /**
   * Once the rows are drawn, focus this row's bubble (the original a quote jumped to).
   * @param {string} key
   */
  focusAfterRender(key) {
    this.#focusNext = { key, focus: "" };
  }

  /**
   * After the rows are drawn: move focus where the last action said (a row that is gone,
   * or has no such control: the list, or the row's bubble).
   * @param {Map<string, {el: HTMLElement}>} rows
   */
  afterRender(rows) {
    const next = this.#focusNext;
    if (!next) return;
    this.#focusNext = null;
    const row = rows.get(next.key)?.el;
    const control = next.focus ? row?.querySelector(`[data-focus="${next.focus}"]`) : null;
    const bubble = row?.querySelector(".msg");
    const target = control ?? bubble ?? this.#list.el;
    if (target instanceof HTMLElement) target.focus({ preventScroll: true });
  }
}
