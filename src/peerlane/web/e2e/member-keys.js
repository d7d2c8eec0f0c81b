// What a member's identity key means to this device (docs/protocol.md, "Safety codes"):
// the first key seen for a member is remembered (trust on first use); the same key again
// is nothing new; another key is a change, shown as a note, and loudly when this person
// had marked the member verified (the verification no longer holds: the new key was
// never compared). Pure functions over plain records; device-identity.js keeps them.

/**
 * @typedef {{key: string, verified: boolean, changed: "" | "changed" | "verified-changed"}} KnownKey
 *   changed: the key differs from the one remembered before ("verified-changed": and that
 *   one had been verified); cleared when the person marks the new key verified or dismisses
 *   the note
 * @typedef {"none" | "new" | "same" | "changed"} KeyState
 */

/**
 * Compare a member's published key with what this device remembers.
 * @param {KnownKey | undefined} known
 * @param {string | null | undefined} published
 * @returns {{state: KeyState, next: KnownKey | null}}  next: what to remember now (null: as it is)
 */
export function reviewKey(known, published) {
  if (!published) return { state: "none", next: null };
  if (!known) return { state: "new", next: { key: published, verified: false, changed: "" } };
  if (known.key === published) return { state: "same", next: null };
  const changed = known.verified || known.changed === "verified-changed" ? "verified-changed" : "changed";
  return { state: "changed", next: { key: published, verified: false, changed } };
}

/** The person compared the safety code and it matched. @param {KnownKey} known @returns {KnownKey} */
export function markVerified(known) {
  return { ...known, verified: true, changed: "" };
}

/** The person has seen the note about a changed key. @param {KnownKey} known @returns {KnownKey} */
export function dismissChange(known) {
  return { ...known, changed: "" };
}

/**
 * Whether a key wrap's sender key is acceptable: the key remembered for that member, or
 * any key for a member this device has not seen yet (it is then remembered).
 * @param {KnownKey | undefined} known
 * @param {string} senderKey
 */
export function trustedSender(known, senderKey) {
  return !known || known.key === senderKey;
}

/** A member's line in the people panel: what to say about their key. @param {KnownKey | undefined} known */
export function keyNote(known) {
  if (!known) return "";
  if (known.changed === "verified-changed") {
    return "Warning: the security key of this verified person changed. Compare the safety code again before trusting them.";
  }
  if (known.changed === "changed") return "Their security key changed (a new device or browser?).";
  return "";
}
