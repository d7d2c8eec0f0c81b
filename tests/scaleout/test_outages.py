"""PostgreSQL or Redis down for a moment, under light load, behind nginx.

While the service is down /readyz answers 503, requests fail fast with ``unavailable``
(503, Retry-After) instead of hanging, and WebSockets are closed with a code clients
retry (1013). When it is back each instance recovers by itself, and no acked message
is lost or stored twice. Redis comes back empty (no persistence): rate-limit buckets,
presence and pub/sub subscriptions are rebuilt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from balancer import Cluster, PgProcess, RedisProcess, cluster_on_own_services, ready
from chatter import Chatter, check_room, stored_messages
from support import (
    Peer,
    assert_error,
    close_code,
    create_room,
    join,
    link_token,
    wait_until,
)

pytestmark = pytest.mark.postgres

SOURCES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]


@pytest.fixture
def services_and_cluster(tmp_path: Path) -> Iterator[tuple[PgProcess, RedisProcess, Cluster]]:
    with cluster_on_own_services(tmp_path) as made:
        yield made


def check_down(cluster: Cluster) -> None:
    """While a service is down: not ready, and a request that needs it fails fast."""
    wait_until(lambda: ready(cluster) == [503, 503], what="/readyz turns 503")
    with cluster.nginx.client() as http:
        started = time.monotonic()
        r = http.post("/api/rooms", json={"display_name": "x"})
        assert time.monotonic() - started < 5.0  # fails fast, not hanging
        assert_error(r, 503, "unavailable")
        assert r.headers["retry-after"] == "2"


async def chat_through(
    cluster: Cluster, chatters: list[Chatter], outage: Callable[[], None]
) -> None:
    total = sum(c.count for c in chatters)
    deadline = time.monotonic() + 50
    tasks = [asyncio.create_task(c.run(lambda: total, deadline)) for c in chatters]
    while sum(len(c.acked) for c in chatters) < total // 4:
        for task in tasks:
            if task.done():
                task.result()
        assert time.monotonic() < deadline, "no progress"
        await asyncio.sleep(0.02)  # polling the chatters' progress (no event to await)
    await asyncio.to_thread(outage)
    await asyncio.gather(*tasks)


def light_chatters(cluster: Cluster, count: int) -> tuple[list[Chatter], Peer]:
    with cluster.nginx.client() as http:
        owner = create_room(http, "c0")
        members = [owner] + [join(http, f"c{i}", token=link_token(owner)) for i in (1, 2)]
        idle = join(http, "idle", token=link_token(owner))

    async def light() -> bool:
        await asyncio.sleep(0.02)  # light load: a message per writer every 20 ms or so
        return False

    chatters = [
        Chatter(cluster.nginx.ws_url, m, f"c{i}", count, source=SOURCES[i], pause=light)
        for i, m in enumerate(members)
    ]
    return chatters, Peer(cluster.instances[1], idle)


def test_redis_restarted_empty_under_light_load(
    services_and_cluster: tuple[PgProcess, RedisProcess, Cluster],
) -> None:
    _, redis_server, cluster = services_and_cluster
    chatters, idle = light_chatters(cluster, 40)

    def restart_redis() -> None:
        redis_server.kill()
        check_down(cluster)
        # The idle socket's room events may have been missed: told to come back (1013).
        assert close_code(idle.ws) == 1013
        redis_server.start()  # empty: no persistence
        wait_until(lambda: ready(cluster) == [200, 200], what="instances ready again")

    asyncio.run(chat_through(cluster, chatters, restart_redis))
    with cluster.nginx.client() as http:
        check_room(chatters, stored_messages(http, chatters[0].member))
        create_room(http)  # the rate-limit buckets start afresh in the empty Redis
    # Pub/sub and presence work again on both instances: a peer on each sees the other.
    a = Peer(cluster.instances[0], chatters[1].member)
    b = Peer(cluster.instances[1], chatters[2].member)
    assert a.expect("presence", event="joined")["peer"]["peer_id"] == b.peer_id
    ack = b.chat("after", {"text": "back"})
    assert a.expect("message", id="after")["seq"] == ack["seq"]


def test_postgres_restarted_under_light_load(
    services_and_cluster: tuple[PgProcess, RedisProcess, Cluster],
) -> None:
    pg, _, cluster = services_and_cluster
    chatters, idle = light_chatters(cluster, 40)

    def restart_postgres() -> None:
        pg.stop()
        check_down(cluster)
        pg.start()
        wait_until(lambda: ready(cluster) == [200, 200], what="instances ready again")

    asyncio.run(chat_through(cluster, chatters, restart_postgres))
    with cluster.nginx.client() as http:
        check_room(chatters, stored_messages(http, chatters[0].member))
    # Writers whose chat hit the outage were told so and came back.
    assert any(1013 in c.closes for c in chatters), [c.closes for c in chatters]
    idle.close()
