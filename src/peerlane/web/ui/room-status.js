// The room's state in a line or two, for <pl-room-page>:
// <pl-room-status>   the connection, under the room's name ("Connected", "Offline — …"),
//                    and an "ended" event once the room ended for good on this page;
// <pl-typing-line>   who is typing;
// endedPanel(why)    what replaces the composer once the room ended for good.

import { ERROR_CODES } from "../protocol.js";
import { directCount, statusText } from "./connection-panel.js";
import { h, joinNames } from "./dom.js";

/** @typedef {import("./types.js").RoomLike} RoomLike */

/** Why a room ended for good on this page, in plain words (the panel under the chat). */
const ENDED_FOR_GOOD = new Map([
  ["room_gone", "This room was deleted. Its messages are gone from the server."],
  ["removed", "The room's owner removed you from this room."],
  [ERROR_CODES.UNSUPPORTED_VERSION, "This page is out of date."],
]);

/**
 * The panel for a room that ended for good, with the one thing left to do.
 * @param {string} why  a reason ENDED_FOR_GOOD knows
 */
export function endedPanel(why) {
  return h("div", { class: "ended" }, [
    h("p", { text: ENDED_FOR_GOOD.get(why) ?? "" }),
    why === ERROR_CODES.UNSUPPORTED_VERSION
      ? h("button", { type: "button", class: "btn primary", text: "Reload", onclick: () => location.reload() })
      : h("a", { href: "/", class: "btn primary", text: "Start a new room" }),
  ]);
}

/** A room element: set `room` to follow one (null to stop). */
class RoomFollower extends HTMLElement {
  /** @type {RoomLike | null} */
  #room = null;
  /** The room events this element redraws on. */
  static EVENTS = /** @type {string[]} */ ([]);

  get room() {
    return this.#room;
  }

  set room(room) {
    const events = /** @type {typeof RoomFollower} */ (this.constructor).EVENTS;
    for (const type of events) this.#room?.removeEventListener(type, this.#redraw);
    this.#room = room;
    for (const type of events) room?.addEventListener(type, this.#redraw);
    if (room) this.render(room);
  }

  #redraw = () => {
    if (this.#room) this.render(this.#room);
  };

  /** @param {RoomLike} _room */
  render(_room) {}
}

/**
 * <pl-room-status class="conn-status" role="status">: the connection's state, with a tone
 * (data-tone: ok, warn, bad, busy) for its dot. Fires "ended" (detail: the reason) once,
 * when the room ended for good (deleted, removed, an outdated page).
 */
export class RoomStatus extends RoomFollower {
  static EVENTS = ["status", "peers"];
  #ended = false;

  connectedCallback() {
    this.classList.add("conn-status");
    this.setAttribute("role", "status");
    this.dataset.testid = "connection-status";
  }

  /** @param {RoomLike} room */
  render(room) {
    const s = statusText(room.serverState, directCount(room), room.ended ?? null);
    if (this.textContent !== s.text) this.replaceChildren(s.text);
    this.dataset.tone = s.tone;
    const why = room.ended ?? "";
    if (!this.#ended && ENDED_FOR_GOOD.has(why)) {
      this.#ended = true;
      this.dispatchEvent(new CustomEvent("ended", { detail: why }));
    }
  }
}

/** <pl-typing-line class="typing">: "Ann is typing…", "Ann and Bo are typing…", "5 people are typing…". */
export class TypingLine extends RoomFollower {
  static EVENTS = ["typing"];

  connectedCallback() {
    this.classList.add("typing");
    this.dataset.testid = "typing";
  }

  /** @param {RoomLike} room */
  render(room) {
    const mine = room.me?.participant_id;
    const names = Array.from(room.typing)
      .filter(([id]) => id !== mine)
      .map(([, name]) => name || "Someone");
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length > 1 && names.length <= 3) text = `${joinNames(names)} are typing…`;
    else if (names.length > 3) text = `${names.length} people are typing…`;
    if (this.textContent !== text) this.replaceChildren(text);
    this.classList.toggle("active", text !== "");
  }
}

customElements.define("pl-room-status", RoomStatus);
customElements.define("pl-typing-line", TypingLine);
