"""A Chromium driven over the DevTools protocol on a pipe, with nothing else attached.

Playwright, attached to a browser, enables its own protocol domains on every page and
frame and answers their events, which costs the browser process and the renderer CPU of
their own (bench/connect_time.py measured ~85 and ~25 ms per page load here). A person's
browser has none of that. This driver sends only the commands the benchmark needs, over
``--remote-debugging-pipe`` (file descriptors 3 and 4 of the child, NUL-terminated JSON
messages): no port, no WebSocket, nothing that reaches beyond the process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class CdpError(Exception):
    pass


def _high_pipe() -> tuple[int, int]:
    """A pipe whose ends are above fd 9, so that putting them on 3 and 4 never
    overwrites one with the other."""
    ends = []
    for fd in os.pipe():
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        ends.append(high)
    return ends[0], ends[1]


class PipeBrowser:
    """One Chromium process with its own profile; commands go to one page target."""

    def __init__(self, executable: str, args: list[str], profile: Path) -> None:
        to_child_r, self._to_child = _high_pipe()
        self._from_child, from_child_w = _high_pipe()
        # Chromium reads fd 3 and writes fd 4. A small Python puts the pipe's ends there,
        # closes the originals and execs the browser (the same process): no preexec_fn
        # (unsafe with threads), and close_fds keeps every other descriptor out of it.
        # (A shell would do, but dash's redirections take no fd above 9.)
        exec_with_pipe = (
            "import os, sys; r, w = int(sys.argv[1]), int(sys.argv[2]); "
            "os.dup2(r, 3); os.dup2(w, 4); os.close(r); os.close(w); "
            "os.execv(sys.argv[3], sys.argv[3:])"
        )
        command = [executable, *args, f"--user-data-dir={profile}", "--remote-debugging-pipe"]
        try:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    exec_with_pipe,
                    str(to_child_r),
                    str(from_child_w),
                    *command,
                    "about:blank",
                ],
                pass_fds=(to_child_r, from_child_w),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            os.close(self._to_child)
            os.close(self._from_child)
            raise
        finally:
            os.close(to_child_r)  # the child has its own copies
            os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.session: str | None = None

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float = 15.0,
        session: bool = True,
    ) -> dict[str, Any]:
        """Send a command and wait for its answer (events that arrive meanwhile are
        dropped: only the Page domain is enabled, so there are few)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session is not None:
            message["sessionId"] = self.session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") != self._next_id:
                continue
            if "error" in reply:
                raise CdpError(f"{method}: {reply['error']}")
            result: dict[str, Any] = reply.get("result", {})
            return result

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError("no answer from the browser in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 65536)
                if not chunk:
                    raise CdpError(f"the browser closed the pipe (exit {self.proc.poll()})")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(raw)
        return parsed

    def attach_to_page(self, timeout: float = 15.0) -> None:
        """Attach to the window's page (flat session: later commands go to it)."""
        deadline = time.monotonic() + timeout
        while True:
            targets = self.send("Target.getTargets", session=False)["targetInfos"]
            pages = [t for t in targets if t["type"] == "page"]
            if pages:
                break
            if time.monotonic() > deadline:
                raise CdpError("no page target")
            time.sleep(0.02)  # the first window is still being made: no event to wait on
        attached = self.send(
            "Target.attachToTarget",
            {"targetId": pages[0]["targetId"], "flatten": True},
            session=False,
        )
        self.session = attached["sessionId"]

    def evaluate(self, expression: str, *, timeout: float = 15.0) -> Any:
        """The value of a JavaScript expression (awaited when it is a promise)."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            raise CdpError(f"evaluate: {result['exceptionDetails'].get('text')}")
        return result.get("result", {}).get("value")

    def close(self) -> None:
        with contextlib.suppress(CdpError, OSError):
            self.send("Browser.close", session=False, timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
