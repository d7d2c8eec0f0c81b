"""The short profile of bench/transfer_cli.py's CLI ↔ browser rows (bench/_cli_browser.py):
a cProfile dump's own time summed by component, which the docs quote as what limits the
CLI's data channel, so a function charged to the wrong component would mislead."""

from __future__ import annotations

import cProfile
import hashlib
import sys
from pathlib import Path

from aiortc.rtcsctptransport import tsn_plus_one

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from _cli_browser import by_component


def busy_here() -> int:
    total = 0
    for i in range(50_000):
        total += i % 7
    return total


def test_own_time_is_summed_by_component(tmp_path: Path) -> None:
    profile = cProfile.Profile()
    profile.enable()
    for i in range(20_000):
        tsn_plus_one(i)
    busy_here()
    hashlib.sha256(b"x" * 20_000_000).digest()
    profile.disable()
    dump = tmp_path / "run.prof"
    profile.dump_stats(dump)

    out = by_component(str(dump))

    parts = out["by_component_s"]
    assert "aiortc SCTP" in parts  # tsn_plus_one, defined in aiortc/rtcsctptransport.py
    assert "other" in parts  # busy_here, defined in this test file
    hashing = [k for k in parts if k.startswith("built-ins:") and "sha256" in k]
    assert hashing, parts  # a C function is named by itself, not lumped in with "other"
    assert "peerlane" not in parts
    assert out["peerlane_s"] == 0
    assert abs(sum(parts.values()) - out["total_s"]) < 0.05
    top = out["top_functions_s"]
    assert any("tsn_plus_one" in name for name in top)
    assert any("busy_here" in name for name in top)
    assert list(top.values()) == sorted(top.values(), reverse=True)
