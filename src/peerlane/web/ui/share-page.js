// <pl-share-page> (/share): upload files once, get a link (and a QR code) anyone can
// download them from until it expires. The manage token that deletes the share stays
// in this browser (localStorage), with the link, under "Your shares on this device".
// <pl-share-download-page> (/s#<token>): the files behind a share link, to download.

import { ApiError, request } from "../api.js";
import { upload } from "../tus.js";
import { ICONS, errorCode, errorMessage, errorStatus, formatDuration, formatFull, h, icon, parseSvg } from "./dom.js";
import { attachDrop, filePicker, guardPageDrops } from "./file-drop.js";
import { SpeedMeter, fileKind, formatBytes, formatRate, kindIcon } from "./file-info.js";

/**
 * @typedef {object} CreatedShare    POST /api/shares
 * @property {string} id
 * @property {string} link
 * @property {string} manage_token
 * @property {number} expires_at     seconds since the epoch
 * @property {number | null} max_downloads
 * @property {number} size_limit
 * @property {string} upload_url
 * @property {string} qr_svg
 *
 * @typedef {object} SharedFile      a file of POST /api/shares/open
 * @property {string} id
 * @property {string} name
 * @property {number} size
 * @property {string} type
 * @property {string | null} root
 * @property {boolean} verified
 * @property {number | null} [downloads]
 * @property {string} url
 *
 * @typedef {object} ShareView       POST /api/shares/open {token}
 * @property {string} id
 * @property {number} expires_at
 * @property {number | null} max_downloads
 * @property {number} size_limit
 * @property {SharedFile[]} files
 *
 * @typedef {object} SavedShare      what this browser remembers of a share it made
 * @property {string} id
 * @property {string} link
 * @property {string} manage_token
 * @property {number} expires_at
 * @property {number | null} max_downloads
 * @property {number} created_at     seconds since the epoch
 * @property {SavedFile[]} files
 * @property {boolean} complete      every file finished uploading
 * @property {string} [qr_svg]
 *
 * @typedef {object} SavedFile
 * @property {string} name
 * @property {number} size
 * @property {string} type
 * @property {string} [url]          the tus upload URL, to resume after a reload
 * @property {boolean} [done]
 */

const UPLOADS = "/api/files/uploads";
const CHUNK_BYTES = 4 * 1024 * 1024; // progress moves once per chunk: not too coarse
const SHARES_KEY = "peerlane.shares";
const HOUR_S = 3600;
const EXPIRY_CHOICES = /** @type {const} */ ([
  [HOUR_S, "1 hour"],
  [24 * HOUR_S, "24 hours"],
  [7 * 24 * HOUR_S, "7 days"],
]);
const DEFAULT_TTL = 24 * HOUR_S;

const SHARE_ERRORS = /** @type {Record<string, string>} */ ({
  share_not_found: "No share has this link. Check that you copied the whole link, or ask the sender for a new one.",
  share_expired: "This link has expired, and its files were deleted from the server. Ask the sender for a new link.",
  share_exhausted: "This file was downloaded as often as the sender allowed.",
});

// -- the share API (bearer-authenticated calls are not in api.js: it speaks cookies) ----

/**
 * @param {{ttl?: number, max_downloads?: number, size?: number}} options
 * @returns {Promise<CreatedShare>}
 */
export function createShare(options) {
  return request("POST", "/api/shares", options);
}

/**
 * What a share holds. The secret of the link (after `#`) goes in the body, never in a
 * path: the answer's file URLs carry only ids, and the cookie this request sets (scoped
 * to the share's path) is what authorizes the downloads.
 * @param {string} token
 * @returns {Promise<ShareView>}
 */
export function getShare(token) {
  return request("POST", "/api/shares/open", { token });
}

/**
 * @param {string} id
 * @param {string} manageToken
 * @returns {Promise<void>}
 */
export async function deleteShare(id, manageToken) {
  let response;
  try {
    response = await fetch(`/api/shares/${encodeURIComponent(id)}`, {
      method: "DELETE",
      credentials: "omit",
      headers: { Accept: "application/json", Authorization: `Bearer ${manageToken}` },
    });
  } catch {
    throw new ApiError(0, "unavailable", "Cannot reach the server. Check your connection and try again.");
  }
  if (response.ok) return;
  let detail = null;
  try {
    detail = (await response.json())?.error;
  } catch {
    /* not JSON */
  }
  throw new ApiError(
    response.status,
    typeof detail?.code === "string" ? detail.code : "bad_request",
    typeof detail?.message === "string" ? detail.message : `The server answered ${response.status}.`,
  );
}

/**
 * The link's path and fragment on this page's origin (the server's public URL may name
 * another host; the CSP and the cookies want this one).
 * @param {string} link
 */
