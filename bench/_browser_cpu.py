"""CPU time of the two browsers of a transfer bench, per process type and thread name,
read from /proc over a timed interval (bench/transfer_browser.py, _cli_browser.py)."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

from _stats import CLK_TCK, descendants, process_table


def browser_threads(profile: Path) -> dict[str, float]:
    """CPU seconds (user + system) per "process type/thread name" of the Chromium whose
    profile is ``profile`` (the browser process and all its descendants)."""
    procs = process_table(cmdline_bytes=1 << 20)
    roots = {pid for pid, (_, _, cmd) in procs.items() if f"--user-data-dir={profile}" in cmd}
    roots = {pid for pid in roots if procs[pid][0] not in roots}
    out: dict[str, float] = defaultdict(float)
    for pid in descendants(procs, roots):
        cmd = procs[pid][2].replace("\0", " ")
        kind = "browser"
        for part in cmd.split():
            if part.startswith("--type="):
                kind = part.removeprefix("--type=")
                if "--utility-sub-type=" in cmd:
                    kind = cmd.split("--utility-sub-type=")[1].split()[0].rsplit(".", 1)[-1]
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            name = name.rstrip("0123456789") or name  # ThreadPoolForeg3 -> ThreadPoolForeg
            fields = stat.rsplit(")", 1)[1].split()
            out[f"{kind}/{name}"] += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return dict(out)


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    keys = set(before) | set(after)
    diff = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in keys}
    return {k: round(v, 2) for k, v in sorted(diff.items(), key=lambda kv: -kv[1]) if v >= 0.05}


class CpuMeter:
    def __init__(self, profiles: dict[str, Path]) -> None:
        self.profiles = profiles

    def snapshot(self) -> dict[str, dict[str, float]]:
        return {name: browser_threads(path) for name, path in self.profiles.items()}

    def since(self, before: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        now = self.snapshot()
        return {name: cpu_delta(before[name], now[name]) for name in self.profiles}
