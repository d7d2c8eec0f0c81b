// Durations a page reads from localStorage: tests (and people debugging) shorten the
// client's timeouts and pauses this way without a build step.

/**
 * A duration in ms from localStorage (tests shorten timeouts this way), or null.
 * @param {string} key
 * @returns {number | null}
 */
export function localMs(key) {
  try {
    const value = Number(globalThis.localStorage?.getItem(key));
    return value > 0 ? value : null;
  } catch {
    return null; // storage blocked
  }
}
