// Small DOM helpers for the UI: build elements without ever parsing HTML strings, so
// user text can only ever land in the page as text. No inline styles (the CSP forbids
// them): layout lives in app.css, dynamic numbers go through CSS custom properties.

/**
 * @typedef {string | number | boolean | null | undefined} AttrValue
 * @typedef {Node | string | null | undefined | false} Child
 * @typedef {{[name: string]: AttrValue | EventListener}} Attrs
 */

/**
 * Create an element. Attributes: `class`, `text` (textContent), `on<event>` (listener),
 * everything else via setAttribute (`true` → "", `false`/null/undefined → omitted).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {Child[] | Child} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    } else if (name === "text") {
      el.textContent = String(value);
    } else if (name === "class") {
      el.className = String(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** How long a page that waits says nothing. A quicker answer would only flash a status
 * by; and a status's layout -- on a fresh page the first, which sets up the fonts, 20 ms
 * and more of main thread on a busy machine -- would compete with the room's connecting
 * (docs/benchmarks.md, "Connect time"). */
export const BUSY_DELAY_MS = 300;

/**
 * A page's <main> while it waits: an empty status that shows a
 * spinner and `text` once the wait passes BUSY_DELAY_MS (if it is still on the page).
 * The status is there from the start, so screen readers read out its text when it
 * comes.
 * @param {string} text
 * @returns {HTMLElement}
 */
export function busyMain(text) {
  const status = h("p", { class: "opening", role: "status" });
  setTimeout(() => {
    if (status.isConnected) append(status, [h("span", { class: "spinner", "aria-hidden": "true" }), text]);
  }, BUSY_DELAY_MS);
  // Not aria-busy: screen readers hold back what changes inside a busy region.
  return h("main", { class: "entry", id: "main" }, [status]);
}

/**
 * @param {Element | DocumentFragment} parent
 * @param {Child[] | Child} children
 */
export function append(parent, children) {
  const list = Array.isArray(children) ? children : [children];
  for (const child of list) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * A small line icon (24×24 viewBox, stroked with currentColor), hidden from assistive
 * technology: the control around it carries the label.
 * @param {string[]} paths  `d` attributes
 * @param {string} [cls]
 * @returns {SVGSVGElement}
 */
export function icon(paths, cls = "icon") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of paths) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

/** Path data for the handful of icons the UI draws. */
export const ICONS = {
  send: ["M4 12 20 4l-6 16-3-7-7-1Z", "m11 13 9-9"],
  clock: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18Z", "M12 7v5l3 2"],
  check: ["m5 12.5 4.5 4.5L19 7"],
  checks: ["M17 6.5 7 16.5l-5-5", "m22.5 10-7 7-1.5-1.5"],
  alert: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18Z", "M12 7.5v5.5", "M12 16.5v.01"],
  copy: ["M9 9h11v11H9z", "M5 15H4V4h11v1"],
  share: ["M12 3v12", "m7 8 5-5 5 5", "M5 13v7h14v-7"],
  smile: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18Z", "M8.5 14.5a4.5 4.5 0 0 0 7 0", "M9 9.5v.01", "M15 9.5v.01"],
  panel: ["M4 5h16v14H4z", "M14 5v14"],
  close: ["m6 6 12 12", "M18 6 6 18"],
  down: ["M12 5v14", "m6 13 6 6 6-6"],
  retry: ["M4 12a8 8 0 1 0 2.4-5.7", "M4 4v4h4"],
  bell: ["M6 16V11a6 6 0 1 1 12 0v5l1.5 2h-15Z", "M10 20.5a2.2 2.2 0 0 0 4 0"],
  reply: ["M9 8 4 13l5 5", "M4 13h10a6 6 0 0 1 6 6v1"],
  edit: ["M4 20h4L19 9l-4-4L4 16Z", "m13 7 4 4"],
  trash: ["M4 7h16", "M9 7V4h6v3", "M6 7l1 13h10l1-13", "M10 11v6", "M14 11v6"],
};

/**
 * Parse trusted SVG markup (the server's QR code) into a node, without scripts or event
 * attributes, and make it scale: the width/height attributes become a viewBox.
 * @param {string} markup
 * @returns {SVGSVGElement | null}
 */
