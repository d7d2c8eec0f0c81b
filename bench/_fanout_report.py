"""chat_fanout.py's verdicts and output: the target check, the table, the sweep's
crossing rate, and the ratios to the baseline."""

from __future__ import annotations

import statistics
from typing import Any


def passed(run: dict[str, Any], target_ms: float) -> bool:
    return run["lost"] == 0 and run["gaps"] == 0 and run["p99_ms"] <= target_ms


COLUMNS = (
    ("server", "server", "{}"),
    ("rate", "msg/s", "{:g}"),
    ("sent", "sent", "{}"),
    ("delivered", "delivered", "{}"),
    ("lost", "lost", "{}"),
    ("gaps", "gaps", "{}"),
    ("p50_ms", "p50 ms", "{:.1f}"),
    ("p99_ms", "p99 ms", "{:.1f}"),
    ("max_ms", "max ms", "{:.1f}"),
    ("ack_p99_ms", "ack p99", "{:.1f}"),
    ("send_lag_p99_ms", "lag p99", "{:.1f}"),
    ("server_cpu_pct", "server %", "{:.0f}"),
    ("server_loop_cpu_pct", "loop %", "{:.0f}"),
    ("server_cpu_us_per_msg", "srv us/msg", "{}"),
    ("server_wait_pct", "srv wait %", "{:.0f}"),
    ("gen_cpu_pct", "gen %", "{:.0f}"),
    ("machine_busy_pct", "busy %", "{:.0f}"),
    ("other_cpu_pct", "other %", "{:.0f}"),
)


def table(runs: list[dict[str, Any]]) -> str:
    rows = [[title for _, title, _ in COLUMNS]]
    rows += [[fmt.format(run[key]) for key, _, fmt in COLUMNS] for run in runs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def crossing(runs: list[dict[str, Any]], target_ms: float) -> dict[str, Any]:
    """The highest rate that passed and the first that failed, in sweep order."""
    best, failed = None, None
    for run in runs:
        if passed(run, target_ms):
            best = run["rate"]
        else:
            failed = run["rate"]
            break
    return {"max_passing_rate": best, "first_failing_rate": failed}


def ratios(
    runs: list[dict[str, Any]], sweep: dict[str, Any] | None, is_sweep: bool
) -> dict[str, float | None]:
    """Each peerlane relative to the baseline of the same round and rate: p99 and CPU
    per message (the median over the rounds), and with the sweep the highest passing
    rate. Keys are prefixed with the label when it is not plain "peerlane"."""
    out: dict[str, float | None] = {}
    baseline = {(r["round"], r["rate"]): r for r in runs if r["kind"] == "baseline"}
    found: dict[str, list[float]] = {}
    for run in runs:
        other = baseline.get((run["round"], run["rate"]))
        if run["kind"] != "peerlane" or other is None:
            continue
        prefix = "" if run["server"] == "peerlane" else f"{run['server']} "
        rate = f"@{run['rate']:g}"
        if other["p99_ms"] > 0:
            found.setdefault(f"{prefix}p99_vs_baseline{rate}", []).append(
                run["p99_ms"] / other["p99_ms"]
            )
        if other["server_cpu_us_per_msg"] > 0:
            found.setdefault(f"{prefix}cpu_per_msg_vs_baseline{rate}", []).append(
                run["server_cpu_us_per_msg"] / other["server_cpu_us_per_msg"]
            )
    out |= {key: round(statistics.median(values), 2) for key, values in found.items()}
    if is_sweep and sweep and "baseline" in sweep:
        theirs = sweep["baseline"]["max_passing_rate"]
        for label, cross in sweep.items():
            if label == "baseline":
                continue
            prefix = "" if label == "peerlane" else f"{label} "
            mine = cross["max_passing_rate"]
            out[f"{prefix}max_rate_vs_baseline"] = (
                round(mine / theirs, 2) if mine and theirs else None
            )
    return out
