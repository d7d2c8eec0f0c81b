// The join helpers of every page that lets a person in (ui/home-page.js: create or join
// by code, and join by invite link; ui/room-page.js: "You're not in this room yet"): the
// name and code fields, the checks before a request, a form's request, the join by code.

import * as api from "../api.js";
import { handOverSession } from "../handover.js";
import { ERROR_CODES } from "../protocol.js";
import { h, rememberedName, rememberName } from "./dom.js";
import { clip, formErrorText, NAME_MAX } from "./form-errors.js";

/** @typedef {import("../api.js").SessionOut} SessionOut */

/** What the joiner of an encrypted room sees while no member is online to check its code. */
export const WAITING =
  "Waiting for a member of the room to come online: one of them has to check your code. Keep this page open.";

/**
 * The "Your name" field, prefilled with the remembered name, which it updates.
 * @returns {{field: HTMLElement, input: HTMLInputElement}}
 */
export function nameField() {
  const input = h("input", {
    id: "display-name",
    name: "display_name",
    type: "text",
    autocomplete: "nickname",
    required: true,
    spellcheck: "false",
    value: rememberedName(),
  });
  const note = h("p", { class: "field-note", id: "display-name-note", role: "status" });
  const field = h("div", { class: "field" }, [
    h("label", { for: "display-name", text: "Your name" }),
    input,
    h("p", { class: "field-help", id: "display-name-help", text: "Others in the room see this name." }),
    note,
  ]);
  input.setAttribute("aria-describedby", "display-name-help display-name-note");
  limitLength(input, NAME_MAX, note, `Names can be at most ${NAME_MAX} characters, so yours was shortened.`);
  // Remembered as soon as it is changed, not only on a join: an invite link opened
  // next joins under it (join-now.js).
  input.addEventListener("change", () => {
    const name = input.value.trim();
    if (name) rememberName(name);
  });
  return { field, input };
}

/**
 * Keep `input` to `max` characters and say so in `note` when something typed or pasted
 * was cut (a plain maxlength cuts a pasted text without a word).
 * @param {HTMLInputElement} input
 * @param {number} max
 * @param {HTMLElement} note
 * @param {string} words
 */
export function limitLength(input, max, note, words) {
  input.addEventListener("input", () => {
    const { text, cut } = clip(input.value, max);
    if (cut) {
      input.value = text;
      note.textContent = words;
    } else if (Array.from(input.value).length < max) note.textContent = "";
  });
}

/**
 * The "Room code" field.
 * @returns {{field: HTMLElement, input: HTMLInputElement}}
 */
export function codeField() {
  const input = h("input", {
    id: "join-code",
    name: "code",
    type: "text",
    autocomplete: "off",
    autocapitalize: "none",
    spellcheck: "false",
    inputmode: "text",
    maxlength: "100",
    placeholder: "7-amber-falcon",
    "aria-describedby": "join-code-help",
  });
  const field = h("div", { class: "field" }, [
    h("label", { for: "join-code", text: "Room code" }),
    input,
    h("p", { class: "field-help", id: "join-code-help", text: "A number and two words, from whoever invited you." }),
  ]);
  return { field, input };
}

/**
 * The display name typed, or null after pointing the person at the empty field.
 * @param {HTMLInputElement} input
 * @param {HTMLElement} alert
 */
export function takeName(input, alert) {
  const name = input.value.trim();
  if (!name) {
    alert.textContent = "Enter your name first: it's how others in the room see you.";
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return null;
  }
  input.removeAttribute("aria-invalid");
  rememberName(name);
  return name;
}

/**
 * Run one request for a form: buttons disabled meanwhile, errors into the alert.
 * @param {HTMLElement} root
 * @param {HTMLElement} alert
 * @template {object} T
 * @param {HTMLButtonElement} button
 * @param {() => Promise<T>} call
 * @returns {Promise<T | null>}
 */
export async function submit(root, alert, button, call) {
  const buttons = /** @type {HTMLButtonElement[]} */ (Array.from(root.querySelectorAll("button")));
  alert.textContent = "";
  for (const b of buttons) b.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.classList.add("busy");
  try {
    return await call();
  } catch (err) {
    alert.textContent = formErrorText(err);
    return null;
  } finally {
    for (const b of buttons) b.disabled = false;
    button.removeAttribute("aria-busy");
    button.classList.remove("busy");
    // Disabling the focused button dropped focus to the page: give it back.
    if (button.isConnected && (document.activeElement === document.body || !document.activeElement)) button.focus();
  }
}

/**
 * Join with the room code a form holds: the name and the code checked first (what is
 * missing goes to the alert, focus to its field), then the join, whose session is
 * handed over to the room page. The session, or null.
 * @param {HTMLElement} root  the form's page (its buttons are disabled meanwhile)
 * @param {HTMLElement} alert
 * @param {HTMLButtonElement} button
 * @param {HTMLInputElement} nameInput
 * @param {HTMLInputElement} codeInput
 * @param {HTMLElement} [nameAlert]  where a missing name is said (next to the name field)
 * @returns {Promise<SessionOut | null>}
 */
export async function joinByCode(root, alert, button, nameInput, codeInput, nameAlert = alert) {
  nameAlert.textContent = "";
  const display = takeName(nameInput, nameAlert);
  if (display === null) return null;
  const code = codeInput.value.trim();
  if (!code) {
    alert.textContent = "Enter the room code you were given, like 7-amber-falcon.";
    codeInput.setAttribute("aria-invalid", "true");
    codeInput.focus();
    return null;
  }
  alert.textContent = "";
  const out = await submit(root, alert, button, async () => {
    try {
      return await api.joinRoom({ display_name: display, code });
    } catch (err) {
      if (/** @type {{code?: unknown}} */ (err).code !== ERROR_CODES.PAKE_REQUIRED) throw err;
    }
    // An end-to-end encrypted room: a member's client checks the words (a PAKE).
    const { joinEncrypted } = await import("../e2e/pake-joiner.js");
    return joinEncrypted({
      code,
      displayName: display,
      onWaiting: () => {
        alert.textContent = WAITING;
      },
      onStarted: () => {
        alert.textContent = "";
      },
    });
  });
  // A refused code is about the code field: marked there, for screen readers too.
  if (out) codeInput.removeAttribute("aria-invalid");
  else if (alert.textContent) codeInput.setAttribute("aria-invalid", "true");
  if (out) handOverSession(out);
  return out;
}

/**
 * The room page's "You're not in this room yet": a join by code, in a card of its own.
 * @param {HTMLElement} root  the page (its buttons are disabled while the join is out)
 * @param {{expired: boolean, onJoined: (out: SessionOut) => void}} options
 *   expired: the session in this room expired (said so, rather than "not in this room")
 * @returns {{main: HTMLElement, focus: () => void}}
 */
export function joinPrompt(root, { expired, onJoined }) {
  const alert = h("p", { class: "form-error", role: "alert" });
  const name = nameField();
  const code = codeField();
  const button = h("button", { type: "submit", class: "btn primary wide", text: "Join" });
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
    const out = await joinByCode(root, alert, button, name.input, code.input);
    if (out) onJoined(out);
  });
  const main = h("main", { class: "entry", id: "main" }, [
    h("div", { class: "card narrow" }, [
      form,
      h("p", { class: "card-foot" }, [h("a", { href: "/", text: "Start a room of your own" })]),
    ]),
  ]);
  const focus = () => {
    if (matchMedia("(pointer: fine)").matches) (name.input.value ? code.input : name.input).focus();
  };
  return { main, focus };
}
