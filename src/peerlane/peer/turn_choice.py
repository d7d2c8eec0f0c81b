"""Which TURN URL the terminal's links use, when the server hands out several.

aiortc (aioice) uses only the first TURN URL of its ICE servers, so given the server's
``turn:…?transport=udp`` first, a network that blocks UDP leaves the terminal without a
relay even though TURN over TCP or TLS would work. Before the first link, each TURN URL is
tried with a real Allocate (server/turn_probe.py, the doctor's probe, with the server's
credentials), all at once within PROBE_SECONDS; the first that works in the order UDP →
TCP → TLS (the cheapest relay first) is moved to the front. None works: the list stays as
the server gave it. The choice is kept for the run (keyed by the URLs, not the
credentials, which are new on every ``welcome``), so a reconnect does not probe again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from peerlane.core.protocol import IceServer
from peerlane.core.stun import Allocated, IceUrl
from peerlane.server import turn_probe

PROBE_SECONDS = 2.0
RANK = {"udp": 0, "tcp": 1, "tls": 2}


@dataclass(frozen=True)
class Choice:
    best: str | None  # the TURN URL that worked first in rank order (None: none did)
    udp_dead: frozenset[tuple[str, int]]  # host, port that did not answer a TURN UDP Allocate


_chosen: dict[tuple[str, ...], Choice] = {}  # the TURN URLs → what their probe found


def turn_urls(ice_servers: Sequence[IceServer]) -> list[tuple[str, IceServer]]:
    """Every TURN URL aiortc could use, with the server entry (credentials) it is in."""
    found: list[tuple[str, IceServer]] = []
    for ice in ice_servers:
        for url in ice.urls:
            with contextlib.suppress(ValueError):
                if IceUrl.parse(url).scheme != "stun" and ice.username and ice.credential:
                    found.append((url, ice))
    return found


def needs_choice(ice_servers: Sequence[IceServer]) -> bool:
    """More than one TURN URL, and no choice kept for them yet."""
    urls = turn_urls(ice_servers)
    return len(urls) > 1 and tuple(url for url, _ in urls) not in _chosen


def put_first(ice_servers: Sequence[IceServer], url: str) -> list[IceServer]:
    """``ice_servers`` with ``url`` the first TURN URL aiortc meets: first in its entry,
    and its entry where the first entry with a TURN URL was (STUN entries keep their
    places: aiortc takes the first STUN URL too)."""
    entry = next(ice for ice in ice_servers if url in ice.urls)
    front = entry.model_copy(update={"urls": [url, *(u for u in entry.urls if u != url)]})
    rest = [ice for ice in ice_servers if ice is not entry]
    with_turn = {id(ice) for _, ice in turn_urls(rest)}
    at = next((i for i, ice in enumerate(rest) if id(ice) in with_turn), len(rest))
    return [*rest[:at], front, *rest[at:]]


def with_choice(ice_servers: Sequence[IceServer]) -> list[IceServer]:
    """``ice_servers`` as the probe earlier in the run found them: the TURN URL that worked
    first, and no STUN URL at an address and port that just did not answer UDP (aioice
    would wait its whole 5 s gathering bound for it, eating into the P2P timeout)."""
    choice = _chosen.get(tuple(url for url, _ in turn_urls(ice_servers)))
    if choice is None:
        return list(ice_servers)
    servers = put_first(ice_servers, choice.best) if choice.best else list(ice_servers)
    kept: list[IceServer] = []
    for ice in servers:
        urls = [url for url in ice.urls if not _dead_stun(url, choice.udp_dead)]
        if urls:
            kept.append(ice if urls == ice.urls else ice.model_copy(update={"urls": urls}))
    return kept


def _dead_stun(url: str, dead: frozenset[tuple[str, int]]) -> bool:
    try:
        parsed = IceUrl.parse(url)
    except ValueError:
        return False
    return parsed.scheme == "stun" and (parsed.host, parsed.port) in dead


async def prefer_working(
    ice_servers: Sequence[IceServer], *, seconds: float = PROBE_SECONDS
) -> list[IceServer]:
    """``ice_servers`` with the first working TURN URL (UDP → TCP → TLS) put first."""
    urls = turn_urls(ice_servers)
    key = tuple(url for url, _ in urls)
    if len(urls) > 1 and key not in _chosen:
        _chosen[key] = await _first_working(urls, seconds)
    return with_choice(ice_servers)


async def _first_working(urls: list[tuple[str, IceServer]], seconds: float) -> Choice:
    ranked = sorted(urls, key=lambda item: RANK[IceUrl.parse(item[0]).transport])
    tries = [
        asyncio.ensure_future(
            turn_probe.allocation(
                IceUrl.parse(url), ice.username or "", ice.credential or "", seconds=seconds
            )
        )
        for url, ice in ranked
    ]
    dead: set[tuple[str, int]] = set()
    try:
        # Waited for in rank order: a working UDP wins without waiting for the others.
        for (url, _), attempt in zip(ranked, tries, strict=True):
            if isinstance(await attempt, Allocated):
                return Choice(url, frozenset(dead))
            parsed = IceUrl.parse(url)
            if parsed.transport == "udp":
                dead.add((parsed.host, parsed.port))
        return Choice(None, frozenset(dead))
    finally:
        for attempt in tries:
            attempt.cancel()
        await asyncio.gather(*tries, return_exceptions=True)
