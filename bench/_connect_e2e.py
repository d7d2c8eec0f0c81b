"""connect_time.py --e2e's figures: an encrypted room's link against a plain room's,
paired run by run (ABBA), along the way to the open channel, with bootstrap intervals
(bench/_paired.py), and the verdict on issue #15's target (within +20 ms)."""

from __future__ import annotations

from typing import Any

from _paired import paired_table, verdict  # type: ignore[import-not-found, unused-ignore]

E2E_TARGET_MS = 20.0  # issue #15: an encrypted room's link within +20 ms of a plain one's

# Milestones since the navigation start (bench/_connect_phases.py phases()), in the order a
# run passes them: the first row whose paired median moves away from 0 is where the
# encrypted link's extra time comes in.
ROWS = (
    ("at_load_ms", "page loaded: the join request leaves"),
    ("at_join_ms", "POST /api/join answered (the key is kept, the socket opens)"),
    ("at_socket_ms", "the room's WebSocket created"),
    ("at_welcome_ms", "the socket's welcome"),
    ("room_set_ms", "the room page started the room (took the socket)"),
    ("room_after_welcome_ms", "room started - welcome (> 0: the welcome waited for it)"),
    ("idb_before_room_ms", "IndexedDB requests answered before the room started (their union)"),
    ("crypto_before_room_ms", "WebCrypto calls answered before the room started (their union)"),
    ("at_sdp_ms", "offer and answer exchanged"),
    ("at_channel_ms", "first data channel open"),
    ("total", "the room reports the direct peer (the clock stops)"),
    ("cpu_b", "CPU ms of browser B in the run"),
)


def e2e_report(
    encrypted: list[dict[str, Any]], plain: list[dict[str, Any]]
) -> tuple[dict[str, Any], str]:
    """The JSON part and the text table: per milestone the p50s and the paired median
    (encrypted - plain) with its 95 % interval; the verdict on the total."""
    text, figures = paired_table(("encrypted", "plain"), encrypted, plain, ROWS)
    total = figures.get("total", {"pairs": 0, "median": None, "ci95": None})
    outcome = verdict(total, E2E_TARGET_MS)
    report = {
        "target_ms": E2E_TARGET_MS,
        "paired_median_ms": total["median"],
        "paired_ci95_ms": total["ci95"],
        "pairs": total["pairs"],
        "verdict": outcome,
        "target_met": outcome == "met",
        "milestones": figures,
    }
    ci = total["ci95"]
    line = (
        f"encrypted - plain, {total['pairs']} pairs: paired median "
        + (f"{total['median']:+.0f} ms" if total["median"] is not None else "-")
        + (f", 95 % interval {ci[0]:+.0f} … {ci[1]:+.0f} ms" if ci else "")
        + f"; target <= +{E2E_TARGET_MS:g} ms: {outcome}"
    )
    return report, text + "\n" + line
