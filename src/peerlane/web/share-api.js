// The share API (docs/protocol.md -> "Shares"): create a share, open one with the secret
// of its link, delete one with its manage token. The bearer-authenticated calls are not
// in api.js: it speaks cookies. No UI here: ui/share-page.js and ui/share-download-page.js
// use it.

import { ApiError, request } from "./api.js";

/** Where the files of a share are uploaded (tus, with the share's manage token). */
export const UPLOADS = "/api/files/uploads";

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
 * @property {string | null} [sealed]   an encrypted share's file: its metadata, sealed
 *
 * @typedef {object} ShareView       POST /api/shares/open {token}
 * @property {string} id
 * @property {number} expires_at
 * @property {number | null} max_downloads
 * @property {number} size_limit
 * @property {SharedFile[]} files
 */

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
export function localLink(link) {
  try {
    const url = new URL(link, location.href);
    return `${location.origin}${url.pathname}${url.hash}`;
  } catch {
    return link;
  }
}

/**
 * A fetch that sends the share's manage token (the tus client speaks cookies).
 * @param {string} token
 * @returns {typeof fetch}
 */
export function bearerFetch(token) {
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${token}`);
    return fetch(input, { ...init, headers, credentials: "omit" });
  };
}