export function parseSvg(markup) {
  // Parsed as HTML, as if inline in a page: segno's inline SVG has no xmlns, and the
  // HTML parser puts <svg> in the SVG namespace anyway. DOMParser runs no scripts.
  const doc = new DOMParser().parseFromString(markup, "text/html");
  const root = doc.querySelector("svg");
  if (!root || root.namespaceURI !== SVG_NS) return null;
  for (const bad of Array.from(root.querySelectorAll("script, foreignObject"))) bad.remove();
  for (const el of [root, ...Array.from(root.querySelectorAll("*"))]) {
    for (const attr of Array.from(el.attributes)) {
      if (/^on/i.test(attr.name) || attr.name === "style" || /href$/i.test(attr.name)) {
        el.removeAttribute(attr.name);
      }
    }
  }
  const svg = /** @type {SVGSVGElement} */ (/** @type {unknown} */ (document.importNode(root, true)));
  const w = svg.getAttribute("width");
  const hgt = svg.getAttribute("height");
  if (!svg.hasAttribute("viewBox") && w && hgt) {
    svg.setAttribute("viewBox", `0 0 ${parseFloat(w)} ${parseFloat(hgt)}`);
  }
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  return svg;
}

/**
 * The user-facing message of any thrown value.
 * @param {unknown} err
 * @param {string} [fallback]
 * @returns {string}
 */
export function errorMessage(err, fallback = "Something went wrong; try again.") {
  if (err && typeof err === "object") {
    const msg = /** @type {{message?: unknown}} */ (err).message;
    if (typeof msg === "string" && msg) {
      // fetch() network failures are TypeErrors with browser-specific wording.
      if (err instanceof TypeError) return "Can't reach the server; check your connection and try again.";
      return msg;
    }
  }
  return fallback;
}

/**
 * The HTTP status of an ApiError-like value, if any.
 * @param {unknown} err
 * @returns {number | undefined}
 */
export function errorStatus(err) {
  if (err && typeof err === "object" && "status" in err) {
    const status = /** @type {{status: unknown}} */ (err).status;
    if (typeof status === "number") return status;
  }
  return undefined;
}

/**
 * The error code of an ApiError-like value, if any.
 * @param {unknown} err
 * @returns {string | undefined}
 */
export function errorCode(err) {
  if (err && typeof err === "object" && "code" in err) {
    const code = /** @type {{code: unknown}} */ (err).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

const NAME_KEY = "peerlane.name";

/** @returns {string} the remembered display name, or "" */
export function rememberedName() {
  try {
    return localStorage.getItem(NAME_KEY) ?? "";
  } catch {
    return "";
  }
}

/** @param {string} name */
export function rememberName(name) {
  try {
    localStorage.setItem(NAME_KEY, name);
  } catch {
    /* private mode: not remembered, nothing else breaks */
  }
}

// The date formats are made on first use, not when this module loads: a page's first
// Intl.DateTimeFormat loads the locale's data, 25-85 ms of main thread in a fresh
// Chromium on a busy machine, and the home and join pages, which load this module,
// format no date.
const FORMAT_OPTIONS = {
  time: /** @type {Intl.DateTimeFormatOptions} */ ({ hour: "numeric", minute: "2-digit" }),
  full: /** @type {Intl.DateTimeFormatOptions} */ ({ dateStyle: "full", timeStyle: "short" }),
  day: /** @type {Intl.DateTimeFormatOptions} */ ({ weekday: "long", month: "long", day: "numeric" }),
  dayYear: /** @type {Intl.DateTimeFormatOptions} */ ({ year: "numeric", month: "long", day: "numeric" }),
};
/** @type {Partial<Record<keyof typeof FORMAT_OPTIONS, Intl.DateTimeFormat>>} */
const formats = {};
/** @param {keyof typeof FORMAT_OPTIONS} name */
const format = (name) => (formats[name] ??= new Intl.DateTimeFormat(undefined, FORMAT_OPTIONS[name]));

/** @param {Date} d */
export const formatTime = (d) => format("time").format(d);
/** @param {Date} d */
export const formatFull = (d) => format("full").format(d);

/**
 * "Today", "Yesterday", "Monday, June 3" or "June 3, 2023".
 * @param {Date} d
 * @param {Date} [now]
 */
export function formatDay(d, now = new Date()) {
  const start = (/** @type {Date} */ x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((start(now) - start(d)) / 86_400_000);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  if (d.getFullYear() === now.getFullYear()) return format("day").format(d);
  return format("dayYear").format(d);
}

/**
 * A short duration in words: "45 s", "12 min", "23 h", "3 d".
 * @param {number} seconds
 */
export function formatDuration(seconds) {
  const s = Math.max(0, seconds);
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/**
 * "alice", "alice and bob", "alice, bob and 2 others".
 * @param {string[]} names
 */
export function joinNames(names) {
  if (names.length <= 1) return names[0] ?? "";
  if (names.length === 2) return `${names[0]} and ${names[1]}`;
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]}`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} others`;
}
