// What the room page (room-page.js) shows instead of the room when it cannot open it (no
// such room; another failure, with "Try again"), and over the chat while it is open (the
// toasts: the room's errors and notices, dismissable, gone after 10 s).

import { errorMessage, h, ICONS, icon } from "./dom.js";

const TOAST_MS = 10_000;
const MAX_TOASTS = 3;

/**
 * The page for a room that is not there (deleted, expired, never was).
 * @param {unknown} err
 * @returns {HTMLElement}
 */
export function goneMain(err) {
  return h("main", { class: "entry", id: "main" }, [
    h("div", { class: "card narrow stack" }, [
      h("h1", { class: "card-title", text: "This room isn't here" }),
      h("p", { role: "alert", text: errorMessage(err, "No such room; it may have been deleted or expired.") }),
      h("p", {}, [h("a", { href: "/", class: "btn primary", text: "Go to the home page" })]),
    ]),
  ]);
}

/**
 * The page for a room that could not be opened (the network, the server): why, and
 * "Try again" (focus it once shown).
 * @param {unknown} err
 * @param {() => void} retry
 * @returns {{main: HTMLElement, retry: HTMLButtonElement}}
 */
export function failureMain(err, retry) {
  const button = h("button", { type: "button", class: "btn primary", text: "Try again", onclick: retry });
  const main = h("main", { class: "entry", id: "main" }, [
    h("div", { class: "card narrow stack" }, [
      h("h1", { class: "card-title", text: "Can't open the room" }),
      h("p", { role: "alert", text: errorMessage(err) }),
      h("p", { class: "btn-row" }, [button, h("a", { href: "/", class: "btn", text: "Home" })]),
    ]),
  ]);
  return { main, retry: button };
}

/**
 * A dismissable notice over the chat (errors from the room). A newer notice with the
 * same words or code replaces the older one (the server and the room may both report it).
 * @param {HTMLElement} box
 * @param {string} text
 * @param {string} [code]
 */
export function toast(box, text, code = "") {
  for (const old of Array.from(box.children)) {
    if (old.firstChild?.textContent === text || (code && /** @type {HTMLElement} */ (old).dataset.code === code))
      old.remove();
  }
  const note = h("div", { class: "toast", role: "alert", "data-code": code || null }, [h("span", { text })]);
  const close = h("button", { type: "button", class: "icon-btn", "aria-label": "Dismiss" }, [icon(ICONS.close)]);
  close.addEventListener("click", () => note.remove());
  note.append(close);
  box.append(note);
  while (box.children.length > MAX_TOASTS) box.firstElementChild?.remove();
  setTimeout(() => note.remove(), TOAST_MS);
}
