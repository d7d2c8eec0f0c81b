// Small helpers shared by the file UI (transfer panel, share pages): human sizes and
// speeds, time left, a file's kind (image, video, …) and its icon, and a speed meter.

import { h } from "./dom.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * "0 B", "999 B", "1.2 kB", "12.3 MB", "123 MB", "1.5 GB" (decimal units, as file
 * managers and download managers show them).
 * @param {number} bytes
 */
export function formatBytes(bytes) {
  const n = Math.max(0, Number.isFinite(bytes) ? bytes : 0);
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ["kB", "MB", "GB", "TB", "PB"];
  let value = n;
  let unit = "B";
  for (const u of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = u;
  }
  // 999.95 kB rounds to "1000.0 kB": show it as the next unit instead.
  if (value >= 999.95 && unit !== "PB") {
    value /= 1000;
    unit = units[units.indexOf(unit) + 1] ?? unit;
  }
  return `${value < 100 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

/**
 * "12.3 MB/s" (bytes per second).
 * @param {number} bytesPerSecond
 */
export function formatSpeed(bytesPerSecond) {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/**
 * "8 s left", "3 min left", "1 h 5 min left"; "" when unknown.
 * @param {number | null | undefined} seconds
 */
export function formatTimeLeft(seconds) {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return "";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s left`;
  if (s < 3600) return `${Math.round(s / 60)} min left`;
  const hours = Math.floor(s / 3600);
  const minutes = Math.round((s % 3600) / 60);
  if (hours >= 48) return `${Math.round(hours / 24)} days left`;
  return minutes ? `${hours} h ${minutes} min left` : `${hours} h left`;
}

/**
 * "12.3 MB/s · 8 s left" (either part may be missing).
 * @param {number | null | undefined} speed  bytes per second
 * @param {number | null | undefined} secondsLeft
 */
export function formatRate(speed, secondsLeft) {
  const parts = [];
  if (speed != null && Number.isFinite(speed) && speed > 0) parts.push(formatSpeed(speed));
  const left = formatTimeLeft(secondsLeft);
  if (left) parts.push(left);
  return parts.join(" · ");
}

/** @typedef {"image" | "video" | "audio" | "archive" | "document" | "code" | "other"} FileKind */

const EXT = /** @type {Record<string, FileKind>} */ ({});
for (const [kind, list] of /** @type {[FileKind, string][]} */ ([
  ["image", "png jpg jpeg gif webp avif heic heif bmp tif tiff svg ico raw cr2 nef dng psd"],
  ["video", "mp4 m4v mov mkv webm avi wmv flv mpg mpeg 3gp ogv"],
  ["audio", "mp3 m4a aac wav flac ogg oga opus wma aiff aif mid midi"],
  ["archive", "zip tar gz tgz bz2 xz zst 7z rar iso dmg apk deb rpm jar cab lz lzma"],
  ["document", "pdf doc docx odt rtf txt md markdown xls xlsx ods csv ppt pptx odp epub pages numbers key tex"],
  [
    "code",
    "js mjs cjs ts tsx jsx py rb go rs c h cc cpp hpp java kt swift cs php sh bash zsh ps1 html htm css scss json yaml yml toml xml sql lua pl r ini cfg conf",
  ],
])) {
  for (const ext of list.split(" ")) EXT[ext] = kind;
}

/**
 * A file's kind, from its media type and, failing that, its extension.
 * @param {string} name
 * @param {string | null | undefined} [type]
 * @returns {FileKind}
 */
export function fileKind(name, type) {
  const t = (type ?? "").toLowerCase();
  if (t.startsWith("image/")) return "image";
  if (t.startsWith("video/")) return "video";
  if (t.startsWith("audio/")) return "audio";
  if (/(zip|tar|gzip|x-7z|rar|bzip|xz|zstd|compressed|archive|diskimage|iso9660)/.test(t)) return "archive";
  if (/(pdf|msword|officedocument|opendocument|rtf|epub|text\/plain|text\/markdown|text\/csv)/.test(t))
    return "document";
  if (/(javascript|json|x-python|x-sh|text\/html|text\/css|xml|x-c|typescript|yaml|toml)/.test(t)) return "code";
  const base = name.split("/").pop() ?? name;
  const dot = base.lastIndexOf(".");
  const ext = dot > 0 ? base.slice(dot + 1).toLowerCase() : "";
  return EXT[ext] ?? "other";
}

