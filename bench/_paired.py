"""Paired A/B figures that stay readable on a loaded machine: the median of the paired
differences with a bootstrap 95 % interval, per milestone of a run, and a verdict
against a target that says when the interval cannot tell.

Why paired medians: the shared machine's load swings by seconds between runs, so two
variants' p50s taken over different minutes disagree by more than any effect worth
measuring. Runs k of A and B are taken back to back (ABBA), so their difference mostly
cancels the load of that minute; the median of those differences is robust to the
outliers a load spike makes, and the bootstrap interval (resampling the pairs) says how
sure that median is, without assuming the differences are normal (they are not: a
starved run adds a long tail). No third-party imports.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from typing import Any

BOOTSTRAP_RESAMPLES = 4000
BOOTSTRAP_SEED = 15  # fixed: the same pairs always give the same interval


def bootstrap_median_ci(
    diffs: Sequence[float], level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES
) -> tuple[float, float] | None:
    """A percentile-bootstrap interval of the median of ``diffs`` (None for fewer than 3)."""
    if len(diffs) < 3:
        return None
    rng = random.Random(BOOTSTRAP_SEED)
    n = len(diffs)
    medians = sorted(statistics.median(rng.choices(diffs, k=n)) for _ in range(resamples))
    tail = (1 - level) / 2
    low = medians[int(tail * resamples)]
    high = medians[min(resamples - 1, int((1 - tail) * resamples))]
    return low, high


def paired(
    first: Sequence[dict[str, Any]], second: Sequence[dict[str, Any]], key: str
) -> list[float]:
    """first[key] - second[key] for the runs of one pair (the same label), both present."""
    other = {r["label"]: r[key] for r in second if key in r}
    return [r[key] - other[r["label"]] for r in first if key in r and r["label"] in other]


def paired_summary(diffs: Sequence[float]) -> dict[str, Any]:
    """Median, 95 % interval, how many pairs and how many came out positive."""
    ci = bootstrap_median_ci(diffs)
    return {
        "pairs": len(diffs),
        "median": round(statistics.median(diffs), 1) if diffs else None,
        "ci95": [round(ci[0], 1), round(ci[1], 1)] if ci else None,
        "positive": sum(1 for d in diffs if d > 0),
    }


def verdict(summary: dict[str, Any], target: float) -> str:
    """'met' when the whole interval is at or below target, 'not met' when it is all
    above, otherwise 'not readable' (the interval holds the target: more pairs, or a
    quieter machine)."""
    ci = summary.get("ci95")
    if not ci:
        return "not readable"
    if ci[1] <= target:
        return "met"
    if ci[0] > target:
        return "not met"
    return "not readable"


def paired_table(
    names: tuple[str, str],
    first: Sequence[dict[str, Any]],
    second: Sequence[dict[str, Any]],
    rows: Sequence[tuple[str, str]],
) -> tuple[str, dict[str, dict[str, Any]]]:
    """For each (key, label) in rows: the median of each variant, the paired median of
    first - second and its 95 % interval. The text table and the figures by key."""
    figures: dict[str, dict[str, Any]] = {}
    head = ["ms", f"median {names[0]}", f"median {names[1]}", "paired median", "95 % interval"]
    head += ["n", ""]
    table = [head]
    for key, label in rows:
        diffs = paired(first, second, key)
        if not diffs:
            continue
        s = paired_summary(diffs)
        s["p50"] = [
            round(statistics.median([r[key] for r in runs if key in r]), 1)
            for runs in (first, second)
        ]
        figures[key] = s
        ci = s["ci95"]
        table.append(
            [
                key,
                f"{s['p50'][0]:.0f}",
                f"{s['p50'][1]:.0f}",
                f"{s['median']:+.0f}",
                f"{ci[0]:+.0f} … {ci[1]:+.0f}" if ci else "-",
                str(s["pairs"]),
                label,
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(6)]
    lines = []
    for row in table:
        cells = [
            row[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(row[1:6], widths[1:], strict=True)),
        ]
        lines.append("  ".join([*cells, row[6]]).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines), figures
