// <pl-home-page> (/): create a room, or join one with its short code.
// <pl-join-page> (/join#<token>): join with the token of an invite link -- at once when
// the name is remembered (join-now.js), else with a form.

import * as api from "../api.js";
import { saveRoomKey } from "../e2e/room-keys.js";
import { handOverSession } from "../handover.js";
import { inviteToken, joinWithToken, takeEarlyJoin } from "../join-now.js";
import { SHARED_PARAM } from "../shared-files.js";
import { busyMain, h, ICONS, icon } from "./dom.js";
import { formErrorText, ROOM_NAME_MAX } from "./form-errors.js";
import { codeField, joinByCode, limitLength, nameField, submit, takeName } from "./join-form.js";
import { navigate, roomPath } from "./nav.js";
import { roomList } from "./room-list.js";

/** @typedef {import("../api.js").SessionOut} SessionOut */
/** @typedef {import("../join-now.js").EarlyJoin} EarlyJoin */

/**
 * The product's name and one line about it, above every entry card.
 * @param {boolean} [heading]  the page's h1 (when the card has none)
 */
function brand(heading = false) {
  return h("header", { class: "brand" }, [
    h(heading ? "h1" : "p", { class: "brand-name" }, [
      h("span", { class: "brand-mark", "aria-hidden": "true" }),
      "peerlane",
    ]),
    h("p", { class: "brand-tag", text: "Group chat that goes straight from browser to browser." }),
  ]);
}

export class HomePage extends HTMLElement {
  connectedCallback() {
    if (this.firstChild) return;
    document.title = "peerlane";
    // Each problem is said next to what it is about: the name, the new room, the code.
    const nameAlert = h("p", { class: "form-error", role: "alert", id: "name-error" });
    const createAlert = h("p", { class: "form-error", role: "alert", id: "create-error" });
    const joinAlert = h("p", { class: "form-error", role: "alert", id: "join-error" });
    const name = nameField();
    name.field.append(nameAlert);
    const roomName = h("input", {
      id: "room-name",
      name: "name",
      type: "text",
      autocomplete: "off",
      "aria-describedby": "room-name-note",
      placeholder: name.input.value ? `${name.input.value}'s room` : "Friday plans",
    });
    const roomNameNote = h("p", { class: "field-note", id: "room-name-note", role: "status" });
    limitLength(
      roomName,
      ROOM_NAME_MAX,
      roomNameNote,
      `Room names can be at most ${ROOM_NAME_MAX} characters, so this one was shortened.`,
    );
    name.input.addEventListener("input", () => {
      const v = name.input.value.trim();
      roomName.placeholder = v ? `${v}'s room` : "Friday plans";
    });
    // On by default. A code read aloud still works: a member's client checks it and hands
    // over the key (a PAKE, docs/protocol.md).
    const encrypt = h("input", {
      id: "room-e2e",
      type: "checkbox",
      checked: true,
      "aria-describedby": "room-e2e-note",
    });
    const code = codeField();
    const create = h("button", { type: "submit", class: "btn primary wide", text: "Create room" });
    const join = h("button", { type: "submit", class: "btn wide", text: "Join" });

    const createForm = h("form", { class: "stack", "aria-labelledby": "create-title" }, [
      h("h2", { id: "create-title", class: "card-title", text: "Start a new room" }),
      h("div", { class: "field" }, [
        h("label", { for: "room-name", text: "Room name (optional)" }),
        roomName,
        roomNameNote,
      ]),
      h("div", { class: "field field-check" }, [
        h("label", { for: "room-e2e" }, [encrypt, " End-to-end encrypted"]),
        h("p", {
          class: "field-note",
          id: "room-e2e-note",
          text: "Only the people you invite can read it, not the server.",
        }),
      ]),
      createAlert,
      create,
    ]);
    code.field.append(joinAlert);
    code.input.setAttribute("aria-errormessage", "join-error");
    const joinForm = h("form", { class: "stack", "aria-labelledby": "join-title" }, [
      h("h2", { id: "join-title", class: "card-title", text: "Join a room" }),
      code.field,
      join,
    ]);
    const clearAlerts = () => {
      for (const a of [nameAlert, createAlert, joinAlert]) a.textContent = "";
    };

    createForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearAlerts();
      const display = takeName(name.input, nameAlert);
      if (display === null) return;
      // A new room is end-to-end encrypted: its key is made here and never leaves but in
      // the invite link's fragment; the server gets the name sealed (e2e/room-crypto.js).
      let keyText = "";
      const out = await submit(this, createAlert, create, async () => {
        if (!encrypt.checked) return api.createRoom({ display_name: display, name: roomName.value.trim() });
        const { newRoomSecrets } = await import("../e2e/room-crypto.js");
        const secrets = await newRoomSecrets(roomName.value.trim());
        keyText = secrets.keyText;
        return api.createRoom({ display_name: display, name: secrets.sealedName });
      });
      if (!out) return;
      if (keyText && out.invite) {
        // The code's words are drawn here and stored sealed: the server never knows them.
        const { makeRoomCode } = await import("../e2e/code-words.js");
        out.invite = await makeRoomCode(out.room.id, out.invite, keyText).catch(() => out.invite);
      }
      // Held in memory at once; the device copy is written beside the navigation (the first
      // IndexedDB open of a profile can take seconds on a busy machine: no reason to wait).
      if (keyText) void saveRoomKey(out.room.id, keyText);
      handOverSession(out);
      navigate(roomPath(out.room.id));
    });
    joinForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearAlerts();
      const out = await joinByCode(this, joinAlert, join, name.input, code.input, nameAlert);
      if (out) navigate(roomPath(out.room.id));
    });

    this.append(
      h("main", { class: "entry", id: "main" }, [
        brand(true),
        h("div", { class: "card" }, [
          name.field,
          h("div", { class: "entry-split" }, [
            createForm,
            h("div", { class: "or", "aria-hidden": "true" }, [h("span", { text: "or" })]),
            joinForm,
          ]),
        ]),
        h("p", {
          class: "entry-foot muted",
          text: "No accounts. Messages are kept on this server for the room's members; while it's unreachable, people keep chatting directly.",
        }),
        h("p", { class: "entry-foot share-foot" }, [
          h("a", { href: "/share", class: "share-entry-link" }, [icon(ICONS.share), "Share files by link"]),
          h("span", { class: "muted", text: " — no room needed: upload once, send a link." }),
        ]),
      ]),
    );
    // The rooms this device is in, above the forms, once read from the device.
    const main = /** @type {HTMLElement} */ (this.querySelector("main"));
    const sharing = Number(new URLSearchParams(location.search).get(SHARED_PARAM)) || 0;
    void roomList({ sharing }).then((section) => {
      if (section && main.isConnected) main.querySelector(".brand")?.after(section);
    });
    // No focus on touch screens: it would pop the keyboard over the page at once.
    if (matchMedia("(pointer: fine)").matches) (name.input.value ? roomName : name.input).focus();
  }
}