/** @type {Record<FileKind, string>} */
export const KIND_TEXT = {
  image: "Image",
  video: "Video",
  audio: "Audio",
  archive: "Archive",
  document: "Document",
  code: "Code",
  other: "File",
};

// Hand-drawn 24×24 line icons, one per kind.
const PAGE = "M14 3H6a1 1 0 0 0-1 1v16a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1V8Z";
const FOLD = "M14 3v5h5";
/** @type {Record<FileKind, string[]>} */
const KIND_PATHS = {
  image: ["M4 5h16v14H4z", "m4 16 5-5 4 4 2.5-2.5L20 17", "M15.5 9.5v.01"],
  video: ["M3 6.5h12.5v11H3z", "m15.5 10.5 5.5-3.5v10l-5.5-3.5"],
  audio: [
    "M9 17.5V5.5l10-2v12",
    "M9 17.5a2.5 2.5 0 1 1-5 0 2.5 2.5 0 0 1 5 0Z",
    "M19 15.5a2.5 2.5 0 1 1-5 0 2.5 2.5 0 0 1 5 0Z",
  ],
  archive: ["M3.5 4h17v4h-17z", "M5 8v12h14V8", "M10 12h4"],
  document: [PAGE, FOLD, "M8.5 12.5h7", "M8.5 16h7", "M8.5 9h2"],
  code: [PAGE, FOLD, "m10 11.5-2.5 2.5 2.5 2.5", "m14 11.5 2.5 2.5-2.5 2.5"],
  other: [PAGE, FOLD],
};

/**
 * The icon of a file's kind, as an image with a name ("Image file").
 * @param {FileKind} kind
 * @returns {HTMLSpanElement}
 */
export function kindIcon(kind) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of KIND_PATHS[kind]) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  const box = h("span", {
    class: `ftype ftype-${kind}`,
    role: "img",
    "aria-label": `${KIND_TEXT[kind]} file`,
    title: KIND_TEXT[kind],
    "data-kind": kind,
  });
  box.append(svg);
  return box;
}

/**
 * Bytes per second over a sliding window of recent samples, so a burst or a stall does
 * not make the number jump about.
 */
export class SpeedMeter {
  /** @type {{t: number, bytes: number}[]} */
  #samples = [];
  #windowMs;

  /** @param {number} [windowMs] */
  constructor(windowMs = 4000) {
    this.#windowMs = windowMs;
  }

  /**
   * Record the total bytes done so far.
   * @param {number} bytes
   * @param {number} [now]  ms
   */
  add(bytes, now = performance.now()) {
    const s = this.#samples;
    const last = s[s.length - 1];
    if (last && bytes < last.bytes) s.length = 0; // restarted (resume from an earlier offset)
    s.push({ t: now, bytes });
    while (s.length > 2 && now - /** @type {{t: number}} */ (s[1]).t > this.#windowMs) s.shift();
  }

  /** Forget the samples (paused, or the path changed). */
  reset() {
    this.#samples = [];
  }

  /**
   * @param {number} [now]  ms
   * @returns {number | null}  bytes per second, null until there is enough to tell
   */
  rate(now = performance.now()) {
    const s = this.#samples;
    if (s.length < 2) return null;
    const first = /** @type {{t: number, bytes: number}} */ (s[0]);
    const last = /** @type {{t: number, bytes: number}} */ (s[s.length - 1]);
    // A stall: no progress for a while means the rate is falling towards zero.
    const span = Math.max(now, last.t) - first.t;
    if (span < 250) return null;
    return ((last.bytes - first.bytes) * 1000) / span;
  }

  /**
   * Seconds until `total` at the current rate, or null.
   * @param {number} total
   * @param {number} [now]
   */
  secondsLeft(total, now = performance.now()) {
    const rate = this.rate(now);
    const last = this.#samples[this.#samples.length - 1];
    if (!rate || rate <= 0 || !last) return null;
    return Math.max(0, total - last.bytes) / rate;
  }
}
