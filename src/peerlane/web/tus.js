// A small tus 1.0.0 client for the server's upload endpoint (docs/protocol.md → "Uploads"):
// creation, PATCH in chunks with `Upload-Checksum: sha256 <base64>` (a chunk is then all or
// nothing on the server), resume by asking HEAD for the offset, termination.
//
// Resuming across reloads is the caller's business: it keeps the upload URL (onUrl) and
// passes it back as `url`; an upload the server no longer knows is started over.
//
// Transient failures (network, 5xx, 423 locked, 460 checksum mismatch) are retried with
// growing pauses (1 s → 30 s), asking HEAD for the offset first; after MAX_FAILURES in a
// row without progress, or on a permanent refusal (quota, too large, hash mismatch), the
// upload throws a TusError.

import { sha256, toBase64 } from "./integrity.js";

export const TUS_VERSION = "1.0.0";
export const CHUNK_BYTES = 8 * 1024 * 1024;
const MAX_FAILURES = 8;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

export class TusError extends Error {
  /**
   * @param {number} status  0 when the server could not be reached
   * @param {string} code  the server's error code (docs/protocol.md), or "unavailable"
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.name = "TusError";
    this.status = status;
    this.code = code;
  }

  /** Worth trying again later. */
  get transient() {
    return (
      this.status === 0 || this.status === 423 || this.status === 460 || (this.status >= 500 && this.status !== 507)
    );
  }

  /** The upload URL is dead: a new upload is needed. */
  get gone() {
    return this.status === 404 || this.status === 410;
  }
}

/**
 * @typedef {{
 *   endpoint: string,
 *   metadata: Record<string, string | null | undefined>,
 *   url?: string | null,
 *   onUrl?: (url: string) => void,
 *   onProgress?: (progress: {offset: number, sent: number}) => void,
 *   onRetry?: (error: TusError) => void,
 *   signal?: AbortSignal,
 *   fetch?: typeof fetch,
 *   sleep?: (ms: number, signal?: AbortSignal) => Promise<void>,
 *   chunkBytes?: number,
 * }} UploadOptions
 *   url: an upload URL from an earlier run (resume). onUrl: a new upload URL to keep.
 *   onProgress: offset = bytes the server holds; sent = request body bytes this call put
 *   on the wire (retries included).
 */

/**
 * What tus reads of a file: a Blob, or anything read like one (an encrypted room's
 * sealed file, transfer-e2e.js).
 * @typedef {{size: number, slice(start?: number, end?: number): {arrayBuffer(): Promise<ArrayBuffer>}}} Uploadable
 */

/**
 * Upload a file; resolves once the server holds all of it.
 * @param {Uploadable} file
 * @param {UploadOptions} options
 * @returns {Promise<{url: string, fileId: string}>}
 */
export async function upload(file, options) {
  const ctx = {
    ...options,
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    sleep: options.sleep ?? sleep,
    sent: 0,
  };
  let url = options.url ?? null;
  let offset = url ? await resumeOffset(ctx, url) : null;
  let recreated = false;
  if (url === null || offset === null) {
    url = await retrying(ctx, () => create(ctx, file.size), options);
    offset = 0;
  }
  let failures = 0;
  while (offset < file.size) {
    options.signal?.throwIfAborted();
    try {
      offset = await patch(ctx, url, file, offset);
      failures = 0;
      options.onProgress?.({ offset, sent: ctx.sent });
    } catch (err) {
      if (!(err instanceof TusError)) throw err;
      if (err.gone && !recreated) {
        // Expired or cleaned up under us: once, start over with a new upload.
        recreated = true;
        url = await retrying(ctx, () => create(ctx, file.size), options);
        offset = 0;
        continue;
      }
      if (err.code !== "offset_mismatch") {
        if (!err.transient || ++failures >= MAX_FAILURES) throw err;
        options.onRetry?.(err);
        await ctx.sleep(backoff(failures), options.signal);
      }
      const current = url;
      offset = await retrying(ctx, () => headOffset(ctx, current), options);
    }
  }
  return { url, fileId: fileIdOf(url) };
}

/**
 * Where a kept upload stands; null when the server no longer has it.
 * @param {Ctx} ctx
 * @param {string} url
 * @returns {Promise<number | null>}
 */
async function resumeOffset(ctx, url) {
  try {
    return await retrying(ctx, () => headOffset(ctx, url), ctx);
  } catch (err) {
    if (err instanceof TusError && (err.gone || err.status === 403)) return null;
    throw err;
  }
}

/**
 * Delete an upload (or the finished file) on the server. Errors are the caller's to ignore.
 * @param {string} url
 * @param {{fetch?: typeof fetch}} [options]
 */
export async function terminate(url, options = {}) {
  const f = options.fetch ?? globalThis.fetch.bind(globalThis);
  const response = await send(f, url, { method: "DELETE", headers: { "Tus-Resumable": TUS_VERSION } });
  if (!response.ok && response.status !== 404) throw await errorOf(response);
}