export class JoinPage extends HTMLElement {
  /** The join started as the page loaded, while its answer is awaited here. */
  #early = /** @type {EarlyJoin | null} */ (null);

  connectedCallback() {
    if (this.firstChild) return;
    const token = inviteToken(location.hash);
    // Started as the page loaded (a remembered name, a link the person opened: join-now.js).
    const early = takeEarlyJoin(token);
    if (!early) {
      this.#form(token);
      return;
    }
    this.#early = early;
    document.title = "Joining a room — peerlane";
    this.append(busyMain(`Joining the room as ${early.name}…`));
    early.answer.then(
      (out) => {
        if (this.#early !== early) return;
        this.#early = null;
        enterRoom(out);
      },
      (err) => {
        if (this.#early !== early) return;
        this.#early = null;
        this.replaceChildren();
        this.#form(token, formErrorText(err));
      },
    );
  }

  disconnectedCallback() {
    // Left before the answer (Back, another link): the join is not wanted any more.
    this.#early?.abandon();
    this.#early = null;
  }

  /**
   * The form: the name to join with, and "Join room".
   * @param {string} token
   * @param {string} [problem]  what went wrong with the join tried at once
   */
  #form(token, problem = "") {
    document.title = "Join a room — peerlane";
    const alert = h("p", { class: "form-error", role: "alert" });
    const name = nameField();
    const button = h("button", { type: "submit", class: "btn primary wide", text: "Join room" });
    const form = h("form", { class: "stack" }, [
      h("h1", { class: "card-title", text: "You're invited to a room" }),
      h("p", { class: "muted", text: "Choose the name the others will see, then join." }),
      name.field,
      button,
      alert,
    ]);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const display = takeName(name.input, alert);
      if (display === null) return;
      if (!token) {
        alert.textContent = INCOMPLETE_LINK;
        return;
      }
      const joined = await submit(this, alert, button, () => joinWithToken({ display_name: display, token }));
      if (!joined) return;
      handOverSession(joined.out);
      enterRoom(joined.out);
    });
    const card = h("div", { class: "card narrow" }, [form]);
    const said = token ? problem : INCOMPLETE_LINK;
    // Said once the alert is on the page: an alert inserted with its text is often not read out.
    if (said) setTimeout(() => (alert.textContent = said));
    card.append(h("p", { class: "card-foot" }, [h("a", { href: "/", text: "Have a room code instead?" })]));
    this.append(h("main", { class: "entry", id: "main" }, [brand(), card]));
    if (matchMedia("(pointer: fine)").matches) (name.input.value ? button : name.input).focus();
  }
}

/**
 * Go on to the room an invite link joined, in place of the link's page: the token leaves
 * the address bar and history (it is a secret).
 * @param {{room: {id: string}}} out
 */
function enterRoom(out) {
  navigate(roomPath(out.room.id), { replace: true });
}

const INCOMPLETE_LINK =
  "This invite link is incomplete. Ask for the link again, or use the room code on the home page.";

customElements.define("pl-home-page", HomePage);
customElements.define("pl-join-page", JoinPage);