function localLink(link) {
  try {
    const url = new URL(link, location.href);
    return `${location.origin}${url.pathname}${url.hash}`;
  } catch {
    return link;
  }
}

// -- shares remembered by this browser ------------------------------------------------------

/** @returns {SavedShare[]} */
export function savedShares() {
  try {
    const raw = JSON.parse(localStorage.getItem(SHARES_KEY) ?? "[]");
    return Array.isArray(raw) ? raw.filter((s) => s && typeof s.id === "string" && typeof s.manage_token === "string") : [];
  } catch {
    return [];
  }
}

/** @param {SavedShare[]} list */
function storeShares(list) {
  try {
    // Expired shares are gone from the server: nothing to manage any more.
    const now = Date.now() / 1000;
    localStorage.setItem(SHARES_KEY, JSON.stringify(list.filter((s) => s.expires_at > now)));
  } catch {
    /* private mode or full: the share still works, it just isn't listed later */
  }
}

/** @param {SavedShare} share */
function saveShare(share) {
  storeShares([share, ...savedShares().filter((s) => s.id !== share.id)]);
}

/**
 * Change one remembered share in place.
 * @param {string} id
 * @param {(share: SavedShare) => void} change
 */
function updateShare(id, change) {
  const list = savedShares();
  const share = list.find((s) => s.id === id);
  if (!share) return;
  change(share);
  storeShares(list);
}

/**
 * A fetch that sends the share's manage token (the tus client speaks cookies).
 * @param {string} token
 * @returns {typeof fetch}
 */
