// <pl-file-bar class="file-bar">: sending files from the room page. Two buttons over hidden
// pickers ("Send files", "Send folder" where the browser can pick folders). Picked or
// dropped files open a small "Send to" dialog (everyone, or one person: the roster,
// online people first) with Send / Cancel. The choice lives in that dialog, not beside
// the chat box, because it addresses files only; it goes back to everyone after each
// send. Drops onto the chat go through send() too (ui/room-page.js attaches them).
// Problems go up as a bubbling "room-notice" event ({text, code}).

import { errorMessage, h, icon } from "./dom.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./people-panel.js").Roster} Roster */
/** @typedef {import("./transfer-panel.js").TransferPanel} TransferPanel */
/** @typedef {typeof import("./file-drop.js")} FileDrop */

const CLIP_ICON = ["m20 11.5-8 8a5 5 0 0 1-7-7l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4L15 7"];
const FOLDER_ICON = [
  "M3 6.5a1.5 1.5 0 0 1 1.5-1.5H9l2 2.5h8.5A1.5 1.5 0 0 1 21 9v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 18Z",
];

export class FileBar extends HTMLElement {
  /** @type {RoomLike | null} */
  room = null;
  /** @type {TransferPanel | null} says what was offered, for screen readers */
  transferPanel = null;
  /** @type {Roster | null} */
  #roster = null;
  #recipient = h("select", { id: "file-recipient", name: "file-recipient" }, [
    h("option", { value: "", text: "Everyone" }),
  ]);
  /** @type {File[]} the files waiting in the dialog */
  #pending = [];
  #dialogTitle = h("h2", { id: "send-to-title", class: "send-to-title" });
  #dialog = h(
    "dialog",
    { class: "send-to", id: "send-to", "aria-labelledby": "send-to-title", onclose: () => this.#reset() },
    [
      h("form", { method: "dialog", onsubmit: (/** @type {Event} */ e) => this.#confirm(e) }, [
        this.#dialogTitle,
        h("p", { class: "send-to-field" }, [h("label", { for: "file-recipient", text: "Send to" }), this.#recipient]),
        h("div", { class: "send-to-actions" }, [
          h(
            "button",
            { type: "button", class: "btn", id: "send-to-cancel", onclick: () => this.#dialog.close() },
            "Cancel",
          ),
          h("button", { type: "submit", class: "btn primary", id: "send-to-confirm" }, "Send"),
        ]),
      ]),
    ],
  );

  /**
   * Build the bar (once): the pickers come from file-drop.js, loaded with the room.
   * @param {FileDrop} drop
   */
  build(drop) {
    this.classList.add("file-bar");
    this.setAttribute("role", "group");
    this.setAttribute("aria-label", "Send files or a folder");
    const send = (/** @type {File[]} */ files) => this.send(files);
    const filesPicker = drop.filePicker({ id: "send-files-input", label: "Send files", onFiles: send });
    const folderPicker = drop.filePicker({
      id: "send-folder-input",
      folder: true,
      label: "Send folder",
      onFiles: send,
    });
    this.replaceChildren(
      filesPicker.input,
      folderPicker.input,
      h("button", { type: "button", class: "btn subtle small-btn", onclick: filesPicker.open }, [
        icon(CLIP_ICON),
        "Send files",
      ]),
    );
    if (drop.canPickFolders()) {
      this.append(
        h("button", { type: "button", class: "btn subtle small-btn send-folder", onclick: folderPicker.open }, [
          icon(FOLDER_ICON),
          "Send folder",
        ]),
      );
    }
    this.append(this.#dialog);
  }

  get roster() {
    return this.#roster;
  }

  set roster(roster) {
    this.#roster?.removeEventListener("change", this.#renderRecipients);
    this.#roster = roster;
    roster?.addEventListener("change", this.#renderRecipients);
    this.#renderRecipients();
  }

  /** What a drop onto the chat does: the dialog asks whom to send to. */
  get dropText() {
    return "Drop to send files";
  }

  /**
   * Ask whom to send `files` to (the dialog); Send there offers them.
   * @param {File[]} files
   */
  send(files) {
    if (!files.length) return;
    if (!this.room?.transfers) {
      this.#notice("Sending files isn't available in this page; reload it and try again.", "no_transfers");
      return;
    }
    this.#pending = files;
    const what = files.length === 1 ? `Send "${files[0]?.name ?? "a file"}"` : `Send ${files.length} files`;
    this.#dialogTitle.textContent = what;
    this.#recipient.value = "";
    if (!this.#dialog.open) this.#dialog.showModal();
    this.#recipient.focus();
  }

  /** @param {Event} event */
  #confirm(event) {
    event.preventDefault();
    const files = this.#pending;
    const r = this.#recipient;
    const to = r.value || null;
    const who = r.value ? r.selectedOptions[0]?.dataset.name || "one person" : "everyone";
    this.#dialog.close();
    this.#offer(files, to, who);
  }

  /** Back to the start: no files waiting, everyone chosen. */
  #reset() {
    this.#pending = [];
    this.#recipient.value = "";
  }

  /**
   * @param {File[]} files
   * @param {string | null} to
   * @param {string} who
   */
  #offer(files, to, who) {
    const engine = this.room?.transfers;
    if (!engine || !files.length) return;
    try {
      engine.send(files, to);
      const what = files.length === 1 ? (files[0]?.name ?? "a file") : `${files.length} files`;
      this.transferPanel?.announce(`Offering ${what} to ${who}. Progress is under Files.`);
    } catch (err) {
      this.#notice(errorMessage(err, "Couldn't send the files."), "send_files");
    }
  }

  /** The chooser: everyone in the room but me, online people first; a choice made while
   * the dialog is open is kept. */
  #renderRecipients = () => {
    const r = this.#recipient;
    const entries = this.#roster?.entries() ?? [];
    const chosen = r.value;
    const options = [h("option", { value: "", text: "Everyone" })];
    for (const p of entries) {
      options.push(h("option", { value: p.id, "data-name": p.name, text: p.online ? p.name : `${p.name} (offline)` }));
    }
    const same =
      r.options.length === options.length &&
      options.every((o, i) => r.options[i]?.value === o.value && r.options[i]?.textContent === o.textContent);
    if (same) return;
    r.replaceChildren(...options);
    r.value = entries.some((p) => p.id === chosen) ? chosen : "";
  };

  /** @param {string} text @param {string} code */
  #notice(text, code) {
    this.dispatchEvent(new CustomEvent("room-notice", { bubbles: true, detail: { text, code } }));
  }
}

customElements.define("pl-file-bar", FileBar);
