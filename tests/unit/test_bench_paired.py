"""The paired A/B figures of connect_time --e2e (bench/_paired.py): the verdict on
issue #15's +20 ms target rests on this interval, so a wrong one would call a noisy
run met (or not met) when it cannot tell."""

from __future__ import annotations

import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import _paired


def test_pairs_are_matched_by_label_and_skip_missing_keys() -> None:
    first = [{"label": "1", "t": 10.0}, {"label": "2", "t": 30.0}, {"label": "3"}]
    second = [{"label": "2", "t": 5.0}, {"label": "1", "t": 4.0}, {"label": "3", "t": 1.0}]
    assert _paired.paired(first, second, "t") == [6.0, 25.0]


def test_interval_holds_the_median_and_narrows_with_more_pairs() -> None:
    rng = random.Random(1)
    few = [rng.gauss(5, 100) for _ in range(10)]
    many = [rng.gauss(5, 100) for _ in range(400)]
    for diffs in (few, many):
        ci = _paired.bootstrap_median_ci(diffs)
        assert ci is not None
        assert ci[0] <= statistics.median(diffs) <= ci[1]
    few_ci, many_ci = _paired.bootstrap_median_ci(few), _paired.bootstrap_median_ci(many)
    assert few_ci is not None
    assert many_ci is not None
    assert many_ci[1] - many_ci[0] < few_ci[1] - few_ci[0]
    assert many_ci[0] < 5 < many_ci[1]  # the true median, at 400 pairs
    assert _paired.bootstrap_median_ci([1.0, 2.0]) is None  # too few to say


def test_interval_is_the_same_for_the_same_pairs() -> None:
    diffs = [3.0, -40.0, 12.0, 7.0, 250.0, -5.0, 1.0]
    assert _paired.bootstrap_median_ci(diffs) == _paired.bootstrap_median_ci(list(diffs))


def test_verdict_says_not_readable_when_the_interval_holds_the_target() -> None:
    summary = _paired.paired_summary
    assert _paired.verdict(summary([1.0, 2.0, 3.0, 4.0, 5.0]), 20) == "met"
    assert _paired.verdict(summary([40.0, 50.0, 60.0, 45.0, 55.0]), 20) == "not met"
    assert _paired.verdict(summary([-900.0, 5.0, 10.0, 30.0, 900.0]), 20) == "not readable"
    assert _paired.verdict(summary([5.0]), 20) == "not readable"  # no interval


def test_table_reports_each_key_with_its_p50s_and_interval() -> None:
    first = [{"label": str(k), "a": 100.0 + k, "b": 10.0} for k in range(5)]
    second = [{"label": str(k), "a": 90.0 + k, "b": 10.0} for k in range(5)]
    text, figures = _paired.paired_table(
        ("x", "y"), first, second, [("a", "first"), ("b", "second"), ("c", "absent")]
    )
    assert figures["a"]["median"] == 10.0
    assert figures["a"]["ci95"] == [10.0, 10.0]
    assert figures["a"]["p50"] == [102.0, 92.0]
    assert figures["a"]["positive"] == 5
    assert figures["b"]["median"] == 0.0
    assert "c" not in figures
    assert "+10" in text
    assert "absent" not in text
