"""Lease owners name their process; only a process of this machine that is gone is
"known dead" (anything unprovable is left to the lease running out)."""

from __future__ import annotations

import os
import subprocess
import sys

from peerlane.files import writers


def test_a_gone_process_of_this_machine_is_dead() -> None:
    mine = writers.new_owner()
    assert not writers.holder_is_dead(mine)
    assert writers.process_of(mine) == writers.process_of(writers.new_owner())
    child = subprocess.run(
        [sys.executable, "-c", "from peerlane.files import writers; print(writers.new_owner())"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    gone = child.stdout.strip()
    assert writers.process_of(gone) != writers.process_of(mine)
    assert writers.holder_is_dead(gone)


def test_what_cannot_be_proven_is_not_dead() -> None:
    prefix, machine, pid, start, request = writers.new_owner().split(".")
    # Another machine (or boot, or PID namespace) with a pid that is free here.
    assert not writers.holder_is_dead(".".join([prefix, "0" * 32 + "-1", "999999", "1", "x"]))
    # This machine, this process's pid, another start time: a reused pid's old owner.
    assert writers.holder_is_dead(".".join([prefix, machine, pid, str(int(start) - 1), request]))
    for other in ["", "abc", "w1.x.y", "w0.a.b.c.d", "w1.unknown.1.0.x"]:
        assert not writers.holder_is_dead(other)


def test_a_zombie_is_dead() -> None:
    """Killed, but not yet collected by its parent (a supervisor that is slow to wait)."""
    code = "from peerlane.files import writers; print(writers.new_owner(), flush=True)"
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        owner = child.stdout.readline().strip()
        # Wait for its exit without collecting it (WNOWAIT): it stays a zombie.
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        assert writers.holder_is_dead(owner)
