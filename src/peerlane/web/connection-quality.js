// How good a peer's connection is, in words a non-engineer understands (issue #11, item 5):
// from the path in use and the round-trip time that getStats reports (mesh-path.js).
// Thresholds: below 150 ms a conversation and a file feel instant; past 400 ms typing
// indicators and small files lag visibly.

export const GOOD_RTT_MS = 150;
export const FAIR_RTT_MS = 400;

const PATH_WORDS = /** @type {Record<string, string>} */ ({
  direct: "direct",
  turn: "through a relay (TURN)",
  server: "through the server",
});

/**
 * @param {string} path  "direct" | "turn" | "server" | "connecting"
 * @param {number | null | undefined} rttMs
 * @returns {{level: "good" | "fair" | "poor", text: string} | null}  null while unknown
 */
export function connectionQuality(path, rttMs) {
  const how = PATH_WORDS[path];
  if (!how || path === "server" || typeof rttMs !== "number") return null;
  const level = rttMs < GOOD_RTT_MS ? "good" : rttMs < FAIR_RTT_MS ? "fair" : "poor";
  return { level, text: `Connection ${level}: ${how}, ${Math.round(rttMs)} ms round trip` };
}
