"""connect_time.py's timeline of one run: the marks the page instrumentation took, as
named intervals (the phases), milestones since the navigation start, and the waits
before the room started."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "e2e")]

from _connect_page import (  # type: ignore[import-not-found, unused-ignore]  # noqa: E402
    PHASES,
    RunFailed,
)


def phases(data: dict[str, Any]) -> dict[str, float]:
    """The timeline of one run as named intervals (ms) plus the totals."""
    m = data["marks"]
    api = data["api"]

    def api_end(pred: Any) -> float | None:
        ends = [e["end"] for e in api if pred(e["path"])]
        return min(ends) if ends else None

    join = api_end(lambda p: p == "/api/join")
    sdp_marks = [m.get(k) for k in ("out_offer", "in_answer", "in_offer", "out_answer")]
    sdp_pairs = [(m.get("out_offer"), m.get("in_answer")), (m.get("in_offer"), m.get("out_answer"))]
    exchanged = [max(a, b) for a, b in sdp_pairs if a is not None and b is not None]
    points = {
        "load": m.get("ready"),
        "click": m.get("click", m.get("ready")),  # no click when the page joins at once
        "join": join,
        "start": m.get("ws_create"),
        "welcome": m.get("welcome"),
        "sdp": min(exchanged) if exchanged else None,
        "connect": m.get("dc_open"),
        "report": m.get("open"),
    }
    out: dict[str, float] = {}
    previous = 0.0
    for name, _ in PHASES:
        at = points[name]
        if at is None:
            raise RunFailed(f"no mark for {name}: marks {m}, api {api}, sdp {sdp_marks}")
        out[name] = at - previous
        previous = at
    out["total"] = points["report"]
    out["app"] = out["total"] - out["click"]
    # The same points from the navigation start: paired A/B differences of these say
    # where along the way a difference appears (connect_time --e2e, bench/_paired.py).
    for name, key in MILESTONES:
        out[key] = points[name]
    if m.get("room_set") is not None:  # > 0: the welcome waited for the room page's start
        out["room_after_welcome_ms"] = m["room_set"] - points["welcome"]
    waits = data.get("waits") or {}
    room_set = m.get("room_set", points["report"])
    for kind in ("idb", "crypto"):
        # Calls answered before the room started: what its start may have waited for.
        # Their union (calls overlap), so the figure is time spent waiting, not summed.
        before = sorted((start, end) for _, start, end in waits.get(kind, []) if end <= room_set)
        union, reach = 0.0, float("-inf")
        for start, end in before:
            union += max(0.0, end - max(start, reach))
            reach = max(reach, end)
        out[f"{kind}_before_room_ms"] = union
        out[f"{kind}_calls_before_room"] = len(before)
    # Extra detail, where present.
    room_get = api_end(lambda p: p.startswith("/api/rooms/") and p.count("/") == 3)
    history = api_end(lambda p: p.endswith("/messages"))
    for key, value in (
        ("html_ms", data["html"]),
        ("static_end_ms", data["staticEnd"]),
        ("room_get_ms", room_get),
        ("history_ms", history),
        ("ws_open_ms", m.get("ws_open")),
        ("room_set_ms", m.get("room_set")),
        ("rendered_ms", m.get("rendered")),
        ("ice_connected_ms", m.get("ice_connected")),
        ("dtls_connected_ms", m.get("conn_connected")),
        ("first_local_candidate_ms", m.get("local_candidate")),
    ):
        if value is not None:
            out[key] = value
    return out


# (point of phases(), key of its time since the navigation start)
MILESTONES = (
    ("load", "at_load_ms"),
    ("join", "at_join_ms"),
    ("start", "at_socket_ms"),
    ("welcome", "at_welcome_ms"),
    ("sdp", "at_sdp_ms"),
    ("connect", "at_channel_ms"),
)
