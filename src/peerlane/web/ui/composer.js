// <pl-composer>: the message box. Enter sends, Shift+Enter is a newline. It never
// disables itself: while offline, messages queue in the outbox and go out later. It
// reports every keystroke to room.setTyping, which throttles (chat-presence.js).

import { ICONS, h, icon } from "./dom.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */

const MAX_HEIGHT_PX = 180;

/** Room names longer than this are left out of the message box's placeholder. */
const PLACEHOLDER_NAME_MAX = 20;

export class Composer extends HTMLElement {
  /** @type {RoomLike | null} */
  #room = null;
  /** Whether this box told the room its person is typing (and has not said stopped). */
  #typing = false;

  #input = h("textarea", {
    id: "message-input",
    rows: "1",
    placeholder: "Write a message",
    autocomplete: "off",
    enterkeyhint: "send",
    "aria-describedby": "composer-hint",
  });
  #button = h("button", { type: "submit", class: "send-btn", "aria-label": "Send", title: "Send (Enter)" }, [
    icon(ICONS.send),
    h("span", { class: "send-text", "aria-hidden": "true", text: "Send" }),
  ]);
  #form = h("form", { class: "composer", "aria-label": "Write a message" }, [
    h("label", { for: "message-input", class: "visually-hidden", text: "Message" }),
    this.#input,
    this.#button,
  ]);
  #hint = h("p", {
    id: "composer-hint",
    class: "composer-hint",
    text: "Enter to send, Shift+Enter for a new line",
  });

  connectedCallback() {
    if (!this.#form.isConnected) this.append(this.#form, this.#hint);
    this.#form.addEventListener("submit", this.#onSubmit);
    this.#input.addEventListener("keydown", this.#onKey);
    this.#input.addEventListener("input", this.#onInput);
    this.#input.addEventListener("blur", this.#stopTyping);
    // Empty, the box has its one-row height already; measuring it would force a layout
    // of the whole page in the middle of rendering it.
    if (this.#input.value) this.#autosize();
  }

  disconnectedCallback() {
    this.#form.removeEventListener("submit", this.#onSubmit);
    this.#input.removeEventListener("keydown", this.#onKey);
    this.#input.removeEventListener("input", this.#onInput);
    this.#input.removeEventListener("blur", this.#stopTyping);
    this.#stopTyping();
  }

  /** @returns {RoomLike | null} */
  get room() {
    return this.#room;
  }

  /** @param {RoomLike | null} room */
  set room(room) {
    this.#room = room;
    const name = room?.roomInfo?.name;
    // A long room name would not fit the placeholder on one line (on a phone it is cut
    // off mid-line); the name is in the header anyway.
    this.#input.placeholder = name && Array.from(name).length <= PLACEHOLDER_NAME_MAX ? `Message ${name}` : "Write a message";
    let draft = null;
    try {
      draft = this.#draftKey ? sessionStorage.getItem(this.#draftKey) : null;
    } catch {
      /* storage disabled: no draft to restore */
    }
    if (draft && !this.#input.value) {
      this.#input.value = draft;
      this.#autosize();
    }
  }

  /** @returns {HTMLTextAreaElement} */
  get input() {
    return this.#input;
  }

  focus() {
    this.#input.focus();
  }

  get #draftKey() {
    const id = this.#room?.roomInfo?.id;
    return id ? `peerlane.draft.${id}` : "";
  }

  /** @param {SubmitEvent} event */
  #onSubmit = (event) => {
    event.preventDefault();
    this.#send();
  };

  /** @param {KeyboardEvent} event */
  #onKey = (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.altKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    this.#send();
  };

  #onInput = () => {
    this.#autosize();
    const room = this.#room;
    const text = this.#input.value;
    try {
      if (this.#draftKey) {
        if (text) sessionStorage.setItem(this.#draftKey, text);
        else sessionStorage.removeItem(this.#draftKey);
      }
    } catch {
      /* storage full or disabled: drafts are a nicety */
    }
    if (!room) return;
    if (!text.trim()) {
      this.#stopTyping();
      return;
    }
    // Every keystroke: the room throttles, and ends it after a pause without one.
    this.#typing = true;
    room.setTyping(true);
  };

  #stopTyping = () => {
    if (this.#typing && this.#room) this.#room.setTyping(false);
    this.#typing = false;
  };

  #send() {
    const text = this.#input.value;
    const room = this.#room;
    if (!text.trim() || !room) {
      this.#input.focus();
      return;
    }
    this.#stopTyping();
    this.#input.value = "";
    try {
      if (this.#draftKey) sessionStorage.removeItem(this.#draftKey);
    } catch {
      /* ignore */
    }
    this.#autosize();
    this.#input.focus();
    room.send(text);
    this.dispatchEvent(new CustomEvent("sent", { bubbles: true }));
  }

  #autosize() {
    const el = this.#input;
    el.style.setProperty("height", "auto");
    if (!el.scrollHeight) {
      el.style.removeProperty("height");
      return;
    }
    const height = Math.min(el.scrollHeight + 2, MAX_HEIGHT_PX);
    el.style.setProperty("height", `${height}px`);
    el.classList.toggle("scrolling", el.scrollHeight + 2 > MAX_HEIGHT_PX);
  }
}

customElements.define("pl-composer", Composer);
