"""Run every benchmark in bench/ (``make bench``); extra arguments go to each run.

A benchmark is a ``bench/*.py`` script whose name does not start with ``_`` (helpers
such as the baseline server do). Each runs as its own process with the argument sets
listed in ``RUNS`` (default: one run without arguments), plus whatever was given here,
e.g. ``--quick``; a script listed in ``WRAPPERS`` runs under that command (the browser
benchmarks that do not re-run themselves in the private network namespace)::

    python bench/run_all.py            # all (chat_fanout: 200 msg/s for 30 s, then the sweep)
    python bench/run_all.py --quick    # smoke run of each
    python bench/run_all.py --list     # only print the command lines
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS: dict[str, list[list[str]]] = {
    # --e2e: an end-to-end encrypted room side by side with a plain one, in the same run.
    "chat_fanout.py": [["--e2e"], ["--sweep"]],
    "connect_time.py": [[], ["--driver", "cdp"], ["--e2e"]],  # Playwright, without, e2e
    "transfer_browser.py": [[], ["--e2e"]],
    "upload.py": [[], ["--e2e"]],
}
WRAPPERS: dict[str, list[str]] = {
    "connect_time.py": [str(HERE.parent / "scripts" / "netns-run")],
    "e2e_link_cost.py": [str(HERE.parent / "scripts" / "netns-run")],
    "transfer_browser.py": [str(HERE.parent / "scripts" / "netns-run")],
}


def main(extra: list[str]) -> int:
    dry_run = "--list" in extra
    extra = [arg for arg in extra if arg != "--list"]
    scripts = sorted(p for p in HERE.glob("[!_]*.py") if p.name != Path(__file__).name)
    failed = []
    for script in scripts:
        for args in RUNS.get(script.name, [[]]):
            cmd = [*WRAPPERS.get(script.name, []), sys.executable, str(script), *args, *extra]
            print(f"==> {' '.join([script.name, *args, *extra])}", flush=True)
            if dry_run:
                continue
            started = time.monotonic()
            code = subprocess.call(cmd)
            print(f"<== exit {code} after {time.monotonic() - started:.0f} s", flush=True)
            if code != 0:
                failed.append(" ".join([script.name, *args]))
    if failed:
        print("failed (exit code != 0, e.g. a target missed):", *failed, sep="\n  ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
