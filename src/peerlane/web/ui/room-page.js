// <pl-room-page room-id="…"> (/r/{room_id}): the chat, with the invite and connection
// panels beside it (desktop) or behind a toggle (phone).

import * as api from "../api.js";
import { ChatRoom } from "../chat.js";
import "./composer.js";
import "./connection-panel.js";
import "./invite-panel.js";
import "./message-list.js";
import { ICONS, errorCode, errorMessage, errorStatus, h, icon, joinNames } from "./dom.js";
import { codeField, nameField, submit, takeName } from "./home-page.js";
import { directCount, statusText } from "./connection-panel.js";
import { navigate, roomPath } from "./nav.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */
/** @typedef {import("./composer.js").Composer} Composer */
/** @typedef {import("./message-list.js").MessageList} MessageList */
/** @typedef {import("./invite-panel.js").InvitePanel} InvitePanel */
/** @typedef {import("./connection-panel.js").ConnectionPanel} ConnectionPanel */

const NOT_A_MEMBER = new Set(["unauthorized", "token_expired", "forbidden"]);
const PHONE = window.matchMedia("(max-width: 640px)");

/**
 * @typedef {{peerlane?: {room: RoomLike}}} PeerlaneGlobal
 */

export class RoomPage extends HTMLElement {
  /** @type {ChatRoom | null} */
  #room = null;
  #closed = false;
  /** @type {(() => void)[]} */
  #cleanup = [];

  get roomId() {
    return this.getAttribute("room-id") ?? "";
  }

  connectedCallback() {
    this.#closed = false;
    document.title = "peerlane";
    void this.#open();
  }

  disconnectedCallback() {
    this.#closed = true;
    this.#teardown();
  }

