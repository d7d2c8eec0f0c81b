// A file name on one line that never breaks mid-word. When it does not fit, its middle
// gives way to an ellipsis and its end stays in view: the extension and a few characters
// before it ("holiday-photos-from-the-…-2024-07.jpg"), which is what tells two files
// apart. Screen readers read the whole name, its title shows it on hover, and a focused
// row shows it in full (app.css, `.file-name`).

import { h } from "./dom.js";

/** Characters kept before the extension in the name's visible end. */
const KEEP_BEFORE_EXT = 6;
/** A longer "extension" is not one ("notes.from the meeting"): keep this many characters. */
const MAX_EXT = 10;

/**
 * Split a name into the part that may be cut (head) and the end always shown (tail).
 * Code points, not UTF-16 units: an emoji is never cut in two.
 * @param {string} name
 * @returns {[string, string]}  head + tail === name
 */
export function splitFileName(name) {
  const chars = Array.from(name);
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 ? Array.from(name.slice(dot)) : [];
  const extLength = ext.length > 1 && ext.length <= MAX_EXT + 1 && !/\s/.test(name.slice(dot)) ? ext.length : 0;
  const keep = extLength + KEEP_BEFORE_EXT;
  // A name hardly longer than its end has nothing worth cutting.
  if (chars.length <= keep + 3) return [name, ""];
  return [chars.slice(0, chars.length - keep).join(""), chars.slice(chars.length - keep).join("")];
}

/**
 * The name's element: `<span class="file-name">` with the whole name for screen readers
 * (and `attrs`: its id names rows and progress bars, its test id), and what is seen, the
 * head and the tail, hidden from them (two boxes side by side would read as two words).
 * @param {string} name
 * @param {import("./dom.js").Attrs} [attrs]  attributes of the whole name (id, data-testid)
 * @returns {HTMLSpanElement}
 */
export function fileNameEl(name, attrs = {}) {
  const el = h("span", { class: "file-name" }, [
    h("span", { class: "visually-hidden", ...attrs }),
    h("span", { class: "fn-shown", "aria-hidden": "true" }),
  ]);
  setFileName(el, name);
  return el;
}

/**
 * Show another name in a `fileNameEl` (an unchanged name touches nothing).
 * @param {HTMLElement} el
 * @param {string} name
 */
export function setFileName(el, name) {
  if (el.title === name) return;
  const [full, shown] = /** @type {HTMLElement[]} */ (Array.from(el.children));
  if (!full || !shown) return;
  const [head, tail] = splitFileName(name);
  el.title = name;
  full.textContent = name;
  const parts = [h("span", { class: "fn-head", text: head })];
  if (tail) parts.push(h("span", { class: "fn-tail", text: tail }));
  shown.replaceChildren(...parts);
}