/**
 * `Upload-Metadata`: `key base64(utf-8 value)` pairs, comma separated; empty values left out.
 * @param {Record<string, string | null | undefined>} metadata
 */
export function encodeMetadata(metadata) {
  return Object.entries(metadata)
    .filter(([, v]) => v !== null && v !== undefined && v !== "")
    .map(([k, v]) => `${k} ${toBase64(new TextEncoder().encode(/** @type {string} */ (v)))}`)
    .join(",");
}

/** The file id the server gives an upload: the last segment of its URL. @param {string} url */
export function fileIdOf(url) {
  return new URL(url, globalThis.location?.href ?? "http://localhost/").pathname.split("/").filter(Boolean).pop() ?? "";
}

// ---- requests ---------------------------------------------------------------------------

/** @typedef {UploadOptions & {fetch: typeof fetch, sleep: (ms: number, signal?: AbortSignal) => Promise<void>, sent: number}} Ctx */

/**
 * @param {Ctx} ctx
 * @param {number} length
 * @returns {Promise<string>}  the upload URL
 */
async function create(ctx, length) {
  const response = await send(ctx.fetch, ctx.endpoint, {
    method: "POST",
    headers: {
      "Tus-Resumable": TUS_VERSION,
      "Upload-Length": String(length),
      "Upload-Metadata": encodeMetadata(ctx.metadata),
    },
    signal: ctx.signal,
  });
  const location = response.headers.get("Location");
  if (response.status !== 201 || !location) throw await errorOf(response);
  const url = new URL(location, new URL(ctx.endpoint, globalThis.location?.href ?? "http://localhost/")).href;
  ctx.onUrl?.(url);
  return url;
}

/**
 * @param {Ctx} ctx
 * @param {string} url
 * @returns {Promise<number>}
 */
async function headOffset(ctx, url) {
  const response = await send(ctx.fetch, url, {
    method: "HEAD",
    headers: { "Tus-Resumable": TUS_VERSION },
    signal: ctx.signal,
  });
  const offset = Number(response.headers.get("Upload-Offset"));
  if (!response.ok || !Number.isInteger(offset) || response.headers.get("Upload-Offset") === null)
    throw await errorOf(response);
  return offset;
}

/**
 * Send the chunk at `offset`; returns the server's new offset.
 * @param {Ctx} ctx
 * @param {string} url
 * @param {Uploadable} file
 * @param {number} offset
 * @returns {Promise<number>}
 */
async function patch(ctx, url, file, offset) {
  const chunk = new Uint8Array(await file.slice(offset, offset + (ctx.chunkBytes ?? CHUNK_BYTES)).arrayBuffer());
  const checksum = toBase64(await sha256(chunk));
  ctx.sent += chunk.length;
  const response = await send(ctx.fetch, url, {
    method: "PATCH",
    headers: {
      "Tus-Resumable": TUS_VERSION,
      "Upload-Offset": String(offset),
      "Content-Type": "application/offset+octet-stream",
      "Upload-Checksum": `sha256 ${checksum}`,
    },
    body: chunk,
    signal: ctx.signal,
  });
  const next = Number(response.headers.get("Upload-Offset"));
  if (response.status !== 204 || !Number.isInteger(next)) throw await errorOf(response);
  return next;
}

/**
 * Run `op`, retrying transient failures with backoff.
 * @template T
 * @param {Ctx} ctx
 * @param {() => Promise<T>} op
 * @param {UploadOptions} options
 * @returns {Promise<T>}
 */
async function retrying(ctx, op, options) {
  for (let failures = 1; ; failures++) {
    try {
      return await op();
    } catch (err) {
      if (!(err instanceof TusError) || !err.transient || failures >= MAX_FAILURES) throw err;
      options.onRetry?.(err);
      await ctx.sleep(backoff(failures), options.signal);
    }
  }
}

/**
 * fetch, with "cannot reach the server" as a TusError (abort stays an AbortError).
 * @param {typeof fetch} f
 * @param {string} url
 * @param {RequestInit} init
 * @returns {Promise<Response>}
 */
async function send(f, url, init) {
  try {
    return await f(url, { credentials: "same-origin", cache: "no-store", ...init });
  } catch (err) {
    if (init.signal?.aborted) throw err;
    throw new TusError(0, "unavailable", "Cannot reach the server.");
  }
}

/**
 * @param {Response} response
 * @returns {Promise<TusError>}
 */
async function errorOf(response) {
  let code = `http_${response.status}`;
  let message = `The server refused the upload (${response.status}).`;
  try {
    const body = await response.json();
    if (body?.error?.code) ({ code, message } = body.error);
  } catch {
    // HEAD answers have no body; a proxy's error page is not JSON
  }
  if (response.status === 409 && code === `http_409`) code = "offset_mismatch";
  return new TusError(response.status, code, message);
}

/** @param {number} failures */
function backoff(failures) {
  return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1));
}

/**
 * @param {number} ms
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
