"""A command run in a pseudo-terminal (stdlib pty), for the CLI's interactive side: what
it prints is read as a person would see it, lines are typed as a person would type them."""

from __future__ import annotations

import codecs
import os
import pty
import select
import signal
import subprocess
import time
from collections.abc import Sequence

from support import TIMEOUT, interruptible_python


class Terminal:
    def __init__(
        self,
        args: Sequence[str],
        env: dict[str, str] | None = None,
        program: Sequence[str] = ("-m", "peerlane"),
    ) -> None:
        """``peerlane ARGS`` (``program``: what Python runs instead, before ``args``)."""
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            interruptible_python(*program, *args),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # the pty becomes its controlling terminal: Ctrl-C works
        )
        os.close(slave)
        self.output = ""
        # A character's bytes may be split between two reads.
        self._decode = codecs.getincrementaldecoder("utf-8")(errors="replace").decode

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the child closed the terminal (exited)
            return False
        text = self._decode(chunk)
        # The tty passes a line's text and its "\r\n" on separately, and a buffer's end can
        # fall between "\r" and "\n": a read can end between any of them.
        if self.output.endswith("\r") and text.startswith("\n"):
            self.output = self.output[:-1]
        self.output += text.replace("\r\n", "\n")
        return bool(chunk)

    def wait_for(self, text: str, timeout: float = 2 * TIMEOUT, start: int = 0) -> int:
        """Read until ``text`` has been printed (after offset ``start``); where it ends.
        A line's end comes in a read of its own: end ``text`` with a newline to have the
        line whole (so that what is counted in ``output`` afterwards includes it)."""
        deadline = time.monotonic() + timeout
        while (at := self.output.find(text, start)) < 0:
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(left) and self.proc.poll() is not None):
                raise TimeoutError(f"{text!r} not printed; the terminal shows:\n{self.output}")
        return at + len(text)

    def interrupt(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)

    def wait_exit(self, timeout: float = TIMEOUT) -> int:
        """The exit code; a command still running at the deadline fails with what it
        printed (its last lines are often why)."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        try:
            code = self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            code = None
        while self._read(0):  # what it printed last: all of ``output`` once it exited
            pass
        if code is None:
            raise AssertionError(
                f"still running after {timeout:.0f} s; the terminal shows:\n{self.output}"
            )
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