  /** Close the open room (if any) and forget everything that listens to it. */
  #teardown() {
    for (const undo of this.#cleanup.splice(0)) undo();
    this.#room?.close();
    const g = /** @type {PeerlaneGlobal} */ (/** @type {unknown} */ (window));
    if (g.peerlane?.room === /** @type {unknown} */ (this.#room)) delete g.peerlane;
    this.#room = null;
  }

  async #open() {
    this.#teardown();
    this.replaceChildren(
      h("main", { class: "entry", id: "main", "aria-busy": "true" }, [
        h("p", { class: "opening", role: "status" }, [h("span", { class: "spinner", "aria-hidden": "true" }), "Opening the room…"]),
      ]),
    );
    const room = new ChatRoom(this.roomId);
    try {
      await room.start();
    } catch (err) {
      room.close();
      if (this.#closed) return;
      const status = errorStatus(err);
      const code = errorCode(err) ?? "";
      if (status === 401 || status === 403 || NOT_A_MEMBER.has(code)) this.#renderJoin(err);
      else if (status === 404 || code === "room_not_found") this.#renderGone(err);
      else this.#renderFailure(err);
      return;
    }
    if (this.#closed) {
      room.close();
      return;
    }
    this.#room = room;
    const g = /** @type {PeerlaneGlobal} */ (/** @type {unknown} */ (window));
    g.peerlane = { room: /** @type {RoomLike} */ (/** @type {unknown} */ (room)) };
    this.#renderRoom(/** @type {RoomLike} */ (/** @type {unknown} */ (room)));
  }

  // -- not a member / no such room / failure ----------------------------------------------

  /** @param {unknown} err */
  #renderJoin(err) {
    document.title = "Join this room — peerlane";
    const alert = h("p", { class: "form-error", role: "alert" });
    const name = nameField();
    const code = codeField();
    const button = h("button", { type: "submit", class: "btn primary wide", text: "Join" });
    const expired = errorCode(err) === "token_expired";
    const form = h("form", { class: "stack" }, [
      h("h1", { class: "card-title", text: "You're not in this room yet" }),
      h("p", {
        class: "muted",
        text: expired
          ? "Your session in this room has expired. Enter a room code to join again, or open a fresh invite link."
          : "To join, enter the room code from whoever invited you, or open the invite link they sent.",
      }),
      name.field,
      code.field,
      button,
      alert,
    ]);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const display = takeName(name.input, alert);
      if (display === null) return;
      const value = code.input.value.trim();
      if (!value) {
        alert.textContent = "Enter the room code you were given, like 7-amber-falcon.";
        code.input.focus();
        return;
      }
      const out = await submit(this, alert, button, () => api.joinRoom({ display_name: display, code: value }));
      if (!out) return;
      if (out.room.id === this.roomId) void this.#open();
      else navigate(roomPath(out.room.id), { replace: true });
    });
    this.replaceChildren(
      h("main", { class: "entry", id: "main" }, [
        h("div", { class: "card narrow" }, [form, h("p", { class: "card-foot" }, [h("a", { href: "/", text: "Start a room of your own" })])]),
      ]),
    );
    if (matchMedia("(pointer: fine)").matches) (name.input.value ? code.input : name.input).focus();
  }

  /** @param {unknown} err */
  #renderGone(err) {
    document.title = "Room not found — peerlane";
    this.replaceChildren(
      h("main", { class: "entry", id: "main" }, [
        h("div", { class: "card narrow stack" }, [
          h("h1", { class: "card-title", text: "This room isn't here" }),
          h("p", { role: "alert", text: errorMessage(err, "No such room; it may have been deleted or expired.") }),
          h("p", {}, [h("a", { href: "/", class: "btn primary", text: "Go to the home page" })]),
        ]),
      ]),
    );
  }

  /** @param {unknown} err */
  #renderFailure(err) {
    document.title = "Can't open the room — peerlane";
    const retry = h("button", { type: "button", class: "btn primary", text: "Try again", onclick: () => void this.#open() });
    this.replaceChildren(
      h("main", { class: "entry", id: "main" }, [
        h("div", { class: "card narrow stack" }, [
          h("h1", { class: "card-title", text: "Can't open the room" }),
          h("p", { role: "alert", text: errorMessage(err) }),
          h("p", { class: "btn-row" }, [retry, h("a", { href: "/", class: "btn", text: "Home" })]),
        ]),
      ]),
    );
    retry.focus();
  }

  // -- the room ---------------------------------------------------------------------------

  /** @param {RoomLike} room */
  #renderRoom(room) {
    const info = room.roomInfo;
    const me = room.me;
    const roomName = info?.name || "Room";
    document.title = `${roomName} — peerlane`;

    const status = h("p", { class: "conn-status", "data-testid": "connection-status", role: "status" });
    const sideToggle = h(
      "button",
      {
        type: "button",
        class: "btn side-toggle",
        "aria-controls": "side-panel",
        "aria-expanded": "false",
        "aria-label": "Invite and connections",
      },
      [icon(ICONS.panel), h("span", { class: "side-toggle-text", "aria-hidden": "true", text: "Invite" })],
    );
    const header = h("header", { class: "room-header" }, [
      h("a", { href: "/", class: "home-link", "aria-label": "peerlane home", title: "peerlane home" }, [
        h("span", { class: "brand-mark", "aria-hidden": "true" }),
      ]),
      h("div", { class: "room-title" }, [h("h1", { text: roomName }), status]),
      sideToggle,
    ]);

    const list = /** @type {MessageList} */ (document.createElement("pl-message-list"));
    const typing = h("p", { class: "typing", "data-testid": "typing" });
    const composer = /** @type {Composer} */ (document.createElement("pl-composer"));
    const toasts = h("div", { class: "toasts" });
    const main = h("main", { class: "chat", id: "main" }, [list, toasts, typing, composer]);

    const invite = /** @type {InvitePanel} */ (document.createElement("pl-invite-panel"));
    const connections = /** @type {ConnectionPanel} */ (document.createElement("pl-connection-panel"));
    const closeSide = h("button", { type: "button", class: "icon-btn side-close", "aria-label": "Close panel" }, [
      icon(ICONS.close),
    ]);
    const leave = h("button", { type: "button", class: "btn subtle", text: "Leave room" });
    const aside = h("aside", { class: "side", id: "side-panel", "aria-label": "Invite and connections" }, [
      h("div", { class: "side-head" }, [h("p", { class: "side-title", text: roomName }), closeSide]),
      invite,
      connections,
      h("section", { class: "panel you", "aria-label": "You" }, [
        h("p", {}, [
          "You're ",
          h("strong", { text: me?.name ?? "here" }),
          me?.role === "owner" ? " (the room's owner)." : ".",
        ]),
        leave,
      ]),
    ]);

    const skip = h("a", { class: "skip-link", href: "#message-input", text: "Skip to the message box" });
    const layout = h("div", { class: "room-layout" }, [skip, header, main, aside]);
    this.replaceChildren(layout);

    list.room = room;
    composer.room = room;
    invite.room = room;
    connections.room = room;

    // Skip link: focus the box without touching location.hash (the router owns the URL).
    skip.addEventListener("click", (event) => {
      event.preventDefault();
      composer.focus();
    });

    // The side panel: always there on wide screens, a sheet behind a toggle on phones.
    /** @param {boolean} open */
    const setSide = (open) => {
      layout.classList.toggle("side-open", open);
      sideToggle.setAttribute("aria-expanded", String(open));
      // On a phone the panel covers the chat: keep focus and assistive technology in it.
      const covering = open && PHONE.matches;
      header.inert = covering;
      main.inert = covering;
      if (open) void invite.refresh();
      if (covering) closeSide.focus();
    };
    const onViewport = () => setSide(layout.classList.contains("side-open"));
    PHONE.addEventListener("change", onViewport);
    this.#cleanup.push(() => PHONE.removeEventListener("change", onViewport));
    sideToggle.addEventListener("click", () => setSide(!layout.classList.contains("side-open")));
    closeSide.addEventListener("click", () => {
      setSide(false);
      sideToggle.focus();
    });
    aside.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && PHONE.matches && layout.classList.contains("side-open")) {
        setSide(false);
        sideToggle.focus();
      }
    });

    leave.addEventListener("click", async () => {
      if (!confirm(`Leave ${roomName} on this device? You'll need a new invite to come back.`)) return;
      try {
        await api.leaveRoom(this.roomId);
      } catch {
        /* leaving locally still makes sense */
      }
      navigate("/");
    });

    // Sending brings the list back to the newest message.
    composer.addEventListener("sent", () => list.scrollToBottom());

    const ended = h("div", { class: "ended", hidden: true });
    main.append(ended);
    const renderStatus = () => {
      const s = statusText(room.serverState, directCount(room), room.ended ?? null);
      if (status.textContent !== s.text) status.textContent = s.text;
      status.dataset.tone = s.tone;
      // A deleted room or an outdated page: nothing more can be sent from here.
      const why = room.ended === "room_gone" || room.ended === "unsupported_version" ? room.ended : "";
      if (why && ended.hidden) {
        ended.replaceChildren(
          h("p", { text: why === "room_gone" ? "This room was deleted. Its messages are gone from the server." : "This page is out of date." }),
          why === "room_gone"
            ? h("a", { href: "/", class: "btn primary", text: "Start a new room" })
            : h("button", { type: "button", class: "btn primary", text: "Reload", onclick: () => location.reload() }),
        );
        ended.hidden = false;
        composer.hidden = true;
        typing.hidden = true;
      }
    };
    const renderTyping = () => {
      const mine = me?.participant_id;
      const names = Array.from(room.typing).filter(([id]) => id !== mine).map(([, name]) => name || "Someone");
      let text = "";
      if (names.length === 1) text = `${names[0]} is typing…`;
      else if (names.length > 1 && names.length <= 3) text = `${joinNames(names)} are typing…`;
      else if (names.length > 3) text = `${names.length} people are typing…`;
      if (typing.textContent !== text) typing.textContent = text;
      typing.classList.toggle("active", text !== "");
    };
    /** @param {Event} event */
    const onError = (event) => {
      const detail = /** @type {CustomEvent<{code?: string, message?: string}>} */ (event).detail ?? {};
      this.#toast(toasts, detail.message || "Something went wrong.", detail.code ?? "");
      if (room.ended === "unauthorized") {
        // The session ended under us (expired, or the participant was removed): the
        // room page turns into the join prompt.
        setTimeout(() => {
          if (!this.#closed && this.#room === /** @type {unknown} */ (room)) void this.#open();
        }, 0);
      }
    };

    room.addEventListener("status", renderStatus);
    room.addEventListener("peers", renderStatus);
    room.addEventListener("typing", renderTyping);
    room.addEventListener("error", onError);
    this.#cleanup.push(() => {
      room.removeEventListener("status", renderStatus);
      room.removeEventListener("peers", renderStatus);
      room.removeEventListener("typing", renderTyping);
      room.removeEventListener("error", onError);
      list.room = null;
      composer.room = null;
      connections.room = null;
    });
    renderStatus();
    renderTyping();
    if (!PHONE.matches) composer.focus();
  }

  /**
   * A dismissable notice over the chat (errors from the room). A newer notice with the
   * same code replaces the older one (the server and the room may both report it).
   * @param {HTMLElement} box
   * @param {string} text
   * @param {string} [code]
   */
  #toast(box, text, code = "") {
    for (const old of Array.from(box.children)) {
      if (old.firstChild?.textContent === text || (code && /** @type {HTMLElement} */ (old).dataset.code === code)) old.remove();
    }
    const note = h("div", { class: "toast", role: "alert", "data-code": code || null }, [h("span", { text })]);
    const close = h("button", { type: "button", class: "icon-btn", "aria-label": "Dismiss" }, [icon(ICONS.close)]);
    close.addEventListener("click", () => note.remove());
    note.append(close);
    box.append(note);
    while (box.children.length > 3) box.firstElementChild?.remove();
    setTimeout(() => note.remove(), 10_000);
  }
}

customElements.define("pl-room-page", RoomPage);
