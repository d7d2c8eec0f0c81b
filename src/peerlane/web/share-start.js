// Starting a share's upload (ui/share-page.js is the page): a new share (its key drawn,
// made on the server, remembered in this browser before any byte goes up), or one whose
// upload stopped (a reload, a closed tab), its files picked again and matched to the
// ones left, each to continue from where the server has it. No UI here.

import { createShare, localLink, UPLOADS } from "./share-api.js";
import { newShareKey, sharedBytes, withShareKey } from "./share-e2e.js";
import { saveShare } from "./share-store.js";
import { UploadItem } from "./share-uploads.js";

/** @typedef {import("./share-api.js").CreatedShare} CreatedShare */
/** @typedef {import("./share-store.js").SavedShare} SavedShare */
/** @typedef {import("./share-store.js").SavedFile} SavedFile */
/** @typedef {CreatedShare & {files: SavedFile[]}} StartedShare  a share and the files it holds */

/**
 * Make a share for these files and remember it here. Throws ApiError when the server
 * refuses it.
 * @param {File[]} files
 * @param {number} ttl  seconds
 * @param {number | null} maxDownloads
 * @returns {Promise<{share: StartedShare, items: UploadItem[]}>}
 */
export async function newShare(files, ttl, maxDownloads) {
  const key = newShareKey();
  const size = sharedBytes(files, key);
  const created = await createShare({ ttl, ...(maxDownloads ? { max_downloads: maxDownloads } : {}), size });
  const fileInfo = files.map((f) => ({ name: f.webkitRelativePath || f.name, size: f.size, type: f.type }));
  const share = { ...created, link: withShareKey(localLink(created.link), key), files: fileInfo };
  saveShare({
    id: created.id,
    link: share.link,
    manage_token: created.manage_token,
    expires_at: created.expires_at,
    max_downloads: created.max_downloads,
    created_at: Date.now() / 1000,
    files: fileInfo,
    complete: false,
    qr_svg: created.qr_svg,
  });
  return { share, items: files.map((f) => new UploadItem(f)) };
}

/**
 * A stopped share with the files picked again: the finished ones as they are, each one
 * left matched by name (its folder path) and size and continued at its upload URL.
 * @param {SavedShare} saved
 * @param {File[]} files
 * @returns {{share: StartedShare, items: UploadItem[], missing: string[]} | null}
 *   missing: the names left that were not picked again; null: none of them was
 */
export function resumeShare(saved, files) {
  const pending = saved.files.filter((f) => !f.done);
  /** @type {UploadItem[]} */
  const items = [];
  /** @type {string[]} */
  const missing = [];
  for (const entry of saved.files) {
    if (entry.done) {
      items.push(new UploadItem(null, entry));
      continue;
    }
    const file = files.find((f) => (f.webkitRelativePath || f.name) === entry.name && f.size === entry.size);
    if (!file) {
      missing.push(entry.name);
      continue;
    }
    const item = new UploadItem(file, entry);
    item.url = entry.url ?? null;
    items.push(item);
  }
  if (missing.length === pending.length) return null;
  const share = {
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
  return { share, items, missing };
}
