"""Who holds an upload's write lease, and whether that process is known to be dead.

A lease owner is ``w1.<machine>.<pid>.<start>.<random>``: the machine is this kernel's
boot id and PID namespace (two containers, or two boots, never share both), ``start``
is the process's start time in clock ticks since boot (so a reused pid is told apart),
and the random part tells the requests of one process apart.

A crashed server's leases would otherwise block its uploads until they run out. An
instance may release a lease as soon as it can *prove* the holder is gone: same machine,
and no process with that pid and start time exists. Anything it cannot prove (another
machine, no ``/proc``) is left to the lease, which is short and renewed while its
request lives.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from peerlane.core.records import new_id

_PREFIX = "w1"
_PROC = Path("/proc")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _start_ticks(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/<pid>/stat), None if it is gone or
    only a zombie (dead, waiting for its parent to collect its exit status)."""
    stat = _read(_PROC / str(pid) / "stat")
    if stat is None:
        return None
    fields = stat.rpartition(")")[2].split()  # the name in parentheses may hold spaces
    if len(fields) <= 19 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


@functools.cache
def _machine() -> str | None:
    """This kernel boot and PID namespace, as one token; None without /proc."""
    boot = _read(_PROC / "sys" / "kernel" / "random" / "boot_id")
    try:
        namespace = os.readlink(_PROC / "self" / "ns" / "pid")
    except OSError:
        return None
    if boot is None:
        return None
    digits = "".join(ch for ch in namespace if ch.isdigit())
    return f"{boot.replace('-', '')}-{digits}"


@functools.cache
def _this_process() -> str:
    machine, pid = _machine(), os.getpid()
    start = _start_ticks(pid) if machine is not None else None
    if machine is None or start is None:
        return f"{_PREFIX}.unknown.{pid}.0"
    return f"{_PREFIX}.{machine}.{pid}.{start}"


def new_owner() -> str:
    """A lease owner for one request of this process."""
    return f"{_this_process()}.{new_id(8)}"


def process_of(owner: str) -> str:
    """The process part of a lease owner (all the requests of one process share it)."""
    return owner.rpartition(".")[0]


def holder_is_dead(owner: str) -> bool:
    """True only if ``owner``'s process ran on this machine and no longer exists."""
    parts = owner.split(".")
    if len(parts) != 5 or parts[0] != _PREFIX:
        return False
    _, machine, pid, start, _ = parts
    here = _machine()
    if here is None or machine != here or not pid.isdigit():
        return False
    if int(pid) == os.getpid() and start == _start_ticks(os.getpid()):
        return False  # this process: its requests end their leases themselves
    return _start_ticks(int(pid)) != start
