// The room header's word on end-to-end encryption (docs/security.md, "End-to-end
// encryption"): a lock for an encrypted room, and a plain "Not end-to-end encrypted" for
// a room made before it; an encrypted room whose key this device lacks says so.

import { h } from "./dom.js";

/** @param {{e2e?: {encrypted: boolean, key: unknown} | null}} room */
export function e2eMark(room) {
  const e2e = room.e2e;
  if (!e2e) return null;
  if (!e2e.encrypted) {
    return h("p", {
      class: "e2e-mark plain muted small",
      "data-testid": "e2e-mark",
      "data-e2e": "off",
      text: "Not end-to-end encrypted",
      title: "This room was made before end-to-end encryption: the server can read its messages.",
    });
  }
  const keyless = e2e.key === null;
  return h("p", {
    class: "e2e-mark muted small",
    "data-testid": "e2e-mark",
    "data-e2e": keyless ? "no-key" : "on",
    text: keyless ? "🔒 Encrypted: this device has no key. Open the invite link here." : "🔒 End-to-end encrypted",
    title: keyless
      ? "Messages here are end-to-end encrypted, and this device was not given the room's key."
      : "Messages and the room's name are encrypted in your browser; the server cannot read them.",
  });
}