function bearerFetch(token) {
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${token}`);
    return fetch(input, { ...init, headers, credentials: "omit" });
  };
}

/** @param {string} id */
function forgetShare(id) {
  storeShares(savedShares().filter((s) => s.id !== id));
}

/** @param {number} expiresAt  seconds since the epoch */
function expiryText(expiresAt) {
  const left = expiresAt - Date.now() / 1000;
  if (left <= 0) return "Expired";
  // "60 min" reads oddly for a link made to last an hour.
  if (left >= 55 * 60 && left < 90 * 60) return "Expires in 1 h";
  return `Expires in ${formatDuration(left)}`;
}

/** The product's name as a link home, above the cards. */
function brandLink() {
  return h("header", { class: "brand" }, [
    h("a", { href: "/", class: "brand-name brand-link" }, [h("span", { class: "brand-mark", "aria-hidden": "true" }), "peerlane"]),
  ]);
}

/**
 * Copy text to the clipboard, or select the element's text when that is not allowed.
 * @param {string} text
 * @param {Element} element
 * @param {HTMLElement} note  a role=status element that says what happened
 */
async function copyText(text, element, note) {
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

// -- one file being uploaded ----------------------------------------------------------------

/** @typedef {"queued" | "uploading" | "done" | "failed" | "cancelled"} UploadState */

class UploadRow {
  /** @type {UploadState} */
  state = "queued";
  sent = 0;
  /** @type {AbortController | null} */
  abort = null;
  /** @type {string | null} the tus upload URL, once created */
  url = null;
  meter = new SpeedMeter();

  /**
   * @param {File | null} file  null for a file uploaded before (a resumed share)
   * @param {{name: string, size: number, type: string}} [info]
   */
  constructor(file, info) {
    this.file = file;
    const name = info?.name ?? (file ? file.webkitRelativePath || file.name : "");
    this.info = { name, size: info?.size ?? file?.size ?? 0, type: info?.type ?? file?.type ?? "" };
    if (!file) this.state = "done";
    const kind = fileKind(name, this.info.type);
    this.progress = h("progress", { max: String(Math.max(1, this.info.size)), value: "0", "aria-label": `Upload of ${name}` });
    this.status = h("span", { class: "upload-status", "data-testid": "upload-status" });
    this.error = h("p", { class: "file-error", role: "alert" });
    this.actions = h("span", { class: "file-actions" });
    this.el = h("li", { class: "file-row", "data-testid": "upload", "data-state": "queued" }, [
      kindIcon(kind),
      h("div", { class: "file-main" }, [
        h("div", { class: "file-line" }, [
          h("span", { class: "file-name", text: name, title: name }),
          h("span", { class: "file-size", text: formatBytes(this.info.size) }),
        ]),
        this.progress,
        this.status,
        this.error,
      ]),
      this.actions,
    ]);
    this.render();
  }

  render() {
    const { state, info: file } = this;
    this.el.dataset.state = state;
    this.progress.value = state === "done" ? Math.max(1, file.size) : this.sent;
    let text = "";
    if (state === "queued") text = "Waiting";
    else if (state === "uploading") {
      const rate = formatRate(this.meter.rate(), this.meter.secondsLeft(file.size));
      text = `${formatBytes(this.sent)} of ${formatBytes(file.size)}${rate ? ` · ${rate}` : ""}`;
    } else if (state === "done") text = "Uploaded";
    else if (state === "failed") text = `Stopped at ${formatBytes(this.sent)} of ${formatBytes(file.size)}`;
    else text = "Cancelled";
    if (this.status.textContent !== text) this.status.textContent = text;
    this.progress.hidden = state === "done" || state === "cancelled";
  }
}

// -- /share ---------------------------------------------------------------------------------

export class SharePage extends HTMLElement {
  /** @type {File[]} */
  #chosen = [];
  /** @type {UploadRow[]} */
  #rows = [];
  /** @type {(CreatedShare & {files: SavedFile[]}) | null} */
  #share = null;
  #uploading = false;
  /** The share on screen was made earlier (resumed): cancelling keeps it. */
  #resumed = false;
  /** @type {(() => void)[]} */
  #cleanup = [];
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #tick;

  #alert = h("p", { class: "form-error", role: "alert" });
  #card = h("section", { class: "card share-card", "aria-labelledby": "share-title" });
  #mine = h("section", { class: "card share-mine", "aria-labelledby": "mine-title" });

  connectedCallback() {
    document.title = "Share files by link — peerlane";
    if (!this.firstChild) {
      this.append(
        h("main", { class: "entry share-entry", id: "main" }, [
          brandLink(),
          this.#card,
          this.#mine,
          h("p", { class: "entry-foot muted" }, [
            "The files are kept on this server until the link expires. ",
            h("a", { href: "/", text: "Chat in a room instead" }),
          ]),
        ]),
      );
      this.#renderForm();
      this.#renderMine();
    }
    this.#cleanup.push(guardPageDrops());
    this.#cleanup.push(
      attachDrop(this.#card, {
        text: "Drop files to add them",
        onFiles: (files) => this.#add(files),
        enabled: () => !this.#uploading && !this.#share,
      }),
    );
    window.addEventListener("beforeunload", this.#beforeUnload);
    this.#tick = setInterval(() => this.#renderExpiries(), 30_000);
  }

  disconnectedCallback() {
    for (const undo of this.#cleanup.splice(0)) undo();
    window.removeEventListener("beforeunload", this.#beforeUnload);
    clearInterval(this.#tick);
    for (const row of this.#rows) row.abort?.abort();
  }

  /** @param {BeforeUnloadEvent} event */
  #beforeUnload = (event) => {
    if (this.#uploading) event.preventDefault();
  };

  /** @param {File[]} files */
  #add(files) {
    const key = (/** @type {File} */ f) => `${f.webkitRelativePath || f.name}\u0000${f.size}\u0000${f.lastModified}`;
    const have = new Set(this.#chosen.map(key));
    for (const f of files) if (!have.has(key(f))) this.#chosen.push(f);
    this.#alert.textContent = "";
    this.#renderForm();
  }

  // -- step 1: choose files and options --------------------------------------------------

  #renderForm() {
    const picker = filePicker({ id: "share-files", label: "Files to share", onFiles: (files) => this.#add(files) });
    const choose = h("button", { type: "button", class: "btn", onclick: picker.open }, [
      icon(["M12 5v14", "M5 12h14"]),
      this.#chosen.length ? "Add more files" : "Choose files",
    ]);
    const total = this.#chosen.reduce((n, f) => n + f.size, 0);
    const list = h("ul", { class: "file-list", "aria-label": "Files to share" });
    this.#chosen.forEach((file, i) => {
      list.append(
        h("li", { class: "file-row", "data-testid": "chosen-file" }, [
          kindIcon(fileKind(file.name, file.type)),
          h("div", { class: "file-main" }, [
            h("div", { class: "file-line" }, [
              h("span", { class: "file-name", text: file.webkitRelativePath || file.name, title: file.name }),
              h("span", { class: "file-size", text: formatBytes(file.size) }),
            ]),
          ]),
          h(
            "button",
            {
              type: "button",
              class: "icon-btn",
              "aria-label": `Remove ${file.name}`,
              title: "Remove",
              onclick: () => {
                this.#chosen.splice(i, 1);
                this.#renderForm();
                (/** @type {HTMLElement | null} */ (this.#card.querySelector(".file-list .icon-btn")) ?? choose).focus();
              },
            },
            [icon(ICONS.close)],
          ),
        ]),
      );
    });

    const expiry = h("select", { id: "share-expiry", name: "ttl" });
    for (const [seconds, text] of EXPIRY_CHOICES) {
      expiry.append(h("option", { value: String(seconds), text, selected: seconds === DEFAULT_TTL }));
    }
    const maxDownloads = h("input", {
      id: "share-max-downloads",
      name: "max_downloads",
      type: "number",
      min: "1",
      step: "1",
      inputmode: "numeric",
      placeholder: "No limit",
      "aria-describedby": "share-max-help",
    });
    const submit = h("button", { type: "submit", class: "btn primary wide" }, [
      icon(["M12 15V4", "m7 9 5-5 5 5", "M4 15v4a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-4"]),
      "Upload",
    ]);
    const form = h("form", { class: "stack", novalidate: true }, [
      h("div", { class: "share-head" }, [
        h("h1", { id: "share-title", class: "card-title", text: "Share files by link" }),
        h("p", {
          class: "muted",
          text: "Upload files once and send the link: anyone who has it can download them until it expires. No account needed.",
        }),
      ]),
      h("div", { class: "pick-zone" }, [
        picker.input,
        choose,
        h("span", { class: "muted small pick-hint", text: this.#chosen.length ? "" : "or drop files here" }),
        this.#chosen.length
          ? h("span", {
              class: "muted small pick-total",
              text: `${this.#chosen.length} ${this.#chosen.length === 1 ? "file" : "files"}, ${formatBytes(total)}`,
            })
          : null,
      ]),
      this.#chosen.length ? list : null,
      h("div", { class: "share-options" }, [
        h("div", { class: "field" }, [h("label", { for: "share-expiry", text: "The link expires after" }), expiry]),
        h("div", { class: "field" }, [
          h("label", { for: "share-max-downloads", text: "Downloads per file (optional)" }),
          maxDownloads,
          h("p", { class: "field-help", id: "share-max-help", text: "Leave empty for no limit." }),
        ]),
      ]),
      submit,
      this.#alert,
    ]);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const raw = maxDownloads.value.trim();
      const max = raw ? Number(raw) : null;
      if (max !== null && (!Number.isInteger(max) || max < 1)) {
        this.#alert.textContent = "The download limit is a whole number, 1 or more (or leave it empty).";
        maxDownloads.setAttribute("aria-invalid", "true");
        maxDownloads.focus();
        return;
      }
      maxDownloads.removeAttribute("aria-invalid");
      if (!this.#chosen.length) {
        this.#alert.textContent = "Choose the files to share first.";
        choose.focus();
        return;
      }
      void this.#start(Number(expiry.value), max, submit);
    });
    const focusedChoose = document.activeElement?.closest?.(".pick-zone") != null;
    this.#card.replaceChildren(form);
    if (focusedChoose) choose.focus();
  }

  // -- step 2: create the share and upload ------------------------------------------------

  /**
   * @param {number} ttl
   * @param {number | null} maxDownloads
   * @param {HTMLButtonElement} button
   */
  async #start(ttl, maxDownloads, button) {
    if (this.#uploading) return;
    this.#uploading = true;
    this.#alert.textContent = "";
    button.disabled = true;
    button.classList.add("busy");
    const files = this.#chosen.slice();
    const size = files.reduce((n, f) => n + f.size, 0);
    /** @type {CreatedShare} */
    let created;
    try {
      created = await createShare({ ttl, ...(maxDownloads ? { max_downloads: maxDownloads } : {}), size });
    } catch (err) {
      this.#uploading = false;
      button.disabled = false;
      button.classList.remove("busy");
      this.#alert.textContent = errorMessage(err, "Couldn't create the share; try again.");
      return;
    }
    const fileInfo = files.map((f) => ({ name: f.webkitRelativePath || f.name, size: f.size, type: f.type }));
    this.#share = { ...created, link: localLink(created.link), files: fileInfo };
    saveShare({
      id: created.id,
      link: this.#share.link,
      manage_token: created.manage_token,
      expires_at: created.expires_at,
      max_downloads: created.max_downloads,
      created_at: Date.now() / 1000,
      files: fileInfo,
      complete: false,
      qr_svg: created.qr_svg,
    });
    this.#rows = files.map((f) => new UploadRow(f));
    this.#resumed = false;
    this.#renderUploading();
    await this.#uploadAll();
  }

  #renderUploading() {
    const list = h("ul", { class: "file-list uploads", "aria-label": "Uploads" }, this.#rows.map((r) => r.el));
    const cancel = h("button", {
      type: "button",
      class: "btn",
      text: this.#resumed ? "Stop uploading" : "Cancel upload",
      title: this.#resumed ? "Stop for now; the share stays" : "Stop and delete the share",
      onclick: () => void this.#cancel(),
    });
    const heading = h("h1", { id: "share-title", class: "card-title", text: "Uploading…", tabindex: "-1" });
    this.#card.replaceChildren(
      h("div", { class: "stack" }, [
        heading,
        h("p", { class: "muted", text: "Keep this page open until every file is uploaded." }),
        list,
        h("div", { class: "btn-row" }, [cancel]),
        this.#alert,
      ]),
    );
    heading.focus();
  }

  async #uploadAll() {
    const share = this.#share;
    if (!share) return;
    this.#uploading = true;
    for (const row of this.#rows) {
      if (row.state !== "queued") continue;
      if (this.#share !== share) return;
      await this.#uploadOne(share, row);
    }
    this.#uploading = false;
    if (this.#share !== share) return;
    const failed = this.#rows.filter((r) => r.state === "failed");
    if (failed.length) {
      this.#alert.textContent =
        failed.length === this.#rows.length
          ? "The upload stopped. Retry to continue where it left off."
          : `${failed.length} of ${this.#rows.length} files did not finish. Retry to continue where they left off.`;
      return;
    }
    const saved = this.#saved(share);
    saveShare({ ...saved, complete: saved.files.every((f) => f.done) });
    this.#renderReady();
  }

  /** @param {CreatedShare} share */
  #saved(share) {
    return (
      savedShares().find((s) => s.id === share.id) ?? {
        id: share.id,
        link: localLink(share.link),
        manage_token: share.manage_token,
        expires_at: share.expires_at,
        max_downloads: share.max_downloads,
        created_at: Date.now() / 1000,
        files: [],
        complete: false,
      }
    );
  }

  /**
   * @param {CreatedShare} share
   * @param {UploadRow} row
   */
  async #uploadOne(share, row) {
    const abort = new AbortController();
    row.abort = abort;
    row.state = "uploading";
    row.error.textContent = "";
    row.actions.replaceChildren();
    row.meter.reset();
    row.render();
    let last = 0;
    const file = row.file;
    if (!file) return;
    const name = row.info.name;
    /** @param {(f: SavedFile) => void} change */
    const remember = (change) =>
      updateShare(share.id, (saved) => {
        const entry = saved.files.find((f) => f.name === name && f.size === file.size && !f.done);
        if (entry) change(entry);
      });
    try {
      await upload(file, {
        endpoint: UPLOADS,
        metadata: { share: share.id, name, type: file.type || "application/octet-stream" },
        fetch: bearerFetch(share.manage_token),
        url: row.url,
        chunkBytes: CHUNK_BYTES,
        signal: abort.signal,
        onUrl: (url) => {
          row.url = url;
          remember((f) => (f.url = url));
        },
        onProgress: ({ offset }) => {
          row.sent = offset;
          row.meter.add(offset);
          const now = performance.now();
          if (now - last > 200) {
            last = now;
            row.render();
          }
        },
      });
      row.sent = file.size;
      row.state = "done";
      remember((f) => (f.done = true));
    } catch (err) {
      if (abort.signal.aborted) {
        row.state = "cancelled";
      } else {
        row.state = "failed";
        row.error.textContent = errorMessage(err, "The upload stopped.");
        const code = errorCode(err);
        // These need a new share (or less data); resuming the same upload won't help.
        const final = code === "share_expired" || code === "share_quota_exceeded" || code === "file_too_large"
          || code === "storage_quota_exceeded" || errorStatus(err) === 404;
        if (!final) {
          row.actions.append(
            h("button", {
              type: "button",
              class: "btn small-btn",
              text: "Retry",
              "aria-label": `Retry ${name}`,
              onclick: () => {
                row.state = "queued";
                this.#alert.textContent = "";
                void this.#uploadAll();
              },
            }),
          );
        }
      }
    } finally {
      row.abort = null;
      row.render();
    }
  }

  async #cancel() {
    const share = this.#share;
    for (const row of this.#rows) {
      row.abort?.abort();
      if (row.state === "queued") row.state = "cancelled";
      row.render();
    }
    this.#uploading = false;
    this.#share = null;
    if (share && !this.#resumed) {
      try {
        await deleteShare(share.id, share.manage_token);
        forgetShare(share.id);
      } catch {
        /* still listed under "Your shares" with its Delete button */
      }
    }
    this.#rows = [];
    this.#renderForm();
    this.#renderMine();
    /** @type {HTMLElement | null} */ (this.#card.querySelector(".pick-zone .btn"))?.focus();
  }

  // -- step 3: the link ---------------------------------------------------------------------

  #renderReady() {
    const share = this.#share;
    if (!share) return;
    const copied = h("span", { class: "copied", role: "status" });
    const linkEl = h("p", {
      class: "invite-link share-link",
      "data-testid": "share-link",
      "aria-labelledby": "share-link-label",
      text: share.link,
    });
    const actions = h("div", { class: "btn-row" }, [
      h("button", { type: "button", class: "btn", onclick: () => void copyText(share.link, linkEl, copied) }, [
        icon(ICONS.copy),
        "Copy link",
      ]),
    ]);
    if (typeof navigator.share === "function") {
      actions.append(
        h(
          "button",
          {
            type: "button",
            class: "btn",
            onclick: () => void navigator.share({ title: "Files on peerlane", url: share.link }).catch(() => {}),
          },
          [icon(ICONS.share), "Share"],
        ),
      );
    }
    actions.append(h("a", { class: "btn subtle", href: share.link, target: "_blank", rel: "noopener", text: "Open" }), copied);
    const qr = h("div", { class: "invite-qr share-qr", "data-testid": "share-qr", role: "img", "aria-label": "QR code of the link" });
    const svg = share.qr_svg ? parseSvg(share.qr_svg) : null;
    if (svg) qr.append(svg);
    else qr.classList.add("none");
    const total = share.files.reduce((n, f) => n + f.size, 0);
    const heading = h("h1", { id: "share-title", class: "card-title", text: "Your link is ready", tabindex: "-1" });
    const del = h("button", { type: "button", class: "btn danger", text: "Delete share" });
    del.addEventListener("click", () => void this.#delete(share.id, share.manage_token, del));
    this.#card.replaceChildren(
      h("div", { class: "stack share-ready" }, [
        heading,
        h("p", { class: "muted", text: "Send this link to the people who should get the files. Anyone who has it can download them." }),
        h("div", {}, [h("p", { class: "field-label", id: "share-link-label", text: "Link" }), linkEl]),
        actions,
        h("div", { class: "invite-grid" }, [
          qr,
          h("div", { class: "invite-text" }, [
            h("p", { class: "share-expiry", "data-testid": "share-expiry", "data-expires": String(share.expires_at), title: `Expires ${formatFull(new Date(share.expires_at * 1000))}`, text: expiryText(share.expires_at) }),
            h("p", { class: "muted small", text: `${share.files.length} ${share.files.length === 1 ? "file" : "files"}, ${formatBytes(total)}` }),
            share.max_downloads
              ? h("p", { class: "muted small", text: `Each file can be downloaded ${share.max_downloads === 1 ? "once" : `${share.max_downloads} times`}.` })
              : null,
          ]),
        ]),
        h("ul", { class: "file-list", "aria-label": "Uploaded files" }, this.#rows.map((r) => r.el)),
        h("div", { class: "btn-row share-manage" }, [
          del,
          h("button", {
            type: "button",
            class: "btn",
            text: "Share more files",
            onclick: () => {
              this.#share = null;
              this.#rows = [];
              this.#chosen = [];
              this.#renderForm();
              this.#renderMine();
              /** @type {HTMLElement | null} */ (this.#card.querySelector(".pick-zone .btn"))?.focus();
            },
          }),
        ]),
        this.#alert,
      ]),
    );
    this.#renderMine();
    heading.focus();
  }

  /**
   * @param {string} id
   * @param {string} manageToken
   * @param {HTMLButtonElement} button
   */
  async #delete(id, manageToken, button) {
    if (!confirm("Delete this share? The link stops working and its files are deleted from the server.")) return;
    button.disabled = true;
    button.classList.add("busy");
    this.#alert.textContent = "";
    try {
      await deleteShare(id, manageToken);
    } catch (err) {
      // Already gone (deleted elsewhere, or expired): forgetting it is what was asked.
      if (errorStatus(err) !== 404) {
        button.disabled = false;
        button.classList.remove("busy");
        const target = this.#share?.id === id ? this.#alert : this.#mine.querySelector(".form-error");
        if (target) target.textContent = errorMessage(err);
        return;
      }
    }
    forgetShare(id);
    if (this.#share?.id === id) {
      this.#share = null;
      this.#rows = [];
      this.#chosen = [];
      this.#renderForm();
      this.#alert.textContent = "";
      this.#card.prepend(h("p", { class: "notice ok", role: "status", text: "The share was deleted. Its link no longer works." }));
      /** @type {HTMLElement | null} */ (this.#card.querySelector(".pick-zone .btn"))?.focus();
    }
    this.#renderMine();
  }

  // -- shares made in this browser ------------------------------------------------------------

  #renderMine() {
    const list = savedShares().filter((s) => s.id !== this.#share?.id && s.expires_at > Date.now() / 1000);
    this.#mine.hidden = list.length === 0;
    if (!list.length) {
      this.#mine.replaceChildren();
      return;
    }
    const items = list.map((s) => {
      const total = s.files.reduce((n, f) => n + f.size, 0);
      const first = s.files[0]?.name ?? "";
      const what = s.files.length === 1 ? first : `${first} and ${s.files.length - 1} more`;
      const del = h("button", { type: "button", class: "btn danger small-btn", text: "Delete", "aria-label": `Delete the share of ${what}` });
      del.addEventListener("click", () => void this.#delete(s.id, s.manage_token, del));
      /** @type {HTMLElement | null} */
      let resume = null;
      if (!s.complete && !this.#uploading) {
        const picker = filePicker({
          label: `Pick the files of ${what} again`,
          onFiles: (files) => void this.#resume(s.id, files),
        });
        resume = h("span", { class: "pick-again" }, [
          picker.input,
          h("button", {
            type: "button",
            class: "btn small-btn",
            text: "Continue uploading",
            "aria-label": `Continue uploading ${what}`,
            title: "Pick the same files again; the upload goes on where it stopped",
            onclick: picker.open,
          }),
        ]);
      }
      return h("li", { class: "mine-row", "data-testid": "my-share", "data-share-id": s.id }, [
        h("div", { class: "mine-main" }, [
          h("a", { href: s.link, class: "mine-name", text: what || "Empty share" }),
          h("p", {
            class: "muted small",
            "data-expires": String(s.expires_at),
            text: `${formatBytes(total)} · ${expiryText(s.expires_at)}${s.complete ? "" : " · not every file finished uploading"}`,
          }),
        ]),
        h("div", { class: "file-actions" }, [resume, del]),
      ]);
    });
    this.#mine.replaceChildren(
      h("h2", { id: "mine-title", class: "card-title small-title", text: "Your shares on this device" }),
      h("ul", { class: "mine-list" }, items),
      h("p", { class: "form-error", role: "alert" }),
    );
  }

  /**
   * Go on with a share whose upload stopped (a reload, a closed tab): the person picks
   * the files again, and each one continues from where the server has it.
   * @param {string} id
   * @param {File[]} files
   */
  async #resume(id, files) {
    const saved = savedShares().find((s) => s.id === id);
    const note = this.#mine.querySelector(".form-error");
    if (!saved || this.#uploading) return;
    const pending = saved.files.filter((f) => !f.done);
    /** @type {UploadRow[]} */
    const rows = [];
    /** @type {string[]} */
    const missing = [];
    for (const entry of saved.files) {
      if (entry.done) {
        rows.push(new UploadRow(null, entry));
        continue;
      }
      const file = files.find((f) => (f.webkitRelativePath || f.name) === entry.name && f.size === entry.size);
      if (!file) {
        missing.push(entry.name);
        continue;
      }
      const row = new UploadRow(file, entry);
      row.url = entry.url ?? null;
      rows.push(row);
    }
    if (missing.length === pending.length) {
      if (note) note.textContent = `Those aren't the files that were left to upload. Pick ${pending.map((f) => f.name).join(", ")}.`;
      return;
    }
    if (note) note.textContent = "";
    this.#share = {
      id: saved.id,
      link: saved.link,
      manage_token: saved.manage_token,
      expires_at: saved.expires_at,
      max_downloads: saved.max_downloads,
      size_limit: 0,
      upload_url: UPLOADS,
      qr_svg: saved.qr_svg ?? "",
      files: saved.files.filter((f) => f.done || !missing.includes(f.name)),
    };
    this.#rows = rows;
    this.#resumed = true;
    this.#renderUploading();
    this.#renderMine();
    await this.#uploadAll();
    if (missing.length && this.#share?.id === id) {
      this.#alert.textContent = `Not uploaded (not picked again): ${missing.join(", ")}.`;
    }
  }

  #renderExpiries() {
    for (const el of Array.from(this.querySelectorAll("[data-testid=share-expiry]"))) {
      el.textContent = expiryText(Number(/** @type {HTMLElement} */ (el).dataset.expires));
    }
  }
}

