// The shares this browser made, remembered in localStorage with their manage tokens (what
// deletes a share) and how far each file's upload got (to resume it after a reload). No
// UI here: ui/share-page.js lists them under "Your shares on this device".

/**
 * @typedef {object} SavedShare      what this browser remembers of a share it made
 * @property {string} id
 * @property {string} link
 * @property {string} manage_token
 * @property {number} expires_at     seconds since the epoch
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
 * @property {string} [key]          the file's key F in an encrypted share (its link has S)
 */

/** @typedef {import("./share-api.js").CreatedShare} CreatedShare */

const SHARES_KEY = "peerlane.shares";

/** @returns {SavedShare[]} */
export function savedShares() {
  try {
    const raw = JSON.parse(localStorage.getItem(SHARES_KEY) ?? "[]");
    return Array.isArray(raw)
      ? raw.filter((s) => s && typeof s.id === "string" && typeof s.manage_token === "string")
      : [];
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
export function saveShare(share) {
  storeShares([share, ...savedShares().filter((s) => s.id !== share.id)]);
}

/**
 * Change one remembered share in place.
 * @param {string} id
 * @param {(share: SavedShare) => void} change
 */
export function updateShare(id, change) {
  const list = savedShares();
  const share = list.find((s) => s.id === id);
  if (!share) return;
  change(share);
  storeShares(list);
}

/** @param {string} id */
export function forgetShare(id) {
  storeShares(savedShares().filter((s) => s.id !== id));
}

/**
 * Every file of the share is up: remember it as complete (or, if it was not remembered,
 * remember it now, with the link as this page shows it).
 * @param {CreatedShare} share
 * @param {string} link
 */
export function finishShare(share, link) {
  const saved = savedShares().find((s) => s.id === share.id) ?? {
    id: share.id,
    link,
    manage_token: share.manage_token,
    expires_at: share.expires_at,
    max_downloads: share.max_downloads,
    created_at: Date.now() / 1000,
    files: [],
    complete: false,
  };
  saveShare({ ...saved, complete: saved.files.every((f) => f.done) });
}
