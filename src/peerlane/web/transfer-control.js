// The file-transfer engine's control messages (transfer.js): chat messages of kind
// "file" (docs/file-transfer.md), each a step of one transfer ({op, transfer, …}). Going
// out, through the room (persisted by the server, so they reach everyone); coming in,
// each routed to the side that runs that transfer:
//
//   op       from             to
//   offer    anyone           incoming side: a new transfer (or the same offer again)
//   other    a receiver       outgoing side (our own offer)
//   other    its sender       incoming side
//
// Several files' messages may come in one (transfer-batch.js); an op this client does
// not know (a newer client's) is left alone.

import { debug } from "./debug.js";
import { FILE_OPS } from "./protocol.js";
import { expandBatch } from "./transfer-batch.js";
import { validId } from "./transfer-records.js";

/** @typedef {import("./transfer.js").Transfers} Transfers */
/** @typedef {import("./transfer-records.js").TransferRecord} TransferRecord */

/**
 * Send a control message about a transfer (a failure to is logged: the steps that need
 * the peer's answer time out and say so).
 * @param {Transfers} t
 * @param {TransferRecord} record
 * @param {Record<string, unknown>} body
 */
export function sendControl(t, record, body) {
  try {
    t.room.sendFileMessage({ ...body, transfer: record.id });
  } catch (err) {
    debug("transfer", "control message not sent", body.op, err);
  }
}

/**
 * A chat message of kind "file" (history, live, or from a peer), each once.
 * @param {Transfers} t
 * @param {{sender: string, sender_name: string, body: unknown}} msg
 */
export function onFileMessage(t, msg) {
  const batched = expandBatch(msg.body); // many files in one message (transfer-batch.js)
  if (batched) {
    for (const body of batched) onFileMessage(t, { ...msg, body });
    return;
  }
  const me = t.room.me?.participant_id;
  const body = /** @type {Record<string, unknown>} */ (msg.body);
  if (!me || msg.sender === me || !body || typeof body !== "object" || !validId(body.transfer)) return;
  if (!FILE_OPS.includes(/** @type {string} */ (body.op))) return; // a newer client's op
  t._names.set(msg.sender, msg.sender_name);
  const id = /** @type {string} */ (body.transfer);
  const record = t._records.get(id);
  if (body.op === "offer" && record?.direction === "in" && msg.sender === record.sender)
    return t._in.offeredAgain(record, body);
  if (body.op === "offer") return record ? undefined : t._in.offered(msg, id, body, me);
  if (!record || record.dismissed) return;
  if (record.direction === "out") return t._out.fromReceiver(record, msg.sender, body);
  if (msg.sender === record.sender) t._in.fromSender(record, body);
}
