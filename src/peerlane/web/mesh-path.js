// Which path a link's data takes, from the connection's stats: the selected ICE candidate
// pair goes through a TURN server when EITHER of its candidates is a "relay" one. Only one
// side may be the one holding the allocation: the other then sees its own host/srflx/prflx
// candidate paired with the peer's relay candidate, and its bytes go through coturn too.
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
  const path = pathOfPair(report.get(pair.localCandidateId), report.get(pair.remoteCandidateId));
  const rttMs = typeof pair.currentRoundTripTime === "number" ? Math.round(pair.currentRoundTripTime * 1000) : null;
  return { path, rttMs };
}

/**
 * "turn" when either end of the pair is a relay candidate, else "direct".
 * @param {Record<string, any> | undefined} local
 * @param {Record<string, any> | undefined} remote
 * @returns {"direct" | "turn"}
 */
export function pathOfPair(local, remote) {
  return local?.candidateType === "relay" || remote?.candidateType === "relay" ? "turn" : "direct";
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
