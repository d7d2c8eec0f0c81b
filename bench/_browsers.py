"""What the browser benchmarks share: running inside the private network namespace,
and sizes on the command line. (The Chromium binary and its flags come from the e2e
suite's conftest, so benchmarks and tests drive the same browser the same way.)"""

from __future__ import annotations

import os
import sys
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB


def in_namespace(script: str) -> None:
    """Re-run ``script`` inside scripts/netns-run (WebRTC must not leave the machine,
    and ICE then sees exactly one host address), unless already there."""
    if os.environ.get("NETNS_RUN") == "1":
        return
    wrapper = Path(__file__).resolve().parents[1] / "scripts" / "netns-run"
    path = str(Path(script).resolve())
    os.execv(str(wrapper), [str(wrapper), sys.executable, path, *sys.argv[1:]])


def parse_size(text: str) -> int:
    """``100M``, ``64K``, ``1.5G`` or a plain number of bytes (binary multiples)."""
    text = text.strip().upper().removesuffix("B")
    scale = {"K": KIB, "M": MIB, "G": 1024 * MIB}.get(text[-1:], 1)
    return int(float(text.rstrip("KMG")) * scale)
