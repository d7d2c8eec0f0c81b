// The reaction picker of <pl-message-list>: a popover menu of REACTIONS opened from a
// message's React button, placed next to it, with arrow keys, Home/End, Tab to close,
// and focus back on the button it was opened from.

import { h } from "./dom.js";
import { REACTIONS } from "./message-row.js";

export class ReactionPicker {
  /** The React button the picker was opened from. @type {HTMLElement | null} */
  for = null;
  /** @type {HTMLElement | null} */
  #closedFor = null;
  #closedAt = 0;
  /** @type {(trigger: HTMLElement, emoji: string) => void} */
  #onChoose;

  el = h("div", {
    class: "react-picker",
    popover: "auto",
    role: "menu",
    "aria-label": "Choose a reaction",
  });

  /** @param {(trigger: HTMLElement, emoji: string) => void} onChoose  an emoji was picked for trigger's message */
  constructor(onChoose) {
    this.#onChoose = onChoose;
    for (const [emoji, word] of REACTIONS) {
      this.el.append(
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
    this.el.addEventListener("click", this.#onPick);
    this.el.addEventListener("keydown", this.#onKey);
    // beforetoggle runs synchronously inside hidePopover() and light dismiss, so the
    // trigger it restores is always the one the picker was opened from.
    this.el.addEventListener("beforetoggle", this.#onToggle);
  }

  get isOpen() {
    return this.el.matches(":popover-open");
  }

  hide() {
    if (this.isOpen) this.el.hidePopover();
  }

  /**
   * Open (or close, when open for the same button) next to a React button.
   * @param {HTMLElement} button
   * @param {boolean} [pointer]  opened by a pointer click (not Enter or Space)
   */
  toggle(button, pointer = false) {
    if (this.isOpen) {
      const same = this.for === button;
      this.el.hidePopover();
      if (same) return;
    }
    if (!this.el.isConnected) return;
    // A click on the trigger of an open picker: light dismiss closed it on pointerdown.
    if (pointer && this.#closedFor === button && performance.now() - this.#closedAt < 400) {
      this.#closedFor = null;
      return;
    }
    this.for = button;
    button.setAttribute("aria-expanded", "true");
    this.el.showPopover();
    const b = button.getBoundingClientRect();
    const p = this.el.getBoundingClientRect();
    const margin = 8;
    let x = b.left + b.width / 2 - p.width / 2;
    x = Math.max(margin, Math.min(x, window.innerWidth - p.width - margin));
    let y = b.top - p.height - 6;
    if (y < margin) y = b.bottom + 6;
    this.el.style.setProperty("--x", `${Math.round(x)}px`);
    this.el.style.setProperty("--y", `${Math.round(y)}px`);
    const first = /** @type {HTMLElement | null} */ (this.el.querySelector("button"));
    first?.focus();
  }

  /** @param {Event} event */
  #onToggle = (event) => {
    if (/** @type {ToggleEvent} */ (event).newState !== "closed") return;
    const trigger = this.for;
    this.for = null;
    if (!trigger) return;
    this.#closedFor = trigger;
    this.#closedAt = performance.now();
    trigger.setAttribute("aria-expanded", "false");
    const active = document.activeElement;
    if (!active || active === document.body || this.el.contains(active)) {
      if (trigger.isConnected) trigger.focus();
    }
  };

  /** @param {MouseEvent} event */
  #onPick = (event) => {
    const choice = /** @type {Element} */ (event.target).closest("button[data-emoji]");
    const trigger = this.for;
    if (!(choice instanceof HTMLButtonElement) || !trigger) return;
    const emoji = choice.dataset.emoji;
    this.el.hidePopover(); // focus goes back to the React button
    if (emoji) this.#onChoose(trigger, emoji);
  };

  /** @param {KeyboardEvent} event */
  #onKey = (event) => {
    const buttons = /** @type {HTMLButtonElement[]} */ (Array.from(this.el.querySelectorAll("button")));
    const at = buttons.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    let next = -1;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") next = (at + 1) % buttons.length;
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = (at - 1 + buttons.length) % buttons.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = buttons.length - 1;
    else if (event.key === "Tab") {
      event.preventDefault();
      this.el.hidePopover();
      return;
    }
    if (next >= 0) {
      event.preventDefault();
      buttons[next]?.focus();
    }
  };
}
