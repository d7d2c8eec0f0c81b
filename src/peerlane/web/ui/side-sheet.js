// <pl-side-sheet class="side">: the room page's side panel (files, invite, connections,
// people, you). Always there on wide screens; on phones a sheet over the chat, behind a
// toggle in the header. The toggle (`toggle`) and the phone's strip under the chat that says
// when the files want a look (`strip`) are built here and placed by the page.

import * as api from "../api.js";
import { forgetRoom } from "../device-rooms.js";
import { h, ICONS, icon } from "./dom.js";
import { navigate } from "./nav.js";

/** @typedef {import("./types.js").MeLike} MeLike */
/** @typedef {import("./transfer-panel.js").TransferPanel} TransferPanel */
/** @typedef {import("./invite-panel.js").InvitePanel} InvitePanel */

const PHONE = window.matchMedia("(max-width: 640px)");
const LABEL = "Files, invite and connections";

/**
 * @typedef {object} SheetParts
 * @property {string} roomId
 * @property {string} roomName
 * @property {MeLike | null | undefined} me
 * @property {TransferPanel} transferPanel
 * @property {InvitePanel} invite
 * @property {HTMLElement[]} panels      the others, in order (connections, people)
 * @property {HTMLElement} layout        gets the class side-open while the sheet is open
 * @property {HTMLElement[]} covered     made inert while the sheet covers them (a phone)
 */

export class SideSheet extends HTMLElement {
  #badge = h("span", { class: "toggle-badge", "aria-hidden": "true", hidden: true });
  #toggleText = h("span", { class: "side-toggle-text", "aria-hidden": "true", text: "Invite" });
  /** The phone sheet's title: the toggle's word ("Invite" / "Files"), so the button and
   * what it opens read the same; the room's name is already in the page's header. */
  #title = h("h2", { class: "side-title", id: "side-title", text: "Invite" });
  toggle = h(
    "button",
    {
      type: "button",
      class: "btn side-toggle",
      "aria-controls": "side-panel",
      "aria-expanded": "false",
      "aria-label": LABEL,
    },
    [icon(ICONS.panel), this.#toggleText, this.#badge],
  );
  #stripText = h("span", { class: "file-strip-text" });
  strip = h("div", { class: "file-strip", hidden: true }, [
    this.#stripText,
    h("button", { type: "button", class: "btn small-btn", text: "Show files", onclick: () => this.setOpen(true) }),
  ]);
  #close = h("button", { type: "button", class: "icon-btn side-close", "aria-label": "Close panel" }, [
    icon(ICONS.close),
  ]);
  /** @type {SheetParts | null} */
  #parts = null;

  /** @param {SheetParts} parts */
  build(parts) {
    this.#parts = parts;
    this.id = "side-panel";
    this.classList.add("side");
    this.setAttribute("role", "complementary");
    this.setAttribute("aria-label", LABEL);
    const { me } = parts;
    const leave = h("button", {
      type: "button",
      class: "btn subtle",
      text: "Leave room",
      onclick: () => void this.#leave(),
    });
    this.replaceChildren(
      h("div", { class: "side-head" }, [this.#title, this.#close]),
      parts.transferPanel,
      parts.invite,
      ...parts.panels,
      h("section", { class: "panel you", "aria-label": "You" }, [
        h("p", {}, [
          "You're ",
          h("strong", { text: me?.name ?? "here" }),
          me?.role === "owner" ? " (the room's owner)." : ".",
        ]),
        leave,
      ]),
    );
    this.toggle.addEventListener("click", () => this.setOpen(!this.open));
    this.#close.addEventListener("click", () => {
      this.setOpen(false);
      this.toggle.focus();
    });
    this.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && PHONE.matches && this.open) {
        this.setOpen(false);
        this.toggle.focus();
      }
    });
    parts.transferPanel.addEventListener("transfers-change", this.renderFileHints);
    this.renderFileHints();
  }

  connectedCallback() {
    PHONE.addEventListener("change", this.#onViewport);
  }

  disconnectedCallback() {
    PHONE.removeEventListener("change", this.#onViewport);
  }

  get open() {
    return this.#parts?.layout.classList.contains("side-open") ?? false;
  }

  /** @param {boolean} open */
  setOpen(open) {
    const parts = this.#parts;
    if (!parts) return;
    parts.layout.classList.toggle("side-open", open);
    this.toggle.setAttribute("aria-expanded", String(open));
    // On a phone the panel covers the chat: keep focus and assistive technology in it.
    const covering = open && PHONE.matches;
    for (const el of parts.covered) el.inert = covering;
    if (open) void parts.invite.refresh();
    if (covering) this.#close.focus();
  }

  #onViewport = () => this.setOpen(this.open);

  /** The toggle's badge and the phone's strip: offers waiting for an answer, or transfers under way. */
  renderFileHints = () => {
    const panel = this.#parts?.transferPanel;
    if (!panel) return;
    const offers = panel.pendingOffers;
    const active = panel.activeCount;
    const count = offers.length || active;
    this.#badge.hidden = count === 0;
    this.#badge.textContent = count ? String(count) : "";
    this.#badge.classList.toggle("offer", offers.length > 0);
    // The phone's toggle names what is most likely wanted behind it.
    const files = panel.count > 0 ? "Files" : "Invite";
    if (this.#toggleText.textContent !== files) {
      this.#toggleText.textContent = files;
      this.#title.textContent = files;
    }
    let label = LABEL;
    if (offers.length) label += ` (${offers.length} file ${offers.length === 1 ? "offer" : "offers"} waiting)`;
    else if (active) label += ` (${active} ${active === 1 ? "transfer" : "transfers"} under way)`;
    this.toggle.setAttribute("aria-label", label);
    let text = "";
    const first = offers[0];
    if (first) {
      text =
        offers.length === 1
          ? `${first.senderName || "Someone"} wants to send you ${first.name}`
          : `${offers.length} files are offered to you`;
    } else if (active) text = `${active} ${active === 1 ? "file transfer" : "file transfers"} under way`;
    this.strip.hidden = !text;
    this.strip.classList.toggle("offer", offers.length > 0);
    if (this.#stripText.textContent !== text) this.#stripText.textContent = text;
  };

  async #leave() {
    const parts = this.#parts;
    if (!parts) return;
    if (!confirm(`Leave ${parts.roomName} on this device? You'll need a new invite to come back.`)) return;
    try {
      await api.leaveRoom(parts.roomId);
    } catch {
      /* leaving locally still makes sense */
    }
    // Nothing of the room stays on the device: its kept history, its unsent messages.
    await forgetRoom(parts.roomId).catch(() => {});
    navigate("/");
  }
}

customElements.define("pl-side-sheet", SideSheet);
