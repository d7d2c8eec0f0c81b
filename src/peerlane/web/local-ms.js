// Durations a page reads from localStorage: tests (and people debugging) shorten the
// client's timeouts and pauses this way without a build step.

/**
 * A duration in ms from localStorage (tests shorten timeouts this way), or null.
 * @param {string} key
 * @returns {number | null}
 */
export function localMs(key) {
  const value = localNumber(key);
  return value !== null && value > 0 ? value : null;
}

/**
 * A count (0 or more) from localStorage, or null.
 * @param {string} key
 * @returns {number | null}
 */
export function localCount(key) {
  const value = localNumber(key);
  return value !== null && Number.isInteger(value) && value >= 0 ? value : null;
}

/** @param {string} key @returns {number | null} */
function localNumber(key) {
  try {
    const text = globalThis.localStorage?.getItem(key);
    return text ? Number(text) : null;
  } catch {
    return null; // storage blocked
  }
}
