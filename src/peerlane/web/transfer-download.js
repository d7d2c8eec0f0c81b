// The receiver's way through the server: a Range download of the server's copy from the
// first unverified block, fed into the same block verifier as a data channel, resumed
// after a break (backoff 1 s → 30 s). When a direct link to the sender opens meanwhile
// (the machine's "link-opened" → `live.movingTo`), the download ends at the next block
// boundary and the transfer goes on over a data channel from the first unverified block.

import { debug } from "./debug.js";
import { FINAL } from "./transfer-machine.js";

/** @typedef {import("./transfer-incoming.js").IncomingSide} IncomingSide */
/** @typedef {import("./transfer-receive.js").BlockReceiver} BlockReceiver */
/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */
/** @typedef {import("./hlc.js").Clock} Clock */

const MAX_FAILURES = 9;

/** Why a download stopped for good; `code` says it for ui/transfer-text.js. */
export class DownloadError extends Error {
  /** @param {string} code */
  constructor(code) {
    super(code);
    this.code = code;
  }
}

/**
 * Download the server's copy with Range from the first unverified block, retrying.
 * @param {IncomingSide} side
 * @param {TransferRecord} record
 */
export async function downloadFromServer(side, record) {
  const t = side.t;
  const live = t._liveOf(record.id);
  const receiver = /** @type {BlockReceiver} */ (live.receiver);
  const download = new AbortController();
  live.download = download;
  live.linkedAtDownload = new Set(side.linkedSenderPeers(record));
  live.path = "server";
  t.step(record, { type: "download-started" });
  let failures = 0;
  try {
    while (!receiver.complete && !download.signal.aborted && !live.movingTo) {
      const progressed = await downloadOnce(side, record, download.signal);
      failures = progressed ? 0 : failures + 1;
      if (failures > MAX_FAILURES) throw new DownloadError("download-keeps-failing");
      if (!receiver.complete && !live.movingTo)
        await delay(t._clock, Math.min(30_000, t._retryMs * 2 ** failures), download.signal);
    }
  } catch (err) {
    if (!download.signal.aborted && !t._closed) {
      t._fail(
        record,
        err instanceof DownloadError
          ? { code: err.code }
          : { code: "download-failed", detail: err instanceof Error ? err.message : String(err) },
      );
    }
    // Aborted by a retry or a stop (they clear movingTo): over. Aborted for the move
    // (between blocks, nothing in progress lost): go on below.
    if (!download.signal.aborted || !live.movingTo) return;
  } finally {
    // A retry may have started another download meanwhile: that one stays.
    if (live.download === download) live.download = null;
  }
  const movingTo = live.movingTo;
  live.movingTo = null;
  if (download.signal.aborted && !movingTo) return;
  if (receiver.complete) return side.finish(record);
  if (movingTo) return continueOnChannel(side, record, movingTo);
}

/**
 * On the server path, a link to the sender that opened since the download began: the
 * machine moves the transfer to a data channel on it. Not while a channel is tried or
 * the sender's tab said it has no file; not to a link that was already open when the
 * download began (a stalled channel's: the server copy was chosen over it), unless
 * that link went and came back.
 * @param {IncomingSide} side
 * @param {TransferRecord} record
 */
export function moveIfLinked(side, record) {
  const t = side.t;
  const live = t._liveOf(record.id);
  if (!live.download || live.movingTo || live.channel || live.noFileUntil > t._clock.now()) return;
  const linked = side.linkedSenderPeers(record);
  for (const peerId of live.linkedAtDownload) if (!linked.includes(peerId)) live.linkedAtDownload.delete(peerId);
  const peerId = side._senderPeer(record, live.linkedAtDownload);
  if (peerId) t.step(record, { type: "link-opened", peerId });
}

/**
 * The machine's "move-to-channel": end the download at a block boundary, then go on
 * over a data channel to `peerId`. Between blocks (none in progress: between reads or
 * in a backoff wait) the download stops at once; else after the block in progress.
 * @param {IncomingSide} side
 * @param {TransferRecord} record
 * @param {string} peerId
 */
export function moveToChannel(side, record, peerId) {
  const live = side.t._liveOf(record.id);
  if (!live.download || !live.receiver) return;
  live.movingTo = peerId;
  if (live.receiver.partial.size === 0) live.download.abort();
}

