// Which path a link's data takes, from the connection's stats: the selected ICE candidate
// pair, whose local candidate is a "relay" one when the data goes through a TURN server.
// (The connectivity work, issue #11, extends this: path choice lives here, apart from
// the restart policy in mesh-restart.js.)

/** @typedef {import("./mesh-link.js").Link} Link */

/**
 * The link's path and round-trip time now, or null when no pair is selected yet.
 * @param {Link} link
 * @returns {Promise<{path: "direct" | "turn", rttMs: number | null} | null>}
 */
export async function readPath(link) {
  let report;
  try {
    report = await link.pc.getStats();
  } catch {
    return null;
  }
  const pair = selectedPair(report);
  if (!pair) return null;
  const local = report.get(pair.localCandidateId);
  const path = local?.candidateType === "relay" ? "turn" : "direct";
  const rttMs = typeof pair.currentRoundTripTime === "number" ? Math.round(pair.currentRoundTripTime * 1000) : null;
  return { path, rttMs };
}

/**
 * @param {RTCStatsReport} report
 * @returns {Record<string, any> | null}
 */
function selectedPair(report) {
  /** @type {Record<string, any> | null} */
  let nominated = null;
  for (const stat of report.values()) {
    if (stat.type === "transport" && stat.selectedCandidatePairId) {
      const pair = report.get(stat.selectedCandidatePairId);
      if (pair) return pair;
    }
    if (stat.type === "candidate-pair" && stat.nominated && stat.state === "succeeded") nominated ??= stat;
  }
  return nominated;
}
