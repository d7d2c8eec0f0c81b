// What the share pages have in common (ui/share-page.js, ui/share-download-page.js): the
// brand link above their cards, how long a link has left, copying a link.

import { formatDuration, h } from "./dom.js";

/** @param {number} expiresAt  seconds since the epoch */
export function expiryText(expiresAt) {
  const left = expiresAt - Date.now() / 1000;
  if (left <= 0) return "Expired";
  // "60 min" reads oddly for a link made to last an hour.
  if (left >= 55 * 60 && left < 90 * 60) return "Expires in 1 h";
  return `Expires in ${formatDuration(left)}`;
}

/** The product's name as a link home, above the cards. */
export function brandLink() {
  return h("header", { class: "brand" }, [
    h("a", { href: "/", class: "brand-name brand-link" }, [
      h("span", { class: "brand-mark", "aria-hidden": "true" }),
      "peerlane",
    ]),
  ]);
}

/**
 * Copy text to the clipboard, or select the element's text when that is not allowed.
 * @param {string} text
 * @param {Element} element
 * @param {HTMLElement} note  a role=status element that says what happened
 */
export async function copyText(text, element, note) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    const sel = window.getSelection();
    if (sel) {
      const range = document.createRange();
      range.selectNodeContents(element);
      sel.removeAllRanges();
      sel.addRange(range);
    }
  }
  note.textContent = ok ? "Copied" : "Selected — press Ctrl+C to copy";
  note.classList.add("show");
  setTimeout(() => {
    note.classList.remove("show");
    note.textContent = "";
  }, 2500);
}