// -- /s#<token> -------------------------------------------------------------------------------

export class ShareDownloadPage extends HTMLElement {
  #token = "";
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #refresh;
  #card = h("section", { class: "card share-card", "aria-labelledby": "share-title", "aria-busy": "true" });
  #foot = h("p", { class: "entry-foot muted" }, ["Shared with peerlane. ", h("a", { href: "/share", text: "Share files of your own" })]);

  connectedCallback() {
    document.title = "Shared files — peerlane";
    this.#token = decodeURIComponent(location.hash.replace(/^#/, "")).trim();
    this.replaceChildren(
      h("main", { class: "entry share-entry", id: "main" }, [
        brandLink(),
        this.#card,
        this.#foot,
      ]),
    );
    this.#card.replaceChildren(
      h("p", { class: "opening", role: "status" }, [h("span", { class: "spinner", "aria-hidden": "true" }), "Loading the files…"]),
    );
    void this.#load();
  }

  disconnectedCallback() {
    clearTimeout(this.#refresh);
  }

  async #load() {
    if (!this.#token) {
      this.#problem("This link is incomplete", "The part after the # is missing. Check that you copied the whole link.");
      return;
    }
    try {
      const share = await getShare(this.#token);
      if (!this.isConnected) return;
      this.#render(share);
    } catch (err) {
      if (!this.isConnected) return;
      const code = errorCode(err) ?? "";
      const status = errorStatus(err);
      if (code === "share_expired" || status === 410) {
        this.#problem("This link has expired", SHARE_ERRORS.share_expired ?? "", "expired");
      } else if (code === "share_not_found" || status === 404) {
        this.#problem("This link doesn't work", SHARE_ERRORS.share_not_found ?? "", "unknown");
      } else {
        this.#problem("Can't load the files", errorMessage(err), "error", true);
      }
    }
  }

  /**
   * @param {string} title
   * @param {string} text
   * @param {string} [kind]   "expired" | "unknown" | "error" (data-problem, for tests)
   * @param {boolean} [retry]
   */
  #problem(title, text, kind = "unknown", retry = false) {
    document.title = `${title} — peerlane`;
    this.#card.removeAttribute("aria-busy");
    this.#foot.hidden = !retry; // the card's own button says the same
    this.#card.replaceChildren(
      h("div", { class: "stack share-problem", "data-testid": "share-problem", "data-problem": kind }, [
        h("h1", { id: "share-title", class: "card-title", text: title }),
        h("p", { role: "alert", text }),
        h("p", { class: "btn-row" }, [
          retry ? h("button", { type: "button", class: "btn primary", text: "Try again", onclick: () => void this.#load() }) : null,
          h("a", { href: "/share", class: retry ? "btn" : "btn primary", text: "Share files of your own" }),
        ]),
      ]),
    );
  }

  /** @param {ShareView} share */
  #render(share) {
    this.#card.removeAttribute("aria-busy");
    this.#foot.hidden = false;
    const files = share.files;
    const total = files.reduce((n, f) => n + f.size, 0);
    const max = share.max_downloads;
    const title = files.length === 1 && files[0] ? files[0].name : "Files shared with you";
    document.title = `${title} — peerlane`;
    const list = h("ul", { class: "file-list downloads", "aria-label": "Files", "data-testid": "share-files" });
    for (const f of files) {
      const used = f.downloads ?? 0;
      const exhausted = max != null && used >= max;
      // The server's URL on this page's origin: ids only, the cookie brings the secret.
      const href = new URL(f.url, location.href).pathname;
      const action = exhausted
        ? h("span", { class: "file-note warn", text: "Download limit reached" })
        : h(
            "a",
            {
              class: "btn",
              href,
              download: f.name.split("/").pop() || "download",
              "aria-label": `Download ${f.name}`,
              "data-testid": "share-download",
              onclick: () => this.#soon(),
            },
            [icon(ICONS.down), h("span", { class: "dl-text", text: "Download" })],
          );
      list.append(
        h("li", { class: "file-row", "data-testid": "share-file", "data-file-id": f.id, "data-exhausted": exhausted ? "true" : null }, [
          kindIcon(fileKind(f.name, f.type)),
          h("div", { class: "file-main" }, [
            h("div", { class: "file-line" }, [
              h("span", { class: "file-name", text: f.name, title: f.name }),
              h("span", { class: "file-size", text: formatBytes(f.size) }),
            ]),
            max != null && !exhausted
              ? h("p", { class: "muted small file-sub", text: `${max - used} of ${max} ${max === 1 ? "download" : "downloads"} left` })
              : null,
          ]),
          action,
        ]),
      );
    }
    const when = new Date(share.expires_at * 1000);
    this.#card.replaceChildren(
      h("div", { class: "stack" }, [
        h("div", { class: "share-head" }, [
          h("h1", { id: "share-title", class: "card-title", text: files.length === 1 ? "A file was shared with you" : "Files shared with you" }),
          h("p", { class: "muted" }, [
            h("span", { "data-testid": "share-expiry", title: `Expires ${formatFull(when)}`, text: expiryText(share.expires_at) }),
            files.length ? ` · ${files.length} ${files.length === 1 ? "file" : "files"}, ${formatBytes(total)}` : "",
          ]),
        ]),
        files.length
          ? list
          : h("div", { class: "stack" }, [
              h("p", { role: "status", text: "There are no files here yet. The sender may still be uploading them." }),
              h("p", {}, [h("button", { type: "button", class: "btn", text: "Check again", onclick: () => void this.#load() })]),
            ]),
        files.length
          ? h("p", {
              class: "muted small",
              text: "If a download stops, your browser can resume it from its downloads list. Files are sent as attachments and never opened on this site.",
            })
          : null,
      ]),
    );
  }

  /** After a download starts, look again: the counts (and the limit) may have moved. */
  #soon() {
    clearTimeout(this.#refresh);
    this.#refresh = setTimeout(() => {
      const focused = document.activeElement?.getAttribute("aria-label");
      void getShare(this.#token)
        .then((share) => {
          if (!this.isConnected) return;
          this.#render(share);
          if (focused) {
            const again = Array.from(this.querySelectorAll("[aria-label]")).find((el) => el.getAttribute("aria-label") === focused);
            /** @type {HTMLElement | undefined} */ (again)?.focus();
          }
        })
        .catch(() => void this.#load());
    }, 2000);
  }
}

customElements.define("pl-share-page", SharePage);
customElements.define("pl-share-download-page", ShareDownloadPage);
