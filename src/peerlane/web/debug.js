// Opt-in diagnostics: `localStorage.peerlaneDebug = "1"` in the console, then reload.
// Silent otherwise, so the console stays clean for people who did not ask.

/** @returns {boolean} */
function enabled() {
  try {
    return Boolean(globalThis.localStorage?.getItem("peerlaneDebug"));
  } catch {
    return false; // storage can be blocked (sandboxed frames, strict privacy settings)
  }
}

/**
 * @param {string} scope  which module speaks, e.g. "signaling"
 * @param {...unknown} args
 */
export function debug(scope, ...args) {
  if (enabled()) console.debug(`[peerlane:${scope}]`, ...args);
}
