// Web addresses in a message's text, found so the row can show them as links. Pure (no
// DOM): the row builds the <a> elements itself, never from an HTML string. Only http and
// https addresses become links: a `javascript:` or `data:` one stays plain text, so a
// message can never run script or load content when clicked.

/** An http(s) address, starting at a word boundary, up to the next white space or a
 * character that never belongs in a typed address. */
const URL_RE = /\bhttps?:\/\/[^\s<>"'`\u00a0]+/giu;

/** Punctuation that ends a sentence rather than an address ("see https://x.org."). */
const TRAILING = /[.,;:!?'"*_~]+$/u;

/** Brackets: a closing one at the end belongs to the address only if it opens one too
 * (https://en.wikipedia.org/wiki/Peer_(disambiguation) keeps its ")"). */
const PAIRS = /** @type {const} */ ([
  ["(", ")"],
  ["[", "]"],
  ["{", "}"],
]);

/**
 * @typedef {object} TextPart
 * @property {string} text
 * @property {string} [href]  set when this part is a link: the address, checked as http(s)
 */

/**
 * Cut what a message ends an address with but is no part of it.
 * @param {string} s
 * @returns {string}
 */
function trimAddress(s) {
  for (;;) {
    const before = s;
    s = s.replace(TRAILING, "");
    for (const [open, close] of PAIRS) {
      if (s.endsWith(close) && s.split(open).length < s.split(close).length) s = s.slice(0, -1);
    }
    if (s === before) return s;
  }
}

/**
 * The address as a link target, or null when it is not a safe http(s) address.
 * @param {string} s
 * @returns {string | null}
 */
export function safeHref(s) {
  let url;
  try {
    url = new URL(s);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (!url.hostname) return null;
  return url.href;
}

/**
 * Split a message's text into plain parts and links, in order; joined, the parts' text
 * is the message's text unchanged.
 * @param {string} text
 * @returns {TextPart[]}
 */
export function linkify(text) {
  /** @type {TextPart[]} */
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    const start = match.index ?? 0;
    const address = trimAddress(match[0]);
    const href = safeHref(address);
    // "https://" alone (or with only punctuation) is no address.
    if (!href || address.length <= match[0].indexOf("//") + 2) continue;
    if (start > last) parts.push({ text: text.slice(last, start) });
    parts.push({ text: address, href });
    last = start + address.length;
  }
  if (last < text.length || parts.length === 0) parts.push({ text: text.slice(last) });
  return parts;
}