/**
 * The download stopped at a block boundary for a direct link: ask the sender over a
 * channel for the blocks still missing (`want {from}`). If that fails (no channel, the
 * sender's tab has no file) the channel's close brings the transfer back to the server.
 * @param {IncomingSide} side
 * @param {TransferRecord} record
 * @param {string} peerId
 */
async function continueOnChannel(side, record, peerId) {
  const live = side.t._liveOf(record.id);
  if (FINAL.includes(record.state) || live.channel || live.download || !live.receiver) return;
  live.receiver.dropPartial();
  await side.checkpoints.now(record);
  if (live.channel || live.download || FINAL.includes(record.state)) return; // something else took over meanwhile
  side._openChannel(record, peerId);
}

/**
 * One ranged GET, fed into the receiver until it ends or a block fails.
 * @param {IncomingSide} side
 * @param {TransferRecord} record
 * @param {AbortSignal} signal
 * @returns {Promise<boolean>}  whether any block was verified
 */
async function downloadOnce(side, record, signal) {
  const t = side.t;
  const live = t._liveOf(record.id);
  const receiver = /** @type {BlockReceiver} */ (live.receiver);
  const before = receiver.verifiedCount;
  const start = receiver.have * receiver.wireBlockSize;
  // The plaintext root names the file: an encrypted transfer's never goes to the server.
  /** @type {Record<string, string>} */
  const headers = { Range: `bytes=${start}-` };
  if (!receiver.fileKey) headers["If-Range"] = `"${record.root}"`;
  let response;
  try {
    response = await t._fetch(
      `/api/rooms/${encodeURIComponent(t.room.id)}/files/${encodeURIComponent(/** @type {string} */ (record.fileId))}`,
      {
        headers,
        credentials: "same-origin",
        cache: "no-store",
        signal,
      },
    );
  } catch (err) {
    if (signal.aborted) throw err;
    t._setNote(live, { code: "server-unreachable" });
    return false;
  }
  if (response.status === 404 || response.status === 410) throw new DownloadError("server-copy-gone");
  if (!response.ok || !response.body) {
    t._setNote(live, { code: "server-status", status: response.status });
    return false;
  }
  const from = response.status === 206 ? start : 0;
  await ingestStream(side, record, response.body, from, signal).catch((err) => {
    if (signal.aborted) throw err;
    debug("transfer", "download interrupted", err);
  });
  receiver.dropPartial();
  await side.checkpoints.now(record);
  return receiver.verifiedCount > before;
}

/**
 * @param {IncomingSide} side
 * @param {TransferRecord} record
 * @param {ReadableStream<Uint8Array>} body
 * @param {number} position  file offset of the first byte
 * @param {AbortSignal} signal
 */
async function ingestStream(side, record, body, position, signal) {
  const t = side.t;
  const live = t._liveOf(record.id);
  const receiver = /** @type {BlockReceiver} */ (live.receiver);
  const reader = body.getReader();
  signal.addEventListener("abort", () => void reader.cancel().catch(() => {}), { once: true });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    live.bytesReceived += value.length;
    t._sample(live, live.bytesReceived);
    for (let at = 0; at < value.length; ) {
      // Positions in the copy as stored: sealed blocks (with their tags) when encrypted.
      const block = Math.floor(position / receiver.wireBlockSize);
      const offset = position % receiver.wireBlockSize;
      const take = Math.min(value.length - at, receiver.wireLength(block) - offset);
      if (take <= 0) return; // past the end: a server sending more than the file
      const result = await receiver.ingest(block, offset, value.subarray(at, at + take));
      if (result.kind === "bad") {
        live.blocksBad += 1;
        void reader.cancel().catch(() => {});
        return;
      }
      await side.afterIngest(record, result, () => {});
      if (receiver.complete) return;
      if (live.movingTo && result.kind === "verified") {
        void reader.cancel().catch(() => {});
        return; // a block boundary: the data channel takes over from here
      }
      at += take;
      position += take;
    }
  }
}

/**
 * @param {Clock} clock
 * @param {number} ms
 * @param {AbortSignal} signal
 * @returns {Promise<void>}
 */
export function delay(clock, ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason); // "abort" will not come again
    const timer = clock.setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clock.clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
