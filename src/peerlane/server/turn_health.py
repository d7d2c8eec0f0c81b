"""TURN provider health: a real Allocate through each provider every interval.

A provider none of whose URLs allocates is left out of the ICE servers ``welcome``
hands out until a later check succeeds. Every instance checks, and shares each finding
through the bus; every instance uses the newest finding per provider, its own or
another's, so all of them hand out the same list within one interval.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from prometheus_client import Counter, Gauge

from peerlane.bus.base import Bus
from peerlane.core.stun import IceUrl
from peerlane.core.turn import TurnProvider
from peerlane.server import logs
from peerlane.server.metrics import Metrics
from peerlane.server.turn_probe import allocate

log = logs.get(__name__)

TOPIC = "turn-health"
HEALTH_USER = "peerlane-health"  # the user part of the check's time-limited username

Probe = Callable[[IceUrl, str, str], Awaitable[str | None]]


@dataclass(frozen=True)
class ProviderStatus:
    up: bool
    checked_at: float
    failures: dict[str, str]  # URL → why it did not allocate (only the failing ones)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ProviderStatus | None:
        try:
            raw = json.loads(text)
            return cls(bool(raw["up"]), float(raw["checked_at"]), dict(raw["failures"]))
        except (ValueError, KeyError, TypeError):
            return None  # written by another version: ignore it


class TurnMetrics:
    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
        self.up = Gauge(
            "peerlane_turn_provider_up",
            "1 while the TURN provider allocates (handed out in welcome), else 0",
            ["provider"],
            registry=r,
        )
        self.url_up = Gauge(
            "peerlane_turn_url_up",
            "1 while an Allocate through this TURN URL works, else 0",
            ["provider", "url"],
            registry=r,
        )
        self.checks = Counter(
            "peerlane_turn_checks",
            "TURN health checks made by this instance, by outcome",
            ["provider", "outcome"],
            registry=r,
        )


class TurnHealth:
    def __init__(
        self,
        providers: list[TurnProvider],
        bus: Bus,
        metrics: Metrics,
        *,
        clock: Callable[[], float],
        timeout: float,
        probe: Probe | None = None,
    ) -> None:
        self.providers = providers
        self.bus = bus
        self.metrics = TurnMetrics(metrics)
        self.clock = clock
        self.timeout = timeout
        self.probe: Probe = probe or self._allocate
        self.status: dict[str, ProviderStatus] = {}

    def down(self) -> frozenset[str]:
        """Providers to leave out of ``welcome`` (never checked counts as up)."""
        return frozenset(name for name, s in self.status.items() if not s.up)

    def detail(self) -> dict[str, object]:
        """For ``/readyz``: each provider's state and the reasons of its failing URLs."""
        return {
            p.name: (
                {"up": s.up, "checked_at": s.checked_at, "failures": s.failures}
                if (s := self.status.get(p.name))
                else {"up": None}
            )
            for p in self.providers
        }

    async def check(self) -> None:
        """Check every provider now, share the findings, then take in everyone's."""
        found = await asyncio.gather(*(self._check(p) for p in self.providers))
        for provider, status in zip(self.providers, found, strict=True):
            self._take(provider.name, status)
            try:
                await self.bus.share_status(TOPIC, provider.name, status.to_json())
            except Exception as exc:  # the bus is down: keep our own finding
                log.warning("turn.share_failed", error=type(exc).__name__)
        await self.sync()

    async def sync(self) -> None:
        """Take in the newer findings other instances shared."""
        try:
            shared = await self.bus.statuses(TOPIC)
        except Exception as exc:
            log.warning("turn.sync_failed", error=type(exc).__name__)
            return
        for provider in self.providers:
            text = shared.get(provider.name)
            status = ProviderStatus.from_json(text) if text is not None else None
            if status is not None:
                self._take(provider.name, status)

    async def run(self, interval: float) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # never let one bad round end the checks
                log.exception("turn.check_failed")
            await asyncio.sleep(interval)

    async def _check(self, provider: TurnProvider) -> ProviderStatus:
        now = self.clock()
        username, password = provider.credentials(HEALTH_USER, now=now, ttl=self.timeout + 60)
        reasons = await asyncio.gather(
            *(self.probe(IceUrl.parse(url), username, password) for url in provider.urls)
        )
        failures = {url: r for url, r in zip(provider.urls, reasons, strict=True) if r}
        for url in provider.urls:
            self.metrics.url_up.labels(provider.name, url).set(0 if url in failures else 1)
        up = len(failures) < len(provider.urls)
        self.metrics.checks.labels(provider.name, "up" if up else "down").inc()
        return ProviderStatus(up=up, checked_at=now, failures=failures)

    def _take(self, name: str, status: ProviderStatus) -> None:
        old = self.status.get(name)
        if old is not None and old.checked_at > status.checked_at:
            return
        self.status[name] = status
        self.metrics.up.labels(name).set(1 if status.up else 0)
        if old is None or old.up != status.up:
            event = "turn.provider_up" if status.up else "turn.provider_down"
            level = log.info if status.up else log.warning
            level(event, provider=name, failures=status.failures)

    async def _allocate(self, url: IceUrl, username: str, password: str) -> str | None:
        return await allocate(url, username, password, seconds=self.timeout)
