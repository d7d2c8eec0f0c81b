// Picking and dropping files: hidden <input type=file> pickers behind ordinary buttons
// (the accessible path), and drag and drop onto an area with a visible overlay (a
// shortcut for pointer users). Dropped folders are walked, and each file found carries
// its path inside the folder as `webkitRelativePath`, as the folder picker gives it.

import { h, icon } from "./dom.js";

const UPLOAD_ICON = ["M12 15V4", "m7 9 5-5 5 5", "M4 15v4a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-4"];

/**
 * A hidden file input; `open()` shows the browser's picker. The chosen files go to
 * `onFiles` and the input is cleared, so picking the same file again works.
 * @param {{id?: string, multiple?: boolean, folder?: boolean, label: string,
 *   onFiles: (files: File[]) => void}} options
 * @returns {{input: HTMLInputElement, open: () => void}}
 */
export function filePicker({ id, multiple = true, folder = false, label, onFiles }) {
  const input = h("input", {
    type: "file",
    id,
    class: "visually-hidden",
    multiple,
    tabindex: "-1",
    // The visible button in front of it is what people (and assistive technology) use.
    "aria-hidden": "true",
    "data-label": label,
  });
  if (folder) {
    input.webkitdirectory = true;
    input.setAttribute("webkitdirectory", "");
  }
  input.addEventListener("change", () => {
    const files = Array.from(input.files ?? []);
    input.value = "";
    if (files.length) onFiles(files);
  });
  return { input, open: () => input.click() };
}

/** Whether the browser offers a folder picker (`webkitdirectory`). */
export function canPickFolders() {
  return "webkitdirectory" in document.createElement("input") && !/Android|iPhone|iPad/i.test(navigator.userAgent);
}

/**
 * Give a File its path inside a dropped folder, the way the folder picker does.
 * @param {File} file
 * @param {string} path
 */
function withPath(file, path) {
  try {
    Object.defineProperty(file, "webkitRelativePath", { value: path, configurable: true });
  } catch {
    /* the name alone still works */
  }
  return file;
}

/**
 * @param {FileSystemEntry} entry
 * @param {string} prefix
 * @param {File[]} out
 */
async function walk(entry, prefix, out) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) =>
      /** @type {FileSystemFileEntry} */ (entry).file(resolve, reject),
    ).catch(() => null);
    if (file) out.push(prefix ? withPath(/** @type {File} */ (file), prefix + entry.name) : /** @type {File} */ (file));
    return;
  }
  if (!entry.isDirectory) return;
  const reader = /** @type {FileSystemDirectoryEntry} */ (entry).createReader();
  // readEntries returns at most 100 entries per call: read until it returns none.
  for (;;) {
    /** @type {FileSystemEntry[]} */
    const batch = await new Promise((resolve) => reader.readEntries(resolve, () => resolve([])));
    if (!batch.length) break;
    for (const child of batch) await walk(child, `${prefix}${entry.name}/`, out);
  }
}

/**
 * The files of a drop, folders walked.
 * @param {DataTransfer} data
 * @returns {Promise<File[]>}
 */
export async function filesFromDrop(data) {
  const items = Array.from(data.items ?? []).filter((item) => item.kind === "file");
  const entries = items.map((item) => (typeof item.webkitGetAsEntry === "function" ? item.webkitGetAsEntry() : null));
  if (!entries.some((e) => e?.isDirectory)) return Array.from(data.files ?? []);
  /** @type {File[]} */
  const out = [];
  for (let i = 0; i < items.length; i++) {
    const entry = entries[i];
    if (entry) await walk(entry, "", out);
    else {
      const file = items[i]?.getAsFile();
      if (file) out.push(file);
    }
  }
  return out;
}

/** @param {DragEvent} event */
const hasFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes("Files");

/**
 * Make `zone` accept dropped files, with an overlay saying what a drop does.
 * @param {HTMLElement} zone  positioned (the overlay covers it)
 * @param {{text: string | (() => string), onFiles: (files: File[]) => void, enabled?: () => boolean}} options
 * @returns {() => void}  undo
 */
export function attachDrop(zone, { text, onFiles, enabled = () => true }) {
  const overlay = h("div", { class: "drop-overlay", "aria-hidden": "true", hidden: true }, [
    h("div", { class: "drop-overlay-box" }, [icon(UPLOAD_ICON), h("span", { class: "drop-overlay-text" })]),
  ]);
  const label = /** @type {HTMLElement} */ (overlay.querySelector(".drop-overlay-text"));
  zone.append(overlay);
  zone.classList.add("drop-zone");
  let depth = 0;
  const show = (/** @type {boolean} */ on) => {
    if (on) label.textContent = typeof text === "function" ? text() : text;
    overlay.hidden = !on;
    zone.classList.toggle("dragging", on);
  };
  /** @param {DragEvent} event */
  const enter = (event) => {
    if (!hasFiles(event) || !enabled()) return;
    event.preventDefault();
    depth++;
    show(true);
  };
  /** @param {DragEvent} event */
  const over = (event) => {
    if (!hasFiles(event) || !enabled()) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
  };
  /** @param {DragEvent} event */
  const leave = (event) => {
    if (!hasFiles(event)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) show(false);
  };
  /** @param {DragEvent} event */
  const drop = (event) => {
    if (!hasFiles(event) || !enabled()) return;
    event.preventDefault();
    depth = 0;
    show(false);
    const data = event.dataTransfer;
    if (!data) return;
    void filesFromDrop(data).then((files) => {
      if (files.length) onFiles(files);
    });
  };
  // A drag that ends outside the window (or is cancelled) never sends a leave here.
  const reset = () => {
    depth = 0;
    show(false);
  };
  // One signal removes every listener at once: no second list to keep in step.
  const listening = new AbortController();
  const { signal } = listening;
  zone.addEventListener("dragenter", enter, { signal });
  zone.addEventListener("dragover", over, { signal });
  zone.addEventListener("dragleave", leave, { signal });
  zone.addEventListener("drop", drop, { signal });
  window.addEventListener("dragend", reset, { signal });
  window.addEventListener("blur", reset, { signal });
  return () => {
    listening.abort();
    overlay.remove();
    zone.classList.remove("drop-zone", "dragging");
  };
}

/**
 * A drop anywhere else on the page must not navigate away to the file.
 * @returns {() => void}  undo
 */
export function guardPageDrops() {
  /** @param {DragEvent} event */
  const stop = (event) => {
    if (hasFiles(event)) event.preventDefault();
  };
  window.addEventListener("dragover", stop);
  window.addEventListener("drop", stop);
  return () => {
    window.removeEventListener("dragover", stop);
    window.removeEventListener("drop", stop);
  };
}
