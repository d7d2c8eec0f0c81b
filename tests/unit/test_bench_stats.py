"""The benchmarks' shared measurements (bench/_stats.py): the numbers every bench reports
are computed here, so a wrong percentile or A/B order would skew all of them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import _stats
from support import wait_until


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert _stats.percentile(values, 50) == 50.0
    assert _stats.percentile(values, 99) == 99.0
    assert _stats.percentile(values, 100) == 100.0
    assert _stats.percentile(values, 0) == 1.0
    assert _stats.percentile([7.0], 99) == 7.0
    assert _stats.percentile([], 50) == 0.0


def test_interleave_alternates_the_variants_abba() -> None:
    assert _stats.interleave(1, 3) == [(0, 0), (0, 1), (0, 2)]
    order = _stats.interleave(2, 4)
    assert [v for v, _ in order] == [0, 1, 1, 0, 0, 1, 1, 0]
    assert [k for _, k in order] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_bracketed_ratios_compare_each_run_with_its_neighbours() -> None:
    # ref 100, A 90, ref 80, A 60, ref 40: A against 90 and 60.
    assert _stats.bracketed_ratios([90.0, 60.0], [100.0, 80.0, 40.0]) == [1.0, 1.0]
    assert _stats.bracketed_ratios([45.0], [100.0, 80.0]) == [0.5]
    assert _stats.bracketed_ratios([1.0, 2.0], [1.0]) == []  # no reference after it


def test_busy_percent_of_two_readings() -> None:
    assert _stats.busy_percent((100, 1000), (150, 1100)) == 50.0
    assert _stats.busy_percent((100, 1000), (100, 1000)) == 0.0  # no time passed
    busy, total = _stats.machine_jiffies()
    assert 0 <= busy <= total


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_cpu_time_of_a_process_its_threads_and_its_children() -> None:
    before = _stats.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # burn CPU on this thread
        pass
    spent = _stats.cpu_seconds(os.getpid()) - before
    assert spent >= 0.2
    assert _stats.cpu_seconds(os.getpid(), os.getpid()) >= spent  # the main thread did it

    # A child that burns 0.3 s of CPU, then waits for its stdin to close.
    marker = f"peerlane-stats-test-{os.getpid()}"
    code = (
        "import sys, time\n"
        "end = time.process_time() + 0.3\n"
        "while time.process_time() < end: pass\n"
        "sys.stdin.read()\n"
    )
    with subprocess.Popen([sys.executable, "-c", code, marker], stdin=subprocess.PIPE) as child:
        assert child.stdin is not None
        table = _stats.process_table()
        assert child.pid in _stats.descendants(table, os.getpid())
        assert table[child.pid][0] == os.getpid()
        assert marker in table[child.pid][2]
        wait_until(lambda: _stats.cpu_seconds_matching(marker) >= 0.25, what="child's CPU")
        child.stdin.close()
    assert _stats.cpu_seconds_matching(marker) == 0.0  # gone with its process
