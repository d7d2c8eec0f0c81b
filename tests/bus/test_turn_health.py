"""TURN provider health against a real coturn on loopback, shared through every bus back-end."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

import coturn
from peerlane.bus.base import Bus
from peerlane.core.stun import IceUrl
from peerlane.core.turn import TurnProvider
from peerlane.server.metrics import Metrics
from peerlane.server.turn_health import TurnHealth
from peerlane.server.turn_probe import allocate
from support import free_port

MakeBus = Callable[..., Any]


@pytest.fixture(scope="module")
def turn() -> Iterator[coturn.Coturn]:
    with coturn.coturn() as server:
        yield server


def provider(name: str, urls: list[str], secret: str) -> TurnProvider:
    return TurnProvider(name=name, urls=urls, secret=secret)


def closed_urls() -> list[str]:
    port = free_port()  # nothing listens there, on TCP or UDP
    return [f"turn:127.0.0.1:{port}?transport=udp", f"turn:127.0.0.1:{port}?transport=tcp"]


def health(providers: list[TurnProvider], bus: Bus, registry: CollectorRegistry) -> TurnHealth:
    return TurnHealth(providers, bus, Metrics(registry), clock=time.time, timeout=3)


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


@pytest.mark.parametrize("url", [0, 1], ids=["udp", "tcp"])
async def test_allocate_through_coturn(turn: coturn.Coturn, url: int) -> None:
    target = IceUrl.parse(turn.urls[url])
    username, password = provider("p", turn.urls, turn.secret).credentials(
        "t", now=time.time(), ttl=60
    )
    assert await allocate(target, username, password, seconds=3) is None
    assert await allocate(target, username, "wrong", seconds=3) == (
        "wrong credentials (401 after signing in)"
    )


async def test_healthy_down_and_wrong_secret(turn: coturn.Coturn, make_bus: MakeBus) -> None:
    registry = CollectorRegistry()
    checker = health(
        [
            provider("good", turn.urls, turn.secret),
            provider("closed", closed_urls(), turn.secret),
            provider("wrong", turn.urls, "not-the-secret-0123456789"),
        ],
        await make_bus(),
        registry,
    )
    assert checker.down() == frozenset()  # never checked: handed out
    await checker.check()
    assert checker.down() == {"closed", "wrong"}
    detail: Any = checker.detail()
    assert detail["good"]["up"] is True
    assert detail["good"]["failures"] == {}
    assert all("cannot reach" in why for why in detail["closed"]["failures"].values())
    assert set(detail["wrong"]["failures"].values()) == {"wrong credentials (401 after signing in)"}
    assert sample(registry, "peerlane_turn_provider_up", provider="good") == 1
    assert sample(registry, "peerlane_turn_provider_up", provider="closed") == 0
    assert sample(registry, "peerlane_turn_url_up", provider="good", url=turn.urls[1]) == 1
    assert sample(registry, "peerlane_turn_checks_total", provider="wrong", outcome="down") == 1


async def test_a_provider_that_comes_back_is_handed_out_again(make_bus: MakeBus) -> None:
    port = free_port()
    secret = "the-secret-of-a-later-coturn"
    urls = [f"turn:127.0.0.1:{port}?transport=udp", f"turn:127.0.0.1:{port}?transport=tcp"]
    registry = CollectorRegistry()
    checker = health([provider("late", urls, secret)], await make_bus(), registry)
    await checker.check()
    assert checker.down() == {"late"}
    with coturn.coturn(port) as server:
        checker.providers = [provider("late", server.urls, server.secret)]
        await checker.check()
        assert checker.down() == frozenset()
        assert sample(registry, "peerlane_turn_provider_up", provider="late") == 1


async def test_findings_are_shared_between_instances(
    turn: coturn.Coturn, make_bus: MakeBus
) -> None:
    providers = [provider("good", turn.urls, turn.secret), provider("closed", closed_urls(), "s")]
    checking = health(providers, await make_bus(), CollectorRegistry())
    other = health(providers, await make_bus(), CollectorRegistry())  # same Redis, or same bus
    await checking.check()
    assert other.down() == frozenset()
    await other.sync()  # takes the other instance's findings without checking itself
    assert other.down() == {"closed"}
    # The newest finding wins: an older one shared later changes nothing.
    stale = checking.status["good"]
    await other.bus.share_status(
        "turn-health",
        "closed",
        stale.__class__(up=True, checked_at=stale.checked_at - 100, failures={}).to_json(),
    )
    await other.sync()
    assert other.down() == {"closed"}
    await other.bus.share_status("turn-health", "good", "not json")  # another version's
    await other.sync()
    assert other.down() == {"closed"}
