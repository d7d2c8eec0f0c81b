// Reactions as the message log (chat-log.js) aggregates them; pure. A reaction is a
// message of kind "reaction" whose ref is its target's seq and whose body is an emoji.
// The log keeps them as messages (they are never shown), this index finds a target's
// reactions, and tally() folds them into the target's `reactions`: emoji → participant ids.

/** @typedef {import("./chat-log.js").ChatMessage} ChatMessage */

/** A reaction's body is an emoji: a short string. */
export const MAX_EMOJI_CHARS = 32;

/** The keys (chat-log.js keyOf) of the reactions to each target seq. */
export class ReactionIndex {
  /** @type {Map<number, Set<string>>} */
  #keys = new Map();

  /**
   * @param {number} target  the seq the reaction refers to
   * @param {string} key  the reaction message's key
   */
  add(target, key) {
    let keys = this.#keys.get(target);
    if (!keys) {
      keys = new Set();
      this.#keys.set(target, keys);
    }
    keys.add(key);
  }

  /** @param {number} target @returns {Set<string> | undefined} */
  keysOf(target) {
    return this.#keys.get(target);
  }
}

/**
 * A target's reactions from its reaction messages, given in display order. Toggle
 * semantics: replayed in that order, each reaction flips (participant, emoji) — the first
 * adds it, an identical second one takes it back, a third adds it again. Every client
 * replays the same seq order, so every client ends with the same reactions. Failed
 * reactions and bodies that are not short strings do not count.
 * @param {ChatMessage[]} reactions
 * @returns {Map<string, Set<string>>}
 */
export function tally(reactions) {
  /** @type {Map<string, Set<string>>} */
  const out = new Map();
  for (const r of reactions) {
    if (r.state === "failed" || typeof r.body !== "string" || r.body.length > MAX_EMOJI_CHARS) continue;
    const emoji = r.body;
    const who = out.get(emoji) ?? new Set();
    if (who.has(r.sender)) who.delete(r.sender);
    else who.add(r.sender);
    if (who.size) out.set(emoji, who);
    else out.delete(emoji);
  }
  return out;
}
