// The sending side's way through the server: the fallback upload of a transfer's file with
// tus (once per transfer; resumed at its URL after a break or a reload), then "uploaded"
// for the receivers. An encrypted room's file goes up as its sealed blocks, with nothing
// about it but where it goes (transfer-e2e.js uploadOf).

import { uploadOf } from "./transfer-e2e.js";
import { detailOf } from "./transfer-live.js";
import { FINAL } from "./transfer-machine.js";
import { TusError } from "./tus.js";

/** @typedef {import("./transfer.js").Transfers} Transfers */
/** @typedef {import("./transfer-live.js").Live} Live */
/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */

/**
 * @param {Transfers} t
 * @param {TransferRecord} record
 */
export async function uploadToServer(t, record) {
  const live = t._liveOf(record.id);
  if (live.upload || record.fileId || !live.file || FINAL.includes(record.state)) return;
  const controller = new AbortController();
  live.upload = controller;
  live.uploadSent = 0; // tus counts the bytes of each upload() call from 0
  live.note = { code: "via-server" };
  if (!live.sessions.size) live.path = "server";
  t._changed();
  try {
    const { body, metadata } = uploadOf(record, live.file);
    const { fileId } = await t._upload(body, {
      endpoint: `/api/rooms/${encodeURIComponent(t.room.id)}/uploads`,
      metadata,
      url: record.uploadUrl,
      onUrl: (url) => {
        record.uploadUrl = url;
        t._save(record);
      },
      onProgress: ({ offset, sent }) => uploadProgress(t, live, offset, sent),
      onRetry: () => t._setNote(live, { code: "server-unreachable" }),
      signal: controller.signal,
      fetch: t._fetch,
    });
    t.step(record, { type: "uploaded", fileId });
  } catch (err) {
    if (controller.signal.aborted || t._closed) return;
    const detail = err instanceof TusError ? err.message : detailOf(err);
    // Receivers still served directly keep going; otherwise there is no way left.
    if (!live.sessions.size) t._fail(record, { code: "upload-failed", detail });
  } finally {
    // A retry may have started another upload meanwhile: that one stays.
    if (live.upload === controller) live.upload = null;
  }
}

/**
 * @param {Transfers} t
 * @param {Live} live
 * @param {number} offset
 * @param {number} sent
 */
function uploadProgress(t, live, offset, sent) {
  live.bytesSent += sent - live.uploadSent;
  live.uploadSent = sent;
  live.uploadOffset = offset;
  live.note = { code: "via-server" };
  t._sample(live, live.bytesSent);
  t._changed();
}
