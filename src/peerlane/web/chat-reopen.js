// Messages shown as the placeholder because their epoch's key was not held yet, opened in
// place once the key comes, without a reload (docs/protocol.md, "Key rotation"): the
// room's crypto (e2e/room-crypto.js) keeps them sealed and opens them again when a key
// with their key id is added; a `keys` frame (a wrap stored for someone) makes it fetch
// this device's wraps at once while any message waits. The opened message takes the
// placeholder's place in the log as if it had just come: with its own kind again (a
// reaction counts, a file offer reaches the transfers, an edit changes its target).

import { fromServer } from "./chat-inbound.js";
import { keyOf } from "./chat-log.js";
import { UNDECRYPTABLE } from "./e2e/room-crypto.js";

/** @typedef {import("./chat.js").ChatRoom} ChatRoom */
/** @typedef {import("./chat-log.js").MessageLog} MessageLog */
/** @typedef {import("./chat-log.js").ChatMessage} ChatMessage */
/** @typedef {import("./protocol.js").MessageMsg} MessageMsg */
/** @typedef {import("./protocol.js").PeerChatMsg} PeerChatMsg */

/**
 * @param {ChatRoom} room
 * @param {MessageLog} log
 */
export function openLateMessages(room, log) {
  const crypto = room.e2e;
  if (!crypto) return;
  crypto.onReopen = (opened) => {
    const held = log.get(opened.sender, opened.id);
    if (held && held.body !== UNDECRYPTABLE) return; // another copy of it opened meanwhile
    if (held) forget(log, held);
    if ("t" in opened)
      log.fromPeer(/** @type {PeerChatMsg} */ (/** @type {unknown} */ (opened)), room.me?.participant_id);
    else fromServer(room, /** @type {MessageMsg} */ (/** @type {unknown} */ (opened)));
  };
  room.addEventListener("keys", () => {
    if (crypto.locked.size) void crypto.fetchKeys();
  });
}

/**
 * Take a placeholder out of the log (its seq too), so its opened self comes in anew.
 * @param {MessageLog} log
 * @param {ChatMessage} m
 */
function forget(log, m) {
  log._byKey.delete(keyOf(m.sender, m.id));
  if (m.seq !== null && log._bySeq.get(m.seq) === m) log._bySeq.delete(m.seq);
  log.touched(m);
}
