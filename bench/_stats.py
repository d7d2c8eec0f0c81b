"""What every benchmark measures the same way: CPU time from /proc (of one process, of
its threads, of every process whose command line names something, of a whole process
tree), how busy and loaded the machine is, nearest-rank percentiles, and the order of
A/B runs. Linux only (/proc); no third-party imports, so any bench can use it.

Benchmarks import it as ``from _stats import ...`` (``bench/`` is the script's directory).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")

# ------------------------------------------------------------ CPU of processes ----


def stat_fields(path: str | Path) -> list[str]:
    """The fields of a /proc/…/stat file after the command name (which may hold spaces
    and parentheses): index 1 is the parent pid, 11 and 12 utime and stime (fields 4,
    14 and 15 of stat(5))."""
    return Path(path).read_text().rsplit(")", 1)[1].split()


def cpu_ticks(pid: int, thread: int | None = None) -> int:
    """utime + stime of every thread of ``pid`` (or of one ``thread``), in clock ticks."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = stat_fields(path)
    return int(fields[11]) + int(fields[12])


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """CPU time (user + system) of ``pid``, all its threads (or one ``thread``), so far."""
    return cpu_ticks(pid, thread) / CLK_TCK


def cpu_seconds_matching(marker: str) -> float:
    """CPU time (user + system) of every process whose command line mentions ``marker``
    (e.g. a browser's profile directory: the browser and all its helper processes)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if marker not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                continue
            total += cpu_ticks(int(pid))
        except OSError:
            continue  # a process that just ended
    return total / CLK_TCK


# pid -> (parent pid, CPU ticks of every thread, command line with its NUL separators)
ProcessTable = dict[int, tuple[int, int, str]]


def process_table(cmdline_bytes: int = 4096) -> ProcessTable:
    """Every process visible in /proc: parent, CPU ticks and (the first bytes of) the
    command line. Two tables taken apart give the CPU of children too (see
    :func:`descendants`), which ``cpu_seconds`` of the parent does not count."""
    out: ProcessTable = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = stat_fields(f"/proc/{name}/stat")
            cmd = Path(f"/proc/{name}/cmdline").read_bytes()[:cmdline_bytes]
        except OSError:
            continue
        ticks = int(fields[11]) + int(fields[12])
        out[int(name)] = (int(fields[1]), ticks, cmd.decode(errors="replace"))
    return out


def descendants(table: ProcessTable, roots: set[int] | int) -> set[int]:
    """The processes in ``roots`` and all their descendants in ``table``."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    seen: set[int] = set()
    todo = [roots] if isinstance(roots, int) else list(roots)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(children.get(pid, []))
    return seen


def run_delay(pid: int) -> dict[str, int]:
    """Nanoseconds each thread of ``pid`` spent runnable but waiting for a CPU."""
    delays = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            delays[task.name] = int((task / "schedstat").read_text().split()[1])
        except OSError:
            continue  # a thread that just ended
    return delays


# ------------------------------------------------------------- the machine ----


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies over all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


def busy_percent(before: tuple[int, int], after: tuple[int, int]) -> float:
    """How busy all cores were between two :func:`machine_jiffies` readings, in %."""
    return 100.0 * (after[0] - before[0]) / max(1, after[1] - before[1])


def wait_idle(limit: float, max_busy_pct: float = 10.0, window: float = 5.0) -> float:
    """Wait (up to ``limit`` s) for the machine to be idle; returns its last busy %."""
    deadline = time.monotonic() + limit
    while True:
        before = machine_jiffies()
        time.sleep(window)  # the measuring window itself: busy % is a rate over time
        busy = busy_percent(before, machine_jiffies())
        if busy <= max_busy_pct or time.monotonic() >= deadline:
            return round(busy, 1)


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


# ------------------------------------------------------------------ numbers ----


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of already sorted values (0 if empty)."""
    if not sorted_values:
        return 0.0
    rank = max(0, math.ceil(q / 100 * len(sorted_values)) - 1)
    return float(sorted_values[rank])


def interleave(variants: int, runs: int) -> list[tuple[int, int]]:
    """The order of A/B runs as (variant, its run number). One variant: 0, 1, 2, ...
    Several: in rounds, round k in variant order for even k and in reverse for odd k
    (ABBA ABBA ...), so a drift of the machine's load hits every variant alike."""
    order: list[tuple[int, int]] = []
    for k in range(runs):
        ids = range(variants) if k % 2 == 0 else reversed(range(variants))
        order.extend((v, k) for v in ids)
    return order


def bracketed_ratios(measured: Sequence[float], references: Sequence[float]) -> list[float]:
    """A/B against a reference run on either side: for runs ``ref, A, ref, A, ..., ref``
    the ratio of each ``measured[i]`` to the mean of ``references[i]`` and
    ``references[i + 1]``, so a drift of the machine's load between runs cancels out
    (medians of each side alone would compare runs made under different loads)."""
    return [
        value / ((before + after) / 2)
        for value, before, after in zip(measured, references, references[1:], strict=False)
    ]
