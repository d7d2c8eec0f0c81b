"""Everything a request handler needs, built once per app and kept on ``app.state``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from peerlane.bus.base import Bus, Limiter
from peerlane.config import DAY, Settings
from peerlane.core.protocol import IceServer
from peerlane.core.turn import ice_servers
from peerlane.files import policy
from peerlane.files.records import Quotas
from peerlane.files.store import FileStore
from peerlane.files.uploads import Uploads
from peerlane.server.metrics import Metrics
from peerlane.server.turn_health import TurnHealth
from peerlane.storage.base import Store


@dataclass
class Limiters:
    """Per-IP and per-participant limits, kept on the bus: with Redis, every instance
    shares them, and none of them starts afresh when a client reconnects."""

    rooms: Limiter
    joins: Limiter
    failed_joins: Limiter
    shares: Limiter
    participant_messages: Limiter
    ip_messages: Limiter
    participant_connects: Limiter
    ip_connects: Limiter
    # Wrong guesses per (code, address): refilled over a day, so the same few per day.
    code_guesses: Limiter
    uploads: Limiter  # creations per participant, per share and per IP
    upload_bytes: Limiter  # bytes started per IP per day
    share_bytes: Limiter  # bytes into the shares of one creator per day
    telemetry: Limiter  # connection reports per participant

    @classmethod
    def from_settings(cls, s: Settings, bus: Bus) -> Limiters:
        per_ip, per_creator = s.upload_bytes_per_ip_per_day, s.share_bytes_per_creator_per_day
        return cls(
            rooms=bus.limiter("rooms", s.rooms_per_hour / 3600, s.rooms_per_hour),
            joins=bus.limiter("joins", s.joins_per_minute / 60, s.joins_per_minute),
            failed_joins=bus.limiter(
                "failed_joins", s.failed_joins_per_hour / 3600, s.failed_joins_per_hour
            ),
            shares=bus.limiter("shares", s.shares_per_hour / 3600, s.shares_per_hour),
            # Checked on every chat message: leased (see Bus.limiter).
            participant_messages=bus.limiter(
                "chat_participant",
                s.participant_messages_per_second,
                s.participant_message_burst,
                leased=True,
            ),
            ip_messages=bus.limiter(
                "chat_ip", s.ip_messages_per_second, s.ip_message_burst, leased=True
            ),
            participant_connects=bus.limiter(
                "connect_participant",
                s.participant_connects_per_minute / 60,
                s.participant_connects_per_minute,
            ),
            ip_connects=bus.limiter(
                "connect_ip", s.ip_connects_per_minute / 60, s.ip_connects_per_minute
            ),
            code_guesses=bus.limiter(
                "code_guesses", s.code_max_failures / 86_400, s.code_max_failures
            ),
            uploads=bus.limiter("uploads", s.uploads_per_hour / 3600, s.upload_burst),
            upload_bytes=bus.limiter("upload_bytes", per_ip / DAY, per_ip),
            share_bytes=bus.limiter("share_bytes", per_creator / DAY, per_creator),
            telemetry=bus.limiter(
                "telemetry",
                s.telemetry_reports_per_minute / 60,
                s.telemetry_reports_per_minute,
            ),
        )


@dataclass
class Services:
    settings: Settings
    store: Store
    bus: Bus
    metrics: Metrics
    limiters: Limiters
    files: FileStore
    secret: bytes = b""
    clock: Callable[[], float] = time.time
    storage_quota: int | None = None  # in effect: configured, or derived at start
    turn_health: TurnHealth = field(init=False)

    def __post_init__(self) -> None:
        self.turn_health = TurnHealth(
            self.settings.turn,
            self.bus,
            self.metrics,
            clock=self.clock,
            timeout=self.settings.turn_check_timeout,
        )

    def ice_servers(self, user: str) -> list[IceServer]:
        """The ICE servers handed to ``user`` now: the configured ones, STUN, and TURN
        with fresh credentials, leaving out providers the health check found down."""
        cfg = self.settings
        return ice_servers(
            cfg.ice_servers,
            cfg.stun_urls,
            cfg.turn,
            user=user,
            now=self.clock(),
            ttl=cfg.turn_ttl,
            down=self.turn_health.down(),
        )

    @property
    def uploads(self) -> Uploads:
        """The upload driver over this store, file store and clock."""
        return Uploads(
            self.store,
            self.files,
            upload_ttl=self.settings.upload_ttl,
            clock=self.clock,
            reserve=self.settings.storage_reserve_bytes,
        )

    async def start_storage_quota(self) -> int | None:
        """Set :attr:`storage_quota` (``files.policy.storage_quota``: configured, or
        derived from the free space now)."""
        free = await self.files.free_bytes()
        stored = await self.files.usage() if free is not None else None
        self.storage_quota = policy.storage_quota(
            self.settings, stored_bytes=stored, free_bytes=free
        )
        return self.storage_quota

    async def quotas(self, *, room: bool) -> Quotas:
        """The limits an upload is checked against, with the free space measured now."""
        return policy.upload_quotas(
            self.settings,
            room=room,
            storage_quota=self.storage_quota,
            disk_free=await self.files.free_bytes(),
        )
