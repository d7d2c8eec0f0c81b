// <pl-composer>: the message box. Enter sends, Shift+Enter is a newline. It never
// disables itself: while offline, messages queue in the outbox and go out later. It
// reports every keystroke to room.setTyping, which throttles (chat-presence.js).
// Near the server's size limit it says how much room is left; over it, it refuses to
// send, keeps the text in the box and offers to send it as a .txt file instead.
// It also edits a message (startEdit: the box takes its words, Enter saves, Escape
// cancels and gives the draft back) and replies to one (startReply: a bar above the box
// quotes it, with a cancel button; Escape cancels too).

import { lengthNote } from "../body-size.js";
import { shownBody } from "../chat-log.js";
import { h, ICONS, icon } from "./dom.js";
import { bodyText, firstLine } from "./message-row.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./types.js").ChatMessageView} ChatMessageView */

const MAX_HEIGHT_PX = 180;

/** Room names longer than this are left out of the message box's placeholder. */
const PLACEHOLDER_NAME_MAX = 20;

export class Composer extends HTMLElement {
  /** @type {RoomLike | null} */
  #room = null;
  /** Whether this box told the room its person is typing (and has not said stopped). */
  #typing = false;
  /** Editing a message (its id; the draft to give back), or replying to one (its seq). */
  /** @type {{mode: "edit", id: string, draft: string} | {mode: "reply", seq: number} | null} */
  #mode = null;
  #modeText = h("span", { class: "composer-mode-text" });
  #modeCancel = h("button", { type: "button", class: "icon-btn composer-mode-cancel" }, [icon(ICONS.close)]);
  /** "Editing your message" or "Replying to …", above the box. */
  #modeBar = h("div", { class: "composer-mode", id: "composer-mode", hidden: true }, [
    this.#modeText,
    this.#modeCancel,
  ]);

  #input = h("textarea", {
    id: "message-input",
    rows: "1",
    placeholder: "Write a message",
    autocomplete: "off",
    enterkeyhint: "send",
    "aria-describedby": "composer-mode composer-hint composer-length",
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

  #lengthText = h("span", { class: "composer-length-text" });
  #asFile = h("button", { type: "button", class: "btn as-file-btn", hidden: true, text: "Send as a file" });
  /** Near or over the limit: what the box holds and what may be done; live, so it is read out. */
  #length = h("p", { id: "composer-length", class: "composer-length", "aria-live": "polite", hidden: true }, [
    this.#lengthText,
    this.#asFile,
  ]);

  connectedCallback() {
    if (!this.#form.isConnected) this.append(this.#modeBar, this.#length, this.#form, this.#hint);
    this.#asFile.addEventListener("click", this.#sendAsFile);
    this.#modeCancel.addEventListener("click", this.#cancelMode);
    this.#form.addEventListener("submit", this.#onSubmit);
    this.#input.addEventListener("keydown", this.#onKey);
    this.#input.addEventListener("input", this.#onInput);
    this.#input.addEventListener("blur", this.#stopTyping);
    // Empty, the box has its one-row height already; measuring it would force a layout
    // of the whole page in the middle of rendering it.
    if (this.#input.value) this.#autosize();
  }

  disconnectedCallback() {
    this.#asFile.removeEventListener("click", this.#sendAsFile);
    this.#modeCancel.removeEventListener("click", this.#cancelMode);
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
    this.#input.placeholder =
      name && Array.from(name).length <= PLACEHOLDER_NAME_MAX ? `Message ${name}` : "Write a message";
    let draft = null;
    try {
      draft = this.#draftKey ? sessionStorage.getItem(this.#draftKey) : null;
    } catch {
      /* storage disabled: no draft to restore */
    }
    if (draft && !this.#input.value) {
      this.#input.value = draft;
      this.#autosize();
      this.#showLength();
    }
  }

  /** @returns {HTMLTextAreaElement} */
  get input() {
    return this.#input;
  }

  focus() {
    this.#input.focus();
  }

  /** What the box is doing besides writing a new message: "edit", "reply" or "". */
  get mode() {
    return this.#mode?.mode ?? "";
  }

  /**
   * Edit an own message here: the box takes its words (the draft waits), Enter saves,
   * Escape cancels.
   * @param {ChatMessageView} m
   */
  startEdit(m) {
    const draft = this.#mode?.mode === "edit" ? this.#mode.draft : this.#input.value;
    this.#mode = { mode: "edit", id: m.id, draft };
    this.#showMode("Editing your message", "Cancel editing");
    this.#input.value = bodyText(shownBody(m).body);
    this.#afterChange();
    this.#input.setSelectionRange(this.#input.value.length, this.#input.value.length);
  }

  /**
   * Reply to a message: its quote above the box until sent or cancelled.
   * @param {ChatMessageView} m  numbered (a reply names its target by seq)
   */
  startReply(m) {
    if (m.seq == null) return;
    if (this.#mode?.mode === "edit") this.#endMode();
    this.#mode = { mode: "reply", seq: m.seq };
    const quoted = firstLine(bodyText(shownBody(m).body));
    this.#showMode(`Replying to ${m.sender_name || "Someone"}: ${quoted}`, "Cancel reply");
    this.#input.focus();
  }

  /**
   * @param {string} text
   * @param {string} cancel  the cancel button's label
   */
  #showMode(text, cancel) {
    this.#modeText.textContent = text;
    this.#modeCancel.setAttribute("aria-label", cancel);
    this.#modeCancel.setAttribute("title", cancel);
    this.#modeBar.hidden = false;
    this.#modeBar.dataset.mode = this.#mode?.mode ?? "";
    const save = this.#mode?.mode === "edit";
    this.#button.setAttribute("aria-label", save ? "Save" : "Send");
    this.#button.setAttribute("title", save ? "Save (Enter)" : "Send (Enter)");
  }

  /** Back to writing a new message; an edit gives the draft back. */
  #endMode() {
    const mode = this.#mode;
    this.#mode = null;
    this.#modeBar.hidden = true;
    this.#button.setAttribute("aria-label", "Send");
    this.#button.setAttribute("title", "Send (Enter)");
    if (mode?.mode === "edit") {
      this.#input.value = mode.draft;
      this.#afterChange();
    }
  }

  #cancelMode = () => {
    this.#endMode();
    this.#input.focus();
  };

  /** The box's text changed other than by typing: its height and note follow. */
  #afterChange() {
    this.#autosize();
    this.#showLength();
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
    if (event.key === "Escape" && this.#mode) {
      event.preventDefault();
      this.#cancelMode();
      return;
    }
    if (event.key !== "Enter" || event.shiftKey || event.altKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    this.#send();
  };

  #onInput = () => {
    this.#autosize();
    this.#showLength();
    const room = this.#room;
    const text = this.#input.value;
    if (this.#mode?.mode === "edit") return; // an edit is neither a draft nor news to others
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
    if (this.#showLength().level === "over") {
      // Refused here, the text stays in the box (and its draft): nothing is lost.
      this.#input.focus();
      return;
    }
    const mode = this.#mode;
    if (mode?.mode === "edit") {
      const m = room.messages.find((x) => x.id === mode.id && x.sender === room.me?.participant_id);
      if (m && bodyText(shownBody(m).body) !== text) room.edit?.(mode.id, text);
      this.#endMode();
      this.#input.focus();
      return;
    }
    this.#stopTyping();
    this.#clear();
    if (mode?.mode === "reply") {
      this.#endMode();
      room.send(text, { replyTo: mode.seq });
    } else {
      room.send(text);
    }
    this.dispatchEvent(new CustomEvent("sent", { bubbles: true }));
  }

  /** Empty the box and its draft, keeping the keyboard there. */
  #clear() {
    this.#input.value = "";
    try {
      if (this.#draftKey) sessionStorage.removeItem(this.#draftKey);
    } catch {
      /* ignore */
    }
    this.#autosize();
    this.#showLength();
    this.#input.focus();
  }

  /** Say how close the text is to the server's limit; the note as computed. */
  #showLength() {
    const note = lengthNote(this.#input.value, this.#room?.maxBodyBytes ?? Infinity);
    this.#length.hidden = note.level === "ok";
    this.#length.dataset.level = note.level;
    if (this.#lengthText.textContent !== note.text) this.#lengthText.textContent = note.text;
    this.#asFile.hidden = note.level !== "over" || !this.#room?.transfers;
    this.#input.toggleAttribute("aria-invalid", note.level === "over");
    return note;
  }

  /** The text, too long for a message, to everyone as a .txt file (the room's transfers). */
  #sendAsFile = () => {
    const transfers = this.#room?.transfers;
    const text = this.#input.value;
    if (!transfers || !text) return;
    const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, "-");
    const file = new File([text], `message-${stamp}.txt`, { type: "text/plain" });
    try {
      transfers.send([file], null);
    } catch {
      this.#lengthText.textContent = "The file could not be sent. The text is still here; try again.";
      return;
    }
    this.#stopTyping();
    this.#clear();
    this.dispatchEvent(new CustomEvent("sent", { bubbles: true }));
  };

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
