// The upload queue of a share: its files go up one at a time (tus, with the share's manage
// token), each one's upload URL and completion remembered as they happen (share-store.js),
// so that a reload can resume where it stopped. No UI here: ui/share-page.js shows an item
// per file and listens to the queue's events.
//
// Events: "change" (an item's state moved; detail: the item) and "progress" (an item's
// server-held byte count moved; detail: the item).

import { ERROR_CODES } from "./protocol.js";
import { bearerFetch, UPLOADS } from "./share-api.js";
import { newKeyText, parseShareFragment, sealedShareUpload } from "./share-e2e.js";
import { updateShare } from "./share-store.js";
import { upload } from "./tus.js";

/** @typedef {import("./share-api.js").CreatedShare} CreatedShare */
/** @typedef {import("./share-store.js").SavedShare} SavedShare */
/** @typedef {import("./share-store.js").SavedFile} SavedFile */
/** @typedef {"queued" | "uploading" | "done" | "failed" | "cancelled"} UploadState */
/** @typedef {"done" | "failed" | "cancelled"} QueueOutcome */

/** Progress moves once per chunk: not too coarse. */
export const CHUNK_BYTES = 4 * 1024 * 1024;

/** Refusals that retrying the same upload cannot get past: they need a new share, or less data. */
const FINAL_CODES = new Set(
  /** @type {string[]} */ ([
    ERROR_CODES.SHARE_EXPIRED,
    ERROR_CODES.SHARE_QUOTA_EXCEEDED,
    ERROR_CODES.FILE_TOO_LARGE,
    ERROR_CODES.STORAGE_QUOTA_EXCEEDED,
  ]),
);

/**
 * @typedef {object} QueueDeps   what the queue talks to (tests pass recording fakes)
 * @property {typeof upload} [upload]
 * @property {(id: string, change: (share: SavedShare) => void) => void} [updateShare]
 * @property {typeof fetch} [fetch]   sends the manage token; bearerFetch by default
 */

/** One file of the share. */
export class UploadItem {
  /** @type {UploadState} */
  state = "queued";
  /** Bytes the server holds. */
  sent = 0;
  /** @type {AbortController | null} */
  abort = null;
  /** @type {string | null} the tus upload URL, once created (or from an earlier run) */
  url = null;
  /** @type {unknown} why the upload stopped ("failed") */
  error = null;
  /** Failed for good: retrying would be refused again. */
  final = false;

  /**
   * @param {Blob & {name?: string, webkitRelativePath?: string} | null} file  null for a
   *   file uploaded before (a resumed share): it is done already
   * @param {{name: string, size: number, type: string, key?: string}} [info]
   *   key: the file's key in an encrypted share (kept, so a resumed upload seals alike)
   */
  constructor(file, info) {
    this.file = file;
    /** @type {string | null} */
    this.key = info?.key ?? null;
    const name = info?.name ?? (file ? file.webkitRelativePath || file.name || "" : "");
    this.info = { name, size: info?.size ?? file?.size ?? 0, type: info?.type ?? file?.type ?? "" };
    if (!file) {
      this.state = "done";
      this.sent = this.info.size;
    }
  }
}

export class UploadQueue extends EventTarget {
  /** @type {Promise<QueueOutcome> | null} */
  #running = null;
  #cancelled = false;
  #upload;
  #updateShare;
  #fetch;

  /**
   * @param {CreatedShare} share
   * @param {UploadItem[]} items
   * @param {QueueDeps} [deps]
   */
  constructor(share, items, deps = {}) {
    super();
    this.share = share;
    this.items = items;
    this.#upload = deps.upload ?? upload;
    this.#updateShare = deps.updateShare ?? updateShare;
    this.#fetch = deps.fetch ?? bearerFetch(share.manage_token);
  }

  get running() {
    return this.#running !== null;
  }

  get cancelled() {
    return this.#cancelled;
  }

  /**
   * Upload every queued item, one at a time. A run already going takes in what is queued
   * meanwhile (a retry): calling run() again returns the same promise.
   * @returns {Promise<QueueOutcome>}
   */
  run() {
    if (this.#cancelled) return Promise.resolve("cancelled");
    this.#running ??= this.#drain().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /**
   * Queue a failed item again and run.
   * @param {UploadItem} item
   */
  retry(item) {
    if (item.state !== "failed" || item.final) return this.run();
    item.state = "queued";
    item.error = null;
    this.#changed(item);
    return this.run();
  }

  /** Stop every upload; what was queued will not start. */
  cancel() {
    this.#cancelled = true;
    for (const item of this.items) {
      item.abort?.abort();
      if (item.state === "queued") {
        item.state = "cancelled";
        this.#changed(item);
      }
    }
  }

  /** @returns {Promise<QueueOutcome>} */
  async #drain() {
    for (;;) {
      if (this.#cancelled) return "cancelled";
      const next = this.items.find((item) => item.state === "queued");
      if (!next) break;
      await this.#uploadOne(next);
    }
    if (this.#cancelled) return "cancelled";
    return this.items.some((item) => item.state === "failed") ? "failed" : "done";
  }

  /** @param {UploadItem} item */
  async #uploadOne(item) {
    const file = item.file;
    if (!file) return;
    const abort = new AbortController();
    item.abort = abort;
    item.state = "uploading";
    item.error = null;
    item.final = false;
    this.#changed(item);
    const { name } = item.info;
    const shareId = this.share.id;
    /** @param {(f: SavedFile) => void} change */
    const remember = (change) =>
      this.#updateShare(shareId, (saved) => {
        const entry = saved.files.find((f) => f.name === name && f.size === file.size && !f.done);
        if (entry) change(entry);
      });
    try {
      const type = file.type || "application/octet-stream";
      const shareKey = parseShareFragment(this.share.link.split("#")[1] ?? "").key;
      let body = /** @type {import("./tus.js").Uploadable} */ (file);
      /** @type {Record<string, string>} */
      let metadata = { share: shareId, name, type };
      if (shareKey) {
        if (!item.key) {
          const key = newKeyText();
          item.key = key;
          remember((f) => (f.key = key)); // before the upload exists: a resume seals alike
        }
        ({ body, metadata } = await sealedShareUpload({ shareId, shareKey, fileKey: item.key, file, name, type }));
      }
      await this.#upload(body, {
        endpoint: UPLOADS,
        metadata,
        fetch: this.#fetch,
        url: item.url,
        chunkBytes: CHUNK_BYTES,
        signal: abort.signal,
        onUrl: (url) => {
          item.url = url;
          remember((f) => (f.url = url));
        },
        onProgress: ({ offset }) => {
          item.sent = Math.min(offset, file.size); // a sealed upload counts its tags too
          this.dispatchEvent(new CustomEvent("progress", { detail: item }));
        },
      });
      item.sent = file.size;
      item.state = "done";
      remember((f) => (f.done = true));
    } catch (err) {
      if (abort.signal.aborted) {
        item.state = "cancelled";
      } else {
        item.state = "failed";
        item.error = err;
        item.final = isFinal(err);
      }
    } finally {
      item.abort = null;
      this.#changed(item);
    }
  }

  /** @param {UploadItem} item */
  #changed(item) {
    this.dispatchEvent(new CustomEvent("change", { detail: item }));
  }
}

/**
 * Would the same upload be refused again? (Over a quota, too large, or the share or the
 * upload is gone.)
 * @param {unknown} err
 */
function isFinal(err) {
  if (!err || typeof err !== "object") return false;
  const { code, status } = /** @type {{code?: unknown, status?: unknown}} */ (err);
  return (typeof code === "string" && FINAL_CODES.has(code)) || status === 404;
}
