"""``peerlane chat``'s connection reports (docs/protocol.md, "Telemetry"): each attempt to
reach the room (the server's WebSocket: path "server") connected, with the time to its
welcome, or failed. The first report once connected, then at most one every 30 s; none
after the server answers ``telemetry_off``. Enums and numbers only (core/telemetry.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from peerlane.core.telemetry import MAX_CONNECT_MS, Attempt, FailureReason, Report
from peerlane.peer import http_api

REPORT_EVERY_S = 30.0
MAX_ATTEMPTS = 20


class Reporter:
    def __init__(
        self, member: http_api.Membership, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.member = member
        self.clock = clock
        self.off = False
        self._since: float | None = None
        self._attempts: list[Attempt] = []
        self._last_report = -REPORT_EVERY_S
        self._sending: asyncio.Task[None] | None = None

    def started(self) -> None:
        """A connection attempt begins."""
        self._since = self.clock()

    def connected(self) -> None:
        """The attempt got its first frame (the welcome)."""
        if self._since is None:
            return
        ms = min(MAX_CONNECT_MS, round((self.clock() - self._since) * 1000))
        self._add(Attempt(outcome="connected", path="server", connect_ms=ms))
        self._since = None
        if self.clock() - self._last_report >= REPORT_EVERY_S:
            self._sending = asyncio.create_task(self.flush())

    def failed(self, reason: FailureReason) -> None:
        if self._since is not None:
            self._add(Attempt(outcome="failed", path="server", reason=reason))
            self._since = None

    def _add(self, attempt: Attempt) -> None:
        if len(self._attempts) < MAX_ATTEMPTS:
            self._attempts.append(attempt)

    async def flush(self) -> None:
        """Send what has gathered; a report that does not get through is dropped."""
        if self.off or not self._attempts:
            return
        report = Report(client="cli", attempts=self._attempts)
        self._attempts = []
        self._last_report = self.clock()
        refusal = await http_api.report_telemetry(self.member, report.model_dump(exclude_none=True))
        if refusal == "telemetry_off":
            self.off = True

    async def close(self) -> None:
        """At the end of the chat: what is left, briefly (never holding the exit up)."""
        if self._sending is not None:
            self._sending.cancel()
        try:
            async with asyncio.timeout(3):
                await self.flush()
        except TimeoutError:
            pass
