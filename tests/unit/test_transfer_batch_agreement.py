"""The browser's reading of batched control messages (web/transfer-batch.js, run in node)
and the terminal's (core/transfer_batch.py) expand the same bodies into the same per-file
messages: what `peerlane send` says, a browser takes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from peerlane.core import transfer_batch as tb

BATCH_JS = Path(__file__).parents[2] / "src" / "peerlane" / "web" / "transfer-batch.js"
R = "ab" * 32
B = "5f" * 16

SCRIPT = """
const m = await import(process.argv[1]);
const bodies = JSON.parse(process.argv[2]);
console.log(JSON.stringify(bodies.map((b) => m.expandBatch(b))));
"""

BODIES: list[Any] = [
    *tb.offers_bodies(
        B,
        [(f"d/f{i}.txt", i * 1000, R, "text/plain" if i % 3 else "") for i in range(300)],
        peer="p1",
        fast={"addrs": ["10.0.0.2:1"], "fp": "cd" * 32},
        max_bytes=4096,
    ),
    *tb.offers_bodies(B, [("a.bin", 5, R, "")], peer=None, to="bob"),
    *tb.offers_bodies(
        B, [("k.bin", 5, R, ""), ("l.txt", 1, R, "text/plain")], peer="p", keys=["K" * 43, "L" * 43]
    ),
    *tb.accepts_bodies([("t1", 0), ("t2", 4)], fast={"cert": "QUJD"}),
    *tb.accepts_bodies([("t3", 0)]),
    *tb.dones_bodies([f"{B}-{i}" for i in range(40)]),
    {"op": "offers", "batch": B, "first": 2, "count": 4, "files": [["a", 1, R], "x", ["b", -1, R]]},
    {"op": "offers", "batch": "bad batch", "first": 0, "count": 1, "files": [["a", 1, R]]},
    {"op": "offers", "batch": B, "first": -1, "count": 1, "files": []},
    {"op": "accepts", "transfers": ["ok", 3, "no way"], "have": {"ok": 2}},
    {"op": "dones", "transfers": "t1"},
    {"op": "offer", "transfer": "t1"},
    "offers",
]


def test_node_and_python_expand_alike() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    result = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT, BATCH_JS.as_uri(), json.dumps(BODIES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    js = json.loads(result.stdout)
    python = [tb.expand(b) for b in BODIES]
    assert sum(len(x or []) for x in python) > 340  # (the list above is not all junk)
    assert js == python


def test_an_encrypted_rooms_batch_carries_each_files_key() -> None:
    # The key F rides as each entry's fifth field (the body is sealed as a whole).
    bodies = tb.offers_bodies(B, [("k.bin", 5, R, ""), ("l", 1, R, "")], peer="p", keys=["K", "L"])
    offers = tb.expand(bodies[0]) or []
    assert [o.get("key") for o in offers] == ["K", "L"]
    assert "key" not in (tb.expand(tb.offers_bodies(B, [("a", 1, R, "")], peer="p")[0]) or [{}])[0]
