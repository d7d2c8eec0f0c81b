"""Ctrl-C ends ``send`` / ``receive`` promptly with exit 130 (peerlane/cli_runner.py),
even when something left behind would hold ``asyncio.run``'s way out for ever: a task
that does not end on its cancel, a thread of its executor in a blocking call. Real
processes and a real SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from support import TIMEOUT

SCRIPT = """
import asyncio, sys, time
from peerlane import cli_runner

cli_runner.LEAVE_WITHIN_S = 1.0

async def stubborn():
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass  # (as a library task that does not end on its cancel)

async def work(case):
    if case == "task":
        asyncio.ensure_future(stubborn())
    if case == "thread":
        asyncio.ensure_future(asyncio.to_thread(time.sleep, 3600))
    await asyncio.sleep(0.1)
    print("ready", flush=True)
    try:
        await asyncio.sleep(3600)
    finally:
        print("cleaned up", flush=True)  # (the work's own way out still runs)

try:
    cli_runner.run(work(sys.argv[1]))
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


@pytest.mark.parametrize("case", ["clean", "task", "thread"])
def test_ctrl_c_exits_with_130_whatever_is_left_behind(case: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, case],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        out, err = proc.communicate(timeout=3 * TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, (out, err)
    assert "cleaned up" in out
    if case == "clean":  # the ordinary way: asyncio.run's KeyboardInterrupt, at once
        assert "interrupted" in out
        assert "did not close in time" not in err
    else:  # held: the backstop, after LEAVE_WITHIN_S (1 s here)
        assert "Cancelled; some connections did not close in time" in err
    assert time.monotonic() - started < 2 * TIMEOUT
